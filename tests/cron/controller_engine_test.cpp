// CronWorkflows run by the real engine: the controller submits to a runtime
// whose local executor runs the nodes as processes. The schedule follows the
// manual clock; only the nodes' own work takes real time, and every wait for
// it is bounded.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "controller_test_fixture.hpp"
#include "kairos/engine/local_executor.hpp"
#include "kairos/engine/runtime.hpp"

namespace kairos::cron::testing {
namespace {

constexpr auto generous = std::chrono::seconds(10);

class cron_engine_test : public controller_test {
 protected:
  void SetUp() override {
    controller_test::SetUp();
    engine::local_executor_settings es;
    es.nodes_root = dir_ / "nodes";
    es.artifacts_root = dir_ / "artifacts";
    executor_ = std::make_unique<engine::local_executor>(engine_io_.get_executor(), es);
    engine_thread_ = std::thread([this] { engine_io_.run(); });
    engine::runtime_settings rs;
    rs.data_dir = dir_;
    runtime_ = std::make_unique<engine::runtime>(rs, *db_, *executor_, clock_);
  }

  void TearDown() override {
    controllers_.clear();
    runtime_->stop();
    runtime_.reset();
    executor_.reset();
    work_.reset();
    engine_io_.stop();
    engine_thread_.join();
    controller_test::TearDown();
  }

  controller& make_engine_controller(const json& spec) {
    apply_cron("etl", spec);
    auto& c = make_controller({}, runtime_.get());
    c.resync();
    return c;
  }

  // The run's workflow once the engine has finished it.
  json finished(const std::string& name) {
    auto done = runtime_->wait("default", name, generous);
    EXPECT_TRUE(done) << name << ": " << (done ? "" : done.error().message);
    return done ? *done : json();
  }

  std::string stored_phase(const std::string& name) {
    auto w = db_->get_workflow("default", name);
    return w ? w->phase : "<none>";
  }

  // One step that waits until the run is resumed.
  static json held_spec() {
    return json::parse(R"({"entrypoint": "main", "templates": [
        {"name": "main", "steps": [[{"name": "hold", "template": "hold"}]]},
        {"name": "hold", "suspend": {}}]})");
  }

  boost::asio::io_context engine_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      engine_io_.get_executor()};
  std::thread engine_thread_;
  std::unique_ptr<engine::local_executor> executor_;
  std::unique_ptr<engine::runtime> runtime_;
};

TEST_F(cron_engine_test, a_due_run_is_executed_by_the_engine_and_sees_its_scheduled_time) {
  const json spec = json::parse(R"({"entrypoint": "main", "templates": [
      {"name": "main", "container": {"image": "debian:12",
       "command": ["echo", "run for {{workflow.scheduledTime}}"]}}]})");
  auto& c = make_engine_controller({{"schedule", "*/5 * * * *"}, {"workflowSpec", spec}});
  advance_to(c, at("2024-05-01T10:05:00Z"));
  const auto run = run_name("etl", at("2024-05-01T10:05:00Z"));
  const json wf = finished(run);
  ASSERT_TRUE(wf.is_object());
  EXPECT_EQ(wf["status"]["phase"], "Succeeded");
  EXPECT_EQ(wf["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"], "etl");
  std::string result;
  for (const auto& [id, n] : wf["status"]["nodes"].items())
    if (n.value("type", "") == "Pod") result = n["outputs"].value("result", "");
  EXPECT_EQ(result, "run for 2024-05-01T10:05:00Z");
}

TEST_F(cron_engine_test, forbid_skips_while_the_engines_run_is_suspended_then_runs_again) {
  auto& c = make_engine_controller({{"schedule", "*/5 * * * *"},
                                    {"concurrencyPolicy", "Forbid"},
                                    {"workflowSpec", held_spec()}});
  advance_to(c, at("2024-05-01T10:05:00Z"));
  const auto first = run_name("etl", at("2024-05-01T10:05:00Z"));
  EXPECT_EQ(stored_phase(first), "Running");

  advance_to(c, at("2024-05-01T10:10:00Z"));
  EXPECT_EQ(c.stats().skipped, 1u);
  EXPECT_EQ(stored_phase(run_name("etl", at("2024-05-01T10:10:00Z"))), "<none>");

  ASSERT_TRUE(runtime_->act("default", first, engine::workflow_action::resume));
  EXPECT_EQ(finished(first)["status"]["phase"], "Succeeded");
  advance_to(c, at("2024-05-01T10:15:00Z"));
  EXPECT_EQ(stored_phase(run_name("etl", at("2024-05-01T10:15:00Z"))), "Running");
}

TEST_F(cron_engine_test, replace_terminates_the_engines_run_and_starts_the_new_one) {
  auto& c = make_engine_controller({{"schedule", "*/5 * * * *"},
                                    {"concurrencyPolicy", "Replace"},
                                    {"workflowSpec", held_spec()}});
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));
  const json replaced = finished(run_name("etl", at("2024-05-01T10:05:00Z")));
  EXPECT_EQ(replaced["status"]["phase"], "Failed");
  EXPECT_EQ(stored_phase(run_name("etl", at("2024-05-01T10:10:00Z"))), "Running");
  // The terminated run leaves `active` when the controller next looks, as
  // in Argo; the new one is in it now.
  bool listed = false;
  const json active = state("etl")["active"];
  for (const auto& a : active)
    listed = listed || a["name"] == run_name("etl", at("2024-05-01T10:10:00Z"));
  EXPECT_TRUE(listed);
}

}  // namespace
}  // namespace kairos::cron::testing
