#pragma once

// Shared fixtures of the sensor tests: a real SQLite store in a temporary
// directory, a fake workflow service, event records and small spec builders.

#include <atomic>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kairos/engine/workflow_service.hpp"
#include "kairos/sensors/event.hpp"
#include "kairos/spec/sensor.hpp"
#include "kairos/store/store.hpp"

namespace kairos::sensors::testing {

class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("kairos-sensors-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) +
             "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::unique_ptr<store::database> open_store(const std::filesystem::path& dir) {
  store::settings s;
  s.data_dir = dir;
  auto db = store::database::open(s);
  EXPECT_TRUE(db.ok()) << (db.ok() ? "" : db.error().message);
  return std::move(*db);
}

struct submitted {
  nlohmann::json manifest;
  engine::submit_options options;
};

struct acted {
  std::string ns, name;
  engine::workflow_action action;
};

class fake_workflows final : public engine::workflow_service {
 public:
  result<store::workflow_record> submit(const spec::resource& wf,
                                        const engine::submit_options& options) override {
    std::lock_guard lock(mutex_);
    ++calls;
    if (fail_next > 0) {
      --fail_next;
      return make_error(errc::unavailable, "engine busy");
    }
    const auto& name = wf.metadata.name;
    if (names_.count(name)) return make_error(errc::already_exists, "workflow " + name + " exists");
    names_.insert({name, true});
    submissions.push_back({wf.manifest, options});
    store::workflow_record r;
    r.namespace_ = wf.metadata.namespace_;
    r.name = name;
    return r;
  }
  result<store::workflow_record> act(const std::string& ns, const std::string& name,
                                     engine::workflow_action a) override {
    std::lock_guard lock(mutex_);
    actions.push_back({ns, name, a});
    store::workflow_record r;
    r.namespace_ = ns;
    r.name = name;
    return r;
  }
  result<std::string> logs(const std::string&, const std::string&, const std::string&) override {
    return std::string();
  }

  std::vector<submitted> submissions;
  std::vector<acted> actions;
  int calls = 0;
  int fail_next = 0;

 private:
  std::mutex mutex_;
  std::map<std::string, bool> names_;
};

inline store::event_record make_record(const std::string& id, const std::string& source,
                                       const std::string& subject, nlohmann::json data,
                                       const std::string& time = "2024-05-01T10:00:00Z") {
  store::event_record r;
  r.id = id;
  r.namespace_ = "default";
  r.source = source;
  r.subject = subject;
  r.type = "webhook";
  r.time = time;
  r.body = {{"context",
             {{"id", id},
              {"source", source},
              {"subject", subject},
              {"type", "webhook"},
              {"time", time},
              {"datacontenttype", "application/json"},
              {"specversion", "1.0"}}},
            {"data", std::move(data)}};
  return r;
}

inline event make_event(const std::string& id, nlohmann::json data,
                        const std::string& source = "ci", const std::string& subject = "push",
                        const std::string& time = "2024-05-01T10:00:00Z") {
  return event::from_record(make_record(id, source, subject, std::move(data), time));
}

inline spec::event_dependency dependency(const std::string& name, const std::string& source,
                                         const std::string& subject) {
  spec::event_dependency d;
  d.name = name;
  d.event_source_name = source;
  d.event_name = subject;
  return d;
}

inline spec::trigger_parameter data_param(const std::string& dep, const std::string& key,
                                          const std::string& dest) {
  spec::trigger_parameter p;
  p.src.dependency_name = dep;
  p.src.data_key = key;
  p.dest = dest;
  return p;
}

inline nlohmann::json hello_workflow() {
  return nlohmann::json::parse(R"({
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "Workflow",
    "metadata": {"generateName": "build-"},
    "spec": {
      "entrypoint": "main",
      "arguments": {"parameters": [{"name": "ref", "value": "none"}]},
      "templates": [{"name": "main", "container": {"image": "alpine", "command": ["true"]}}]
    }
  })");
}

inline spec::trigger workflow_trigger(const std::string& name, std::string conditions = "") {
  spec::trigger t;
  t.template_.name = name;
  t.template_.conditions = std::move(conditions);
  spec::argo_workflow_trigger w;
  w.source.resource = hello_workflow();
  t.template_.argo_workflow = w;
  return t;
}

}  // namespace kairos::sensors::testing
