#include <algorithm>

#include <gtest/gtest.h>

#include "controller_test_fixture.hpp"

namespace kairos::cron::testing {
namespace {

std::vector<std::string> stored_names(store::database& db) {
  std::vector<std::string> out;
  auto listed = db.list_workflows("default");
  EXPECT_TRUE(listed);
  if (listed)
    for (const auto& w : *listed) out.push_back(w.name);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(controller_test, history_limits_keep_the_newest_finished_runs) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"successfulJobsHistoryLimit", 2},
                     {"failedJobsHistoryLimit", 1}});
  auto& c = make_controller();
  c.resync();
  std::vector<std::string> runs;
  for (int m = 5; m <= 30; m += 5) {
    auto t = at("2024-05-01T10:00:00Z") + std::chrono::minutes(m);
    advance_to(c, t);
    runs.push_back(run_name("etl", t));
  }
  // Runs 0-2 succeed, 3-4 fail, 5 is still running.
  for (int i = 0; i < 3; ++i) service_->set_phase("default", runs[i], "Succeeded");
  for (int i = 3; i < 5; ++i) service_->set_phase("default", runs[i], "Failed");
  c.resync();
  std::vector<std::string> expected{runs[1], runs[2], runs[4], runs[5]};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(stored_names(*db_), expected);
}

TEST_F(controller_test, history_limit_zero_removes_every_finished_run) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"successfulJobsHistoryLimit", 0},
                     {"failedJobsHistoryLimit", 0}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  service_->set_phase("default", run_name("etl", at("2024-05-01T10:05:00Z")), "Succeeded");
  c.resync();
  EXPECT_TRUE(stored_names(*db_).empty());
  EXPECT_EQ(state("etl")["succeeded"], 1);
}

TEST_F(controller_test, history_trimming_leaves_other_crons_runs_alone) {
  apply_cron("a", {{"schedule", "*/5 * * * *"}, {"successfulJobsHistoryLimit", 0}});
  apply_cron("b", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  service_->set_phase("default", run_name("a", at("2024-05-01T10:05:00Z")), "Succeeded");
  service_->set_phase("default", run_name("b", at("2024-05-01T10:05:00Z")), "Succeeded");
  c.resync();
  EXPECT_EQ(stored_names(*db_),
            (std::vector<std::string>{run_name("b", at("2024-05-01T10:05:00Z"))}));
}

TEST_F(controller_test, when_false_skips_the_run) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"when", "cronworkflow.name == 'other'"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  EXPECT_TRUE(service_->submitted().empty());
  EXPECT_EQ(c.stats().skipped, 1u);
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:10:00Z"));
}

TEST_F(controller_test, when_true_runs_and_sees_argo_variables) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"when",
                      "cronworkflow.name == 'etl' && cronworkflow.namespace == 'default' && "
                      "cronworkflow.failed == 0 && cronworkflow.succeeded == 0"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  EXPECT_EQ(service_->submitted().size(), 1u);
}

TEST_F(controller_test, when_last_scheduled_time_is_nil_before_the_first_run) {
  apply_cron("etl",
             {{"schedule", "*/5 * * * *"}, {"when", "cronworkflow.lastScheduledTime == nil"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("etl", at("2024-05-01T10:05:00Z"))}));
}

TEST_F(controller_test, when_in_argo_template_braces_is_substituted_first) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"when", "{{= cronworkflow.lastScheduledTime == nil }}"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));
  EXPECT_EQ(service_->submitted().size(), 1u);
}

TEST_F(controller_test, invalid_when_expression_skips_and_records_the_error) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"when", "cronworkflow.name =="}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  EXPECT_TRUE(service_->submitted().empty());
  auto s = state("etl");
  ASSERT_TRUE(s["conditions"].is_array()) << s.dump();
  EXPECT_NE(s["conditions"][0]["message"].get<std::string>().find("when"), std::string::npos);
}

TEST_F(controller_test, stop_strategy_stops_scheduling_and_marks_phase_stopped) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"stopStrategy", {{"expression", "cronworkflow.failed >= 2"}}}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  service_->set_phase("default", run_name("etl", at("2024-05-01T10:05:00Z")), "Failed");
  advance_to(c, at("2024-05-01T10:10:00Z"));
  EXPECT_EQ(state("etl")["phase"], "Active");
  service_->set_phase("default", run_name("etl", at("2024-05-01T10:10:00Z")), "Failed");
  c.resync();
  auto s = state("etl");
  EXPECT_EQ(s["phase"], "Stopped");
  EXPECT_EQ(s["failed"], 2);
  EXPECT_FALSE(c.next_due());
  advance_to(c, at("2024-05-01T10:30:00Z"));
  EXPECT_EQ(service_->submitted().size(), 2u);
  // Stopping suspends the CronWorkflow, so `kairos cron resume` restarts it.
  auto stored = db_->get_resource("CronWorkflow", "default", "etl");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->body["spec"]["suspend"], true);
}

TEST_F(controller_test, stopped_cron_stays_stopped_across_a_restart_until_resumed) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"stopStrategy", {{"expression", "cronworkflow.succeeded >= 1"}}}});
  {
    auto& first = make_controller();
    first.resync();
    advance_to(first, at("2024-05-01T10:05:00Z"));
    service_->set_phase("default", run_name("etl", at("2024-05-01T10:05:00Z")), "Succeeded");
    first.resync();
    EXPECT_EQ(state("etl")["phase"], "Stopped");
  }
  auto& second = make_controller();
  second.resync();
  EXPECT_FALSE(second.next_due());
  // Resume: suspend false again.
  auto stored = db_->get_resource("CronWorkflow", "default", "etl");
  ASSERT_TRUE(stored);
  auto record = std::move(*stored);
  record.body["spec"]["suspend"] = false;
  ASSERT_TRUE(db_->update_resource(std::move(record), std::nullopt));
  clock_.set(at("2024-05-01T10:12:00Z"));
  second.resync();
  EXPECT_EQ(state("etl")["phase"], "Active");
  EXPECT_EQ(*second.next_due(), at("2024-05-01T10:15:00Z"));
}

TEST_F(controller_test, manual_submit_manifest_uses_generate_name) {
  json cron = {{"metadata", {{"name", "etl"}}}, {"spec", {{"workflowSpec", workflow_spec()}}}};
  auto m = workflow_manifest_for(cron, "team", "etl");
  ASSERT_TRUE(m);
  EXPECT_EQ((*m)["metadata"]["generateName"], "etl-");
  EXPECT_FALSE((*m)["metadata"].contains("name"));
  EXPECT_EQ((*m)["metadata"]["namespace"], "team");
  EXPECT_EQ((*m)["kind"], "Workflow");
  EXPECT_FALSE((*m)["metadata"].contains("annotations"));
}

TEST_F(controller_test, manifest_of_cron_without_workflow_spec_is_an_error) {
  auto m = workflow_manifest_for(json{{"spec", {{"schedule", "* * * * *"}}}}, "default", "x");
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error().code, errc::failed_precondition);
  EXPECT_FALSE(workflow_manifest_for(json("not an object"), "default", "x"));
}

}  // namespace
}  // namespace kairos::cron::testing
