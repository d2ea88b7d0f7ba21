#pragma once

// Drives a workflow_operator directly: a manual clock and a fake executor
// whose outcomes each test chooses (by node display name).

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "kairos/engine/workflow_operator.hpp"
#include "kairos/spec/loader.hpp"

namespace kairos::engine::testing {

using json = nlohmann::json;

inline outcome exited(int code, std::string stdout_text = {}) {
  outcome o;
  o.what = outcome::kind::exited;
  o.exit_code = code;
  o.result = std::move(stdout_text);
  return o;
}

// The command line of a process task joined by spaces.
inline std::string command_of(const task& t) {
  std::string s;
  if (const auto* p = std::get_if<process_task>(&t.work)) {
    for (const auto& a : p->argv) s += (s.empty() ? "" : " ") + a;
  }
  return s;
}

class simple_sync final : public sync_manager {
 public:
  bool try_acquire(const std::string& key, const std::string& holder) override {
    auto& h = holders[key];
    if (h.empty() || h == holder) {
      h = holder;
      return true;
    }
    return false;
  }
  void release(const std::string& key, const std::string& holder) override {
    if (holders[key] == holder) holders[key].clear();
  }
  std::map<std::string, std::string> holders;
};

class harness {
 public:
  using policy = std::function<outcome(const std::string& display, const task& t)>;

  harness() : clock(std::chrono::system_clock::time_point(std::chrono::seconds(1704067200))) {
    env.capabilities.private_mounts = true;
    env.volumes_root = "/vols";
  }

  static json manifest(const std::string& yaml, const std::string& name = "wf") {
    auto loaded = spec::load_text(yaml, "test.yaml");
    EXPECT_TRUE(loaded.ok()) << spec::to_string(loaded.diagnostics);
    if (loaded.resources.empty()) return json();
    json m = loaded.resources.back().manifest;
    m["metadata"]["name"] = name;
    m["metadata"]["namespace"] = "default";
    m["metadata"]["uid"] = "uid-1";
    m["metadata"]["creationTimestamp"] = "2024-01-01T00:00:00Z";
    m["metadata"].erase("generateName");
    return m;
  }

  result<void> create(const std::string& yaml, const std::string& name = "wf") {
    return create_json(manifest(yaml, name));
  }
  result<void> create_json(json m) {
    auto r = workflow_operator::create(std::move(m), env);
    if (!r) return std::move(r).error();
    op = std::move(*r);
    return {};
  }

  // One operate(); remembers launches. Every changed node's stored text
  // must be the tree node_json gives, as the store prints it: each test of
  // the operator checks the printer on the nodes it makes.
  operate_outcome step() {
    auto out = op->operate(clock.now());
    for (const auto& id : out.changed_nodes) {
      const auto tree = op->node_json(id);
      const auto text = op->node_json_text(id);
      EXPECT_EQ(text.body, kairos::dump_json_replacing(tree)) << id;
      EXPECT_EQ(text.name, tree.value("name", std::string())) << id;
      EXPECT_EQ(text.phase, tree.value("phase", std::string())) << id;
    }
    for (auto& t : out.launches) {
      launched.push_back(display(t.node_id));
      running[t.node_id] = t;
    }
    for (auto& k : out.kills) killed.push_back(display(k));
    last = out;
    return out;
  }

  std::string display(const std::string& id) const {
    auto n = op->node_json(id);
    return n.is_object() ? n.value("displayName", id) : id;
  }

  // Completes a running node found by display name.
  bool finish(const std::string& display_name, const outcome& o) {
    for (auto it = running.begin(); it != running.end(); ++it) {
      if (display(it->first) == display_name) {
        const auto id = it->first;
        running.erase(it);
        op->complete_node(id, o, clock.now());
        return true;
      }
    }
    return false;
  }

  // Runs to the end: every launch completes with what `p` says; requeues
  // move the clock. Bounded, so a bug cannot hang the test.
  std::string run(const policy& p = {}, int max_rounds = 10000) {
    for (int i = 0; i < max_rounds; ++i) {
      auto out = step();
      if (out.completed) return op->phase();
      if (!running.empty()) {
        auto pending = std::move(running);
        running.clear();
        for (auto& [id, t] : pending)
          op->complete_node(id, p ? p(display(id), t) : exited(0), clock.now());
        continue;
      }
      if (out.requeue_at) {
        clock.set(std::max(clock.now(), *out.requeue_at));
        continue;
      }
      if (out.launches.empty() && out.changed_nodes.empty() && !out.status_changed)
        return op->phase();
    }
    return op->phase();
  }

  json wf() const { return op->workflow_json(); }

  // Node by display name (the last one with that name).
  json node(const std::string& display_name) const {
    json found;
    auto all = wf()["status"]["nodes"];
    for (const auto& [id, n] : all.items())
      if (n.value("displayName", "") == display_name) found = n;
    return found;
  }
  std::string node_phase(const std::string& display_name) const {
    auto n = node(display_name);
    return n.is_object() ? n.value("phase", "") : "<none>";
  }
  std::string result_of(const std::string& display_name) const {
    auto n = node(display_name);
    if (!n.is_object() || !n.contains("outputs")) return "<none>";
    return n["outputs"].value("result", "<none>");
  }
  std::size_t count_launched(const std::string& display_name) const {
    return static_cast<std::size_t>(std::count(launched.begin(), launched.end(), display_name));
  }

  manual_clock clock;
  operator_environment env;
  std::unique_ptr<workflow_operator> op;
  std::map<std::string, task> running;
  std::vector<std::string> launched;
  std::vector<std::string> killed;
  operate_outcome last;
};

}  // namespace kairos::engine::testing
