#pragma once

// A real store in a temporary directory, a workflow service that stores what
// it is given (so names are idempotent exactly as the store makes them) and
// lets tests set phases, and a manual clock.

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/text.hpp"
#include "kairos/cron/controller.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/spec/metadata.hpp"
#include "kairos/store/store.hpp"

namespace kairos::cron::testing {

using json = nlohmann::json;
using namespace std::chrono_literals;

inline clock::time_point at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(clock::time_point{});
}

class recording_service final : public engine::workflow_service {
 public:
  explicit recording_service(store::database& db) : db_(db) {}

  result<store::workflow_record> submit(const spec::resource& workflow,
                                        const engine::submit_options&) override {
    store::workflow_record w;
    w.namespace_ = workflow.metadata.namespace_;
    w.name = workflow.metadata.name;
    w.phase = "Running";
    w.body = workflow.manifest;
    w.body["status"] = {{"phase", "Running"}};
    auto created = db_.create_workflow(std::move(w));
    std::lock_guard lock(mutex_);
    ++calls_;
    if (created) {
      submitted_.push_back(workflow.manifest);
      submitted_meta_.push_back(workflow.metadata);
    }
    return created;
  }

  result<store::workflow_record> act(const std::string& ns, const std::string& name,
                                     engine::workflow_action action) override {
    {
      std::lock_guard lock(mutex_);
      actions_.emplace_back(name, action);
    }
    if (action == engine::workflow_action::terminate) set_phase(ns, name, "Failed");
    return db_.get_workflow(ns, name);
  }

  result<std::string> logs(const std::string&, const std::string&, const std::string&) override {
    return std::string();
  }

  void set_phase(const std::string& ns, const std::string& name, const std::string& phase) {
    auto w = db_.get_workflow(ns, name);
    ASSERT_TRUE(w) << name;
    w->phase = phase;
    w->body["status"]["phase"] = phase;
    if (phase != "Running") w->finished_at = w->created_at;
    ASSERT_TRUE(db_.update_workflow(std::move(*w)));
  }

  std::vector<json> submitted() const {
    std::lock_guard lock(mutex_);
    return submitted_;
  }
  // The typed metadata of each submitted Workflow, which the engine uses.
  std::vector<spec::object_meta> submitted_metadata() const {
    std::lock_guard lock(mutex_);
    return submitted_meta_;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& m : submitted()) out.push_back(m["metadata"]["name"].get<std::string>());
    return out;
  }
  std::size_t calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<std::pair<std::string, engine::workflow_action>> actions() const {
    std::lock_guard lock(mutex_);
    return actions_;
  }

 private:
  store::database& db_;
  mutable std::mutex mutex_;
  std::vector<json> submitted_;
  std::vector<spec::object_meta> submitted_meta_;
  std::size_t calls_ = 0;
  std::vector<std::pair<std::string, engine::workflow_action>> actions_;
};

class controller_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("kairos-cron-ctl-" + random_suffix(12));
    store::settings s;
    s.data_dir = dir_;
    auto db = store::database::open(s);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    service_ = std::make_unique<recording_service>(*db_);
  }

  void TearDown() override {
    controllers_.clear();
    service_.reset();
    db_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // A new controller on the shared store (a "restart" is a second one),
  // submitting to `service` (the recording one when null).
  controller& make_controller(controller_settings settings = {},
                              engine::workflow_service* service = nullptr) {
    if (settings.default_timezone.empty()) settings.default_timezone = "UTC";
    controllers_.push_back(std::make_unique<controller>(
        std::move(settings), *db_, service ? *service : *service_, clock_, io_.get_executor()));
    return *controllers_.back();
  }

  static json workflow_spec() {
    return {{"entrypoint", "main"},
            {"templates",
             json::array({{{"name", "main"},
                           {"container", {{"image", "alpine"}, {"command", {"true"}}}}}})}};
  }

  // Stores (creates or replaces) a CronWorkflow with `spec` merged over a
  // runnable workflowSpec.
  void apply_cron(const std::string& name, json spec, const std::string& ns = "default") {
    if (!spec.contains("workflowSpec")) spec["workflowSpec"] = workflow_spec();
    store::resource_record r;
    r.kind = "CronWorkflow";
    r.namespace_ = ns;
    r.name = name;
    r.body = {{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "CronWorkflow"},
              {"metadata", {{"name", name}, {"namespace", ns}}},
              {"spec", std::move(spec)}};
    auto applied = db_->apply_resource(std::move(r));
    ASSERT_TRUE(applied) << applied.error().message;
  }

  void delete_cron(const std::string& name, const std::string& ns = "default") {
    ASSERT_TRUE(db_->delete_resource("CronWorkflow", ns, name));
  }

  json state(const std::string& name, const std::string& ns = "default") {
    auto s = db_->get_state("cron", ns, name);
    EXPECT_TRUE(s);
    if (!s || !*s) return json();
    return **s;
  }

  // Moves the clock to `t` and lets the controller fire what is due.
  void advance_to(controller& c, clock::time_point t) {
    clock_.set(t);
    c.check_timers();
  }

  std::string run_name(const std::string& cron, clock::time_point t) {
    return cron + "-" +
           std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::database> db_;
  std::unique_ptr<recording_service> service_;
  manual_clock clock_{at("2024-05-01T10:02:00Z")};
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<controller>> controllers_;
};

}  // namespace kairos::cron::testing
