// CronWorkflow specs: schedules, zones, policies and the workflow they run.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kairos/spec/loader.hpp"

namespace kairos::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> messages(const load_result& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(d.to_string());
  return out;
}

constexpr const char* nightly = R"(apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: nightly-report
spec:
  schedule: "30 2 * * *"
  timezone: Europe/Paris
  concurrencyPolicy: Forbid
  startingDeadlineSeconds: 600
  suspend: true
  when: "{{= cronworkflow.failed < 3 }}"
  stopStrategy:
    expression: cronworkflow.failed >= 5
  workflowMetadata:
    labels: {kind: report}
  workflowSpec:
    entrypoint: report
    templates:
      - name: report
        retryStrategy:
          limit: 2
          backoff: {duration: 1m, factor: 2}
        container:
          image: alpine
          command: [sh, -c, "echo report"]
)";

TEST(cron_workflow_spec, schedule_zone_and_policies_load) {
  auto r = load_text(nightly, "cron.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 1u);
  EXPECT_EQ(r.resources[0].kind, kind::cron_workflow);
  const auto& cron = std::get<cron_workflow_spec>(r.resources[0].spec);
  EXPECT_EQ(cron.schedules, std::vector<std::string>{"30 2 * * *"});
  EXPECT_EQ(cron.timezone, "Europe/Paris");
  EXPECT_EQ(cron.concurrency_policy, "Forbid");
  EXPECT_EQ(cron.starting_deadline_seconds, 600);
  EXPECT_TRUE(cron.suspend);
  EXPECT_EQ(cron.when, "{{= cronworkflow.failed < 3 }}");
  ASSERT_TRUE(cron.stop_strategy.has_value());
  EXPECT_EQ(cron.stop_strategy->expression, "cronworkflow.failed >= 5");
  EXPECT_EQ(cron.workflow_metadata->labels.at("kind"), "report");
  EXPECT_EQ(cron.workflow_spec.entrypoint, "report");
  ASSERT_EQ(cron.workflow_spec.templates.size(), 1u);
  EXPECT_EQ(cron.workflow_spec.templates[0].retry_strategy->backoff->duration, "1m");
}

TEST(cron_workflow_spec, history_limits_default_to_three_and_one) {
  auto r = load_text(nightly, "cron.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  const auto& cron = std::get<cron_workflow_spec>(r.resources[0].spec);
  EXPECT_EQ(cron.successful_jobs_history_limit, 3);
  EXPECT_EQ(cron.failed_jobs_history_limit, 1);
}

TEST(cron_workflow_spec, schedules_list_and_explicit_limits_load) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: twice
spec:
  schedules: ["0 6 * * *", "0 18 * * 1-5"]
  successfulJobsHistoryLimit: 10
  failedJobsHistoryLimit: 0
  workflowSpec:
    workflowTemplateRef: {name: etl}
)",
                     "c.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  const auto& cron = std::get<cron_workflow_spec>(r.resources[0].spec);
  EXPECT_EQ(cron.schedules, (std::vector<std::string>{"0 6 * * *", "0 18 * * 1-5"}));
  EXPECT_EQ(cron.successful_jobs_history_limit, 10);
  EXPECT_EQ(cron.failed_jobs_history_limit, 0);
  EXPECT_EQ(cron.concurrency_policy, "Allow");
  EXPECT_EQ(cron.workflow_spec.workflow_template_ref->name, "etl");
}

TEST(cron_workflow_spec_errors, unknown_time_zone_is_rejected_at_its_value) {
  std::string text = nightly;
  text.replace(text.find("Europe/Paris"), 12, "Europe/Pariss");
  auto r = load_text(text, "cron.yaml");
  EXPECT_THAT(messages(r), ElementsAre("cron.yaml:7:13: spec.timezone: unknown time zone "
                                       "'Europe/Pariss'; expected an IANA name such as UTC or "
                                       "Europe/Paris"));
}

TEST(cron_workflow_spec_errors, invalid_concurrency_policy_lists_the_choices) {
  std::string text = nightly;
  text.replace(text.find("Forbid"), 6, "Forbidden");
  auto r = load_text(text, "cron.yaml");
  EXPECT_THAT(messages(r), ElementsAre("cron.yaml:8:22: spec.concurrencyPolicy: 'Forbidden' is "
                                       "not one of Allow, Forbid, Replace (did you mean Forbid?)"));
}

TEST(cron_workflow_spec_errors, a_schedule_is_required_and_only_one_form_at_once) {
  auto missing = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: none
spec:
  workflowSpec:
    workflowTemplateRef: {name: etl}
)",
                           "c.yaml");
  EXPECT_THAT(
      messages(missing),
      ElementsAre("c.yaml:6:3: spec.schedule: required field is missing (or set schedules)"));

  auto both = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: both
spec:
  schedule: "@daily"
  schedules: ["@hourly"]
  workflowSpec:
    workflowTemplateRef: {name: etl}
)",
                        "c.yaml");
  EXPECT_THAT(messages(both),
              ElementsAre("c.yaml:7:14: spec.schedules: set schedule or schedules, not both"));
}

TEST(cron_workflow_spec_errors, negative_history_limit_and_missing_workflow_spec_are_reported) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: neg
spec:
  schedule: "@daily"
  failedJobsHistoryLimit: -1
)",
                     "c.yaml");
  EXPECT_THAT(messages(r),
              ElementsAre("c.yaml:6:3: spec.workflowSpec: required field is missing",
                          "c.yaml:7:27: spec.failedJobsHistoryLimit: must not be negative"));
}

TEST(cron_workflow_spec_errors, workflow_spec_needs_an_entrypoint_and_is_fully_checked) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata:
  name: noentry
spec:
  schedule: "@daily"
  workflowSpec:
    templates:
      - name: main
        dag:
          tasks:
            - {name: a, template: mian}
)",
                     "c.yaml");
  EXPECT_THAT(messages(r),
              ElementsAre("c.yaml:8:5: spec.workflowSpec.entrypoint: required field is missing (or "
                          "set workflowTemplateRef)",
                          "c.yaml:12:35: spec.workflowSpec.templates[0].dag.tasks[0].template: "
                          "unknown template 'mian' (did you mean 'main'?)"));
}

TEST(cron_workflow_spec_errors, stop_strategy_condition_is_the_release_candidate_spelling) {
  std::string text = nightly;
  text.replace(text.find("    expression: cronworkflow"), 15, "    condition: ");
  auto r = load_text(text, "cron.yaml");
  EXPECT_THAT(messages(r), ::testing::Contains(HasSubstr(
                               "spec.stopStrategy.condition: renamed 'expression' in Argo 3.6.0")));
}

TEST(cron_workflow_spec, json_cron_workflow_loads) {
  auto r = load_text(R"({"apiVersion": "argoproj.io/v1alpha1", "kind": "CronWorkflow",
 "metadata": {"name": "j"},
 "spec": {"schedule": "*/5 * * * *", "timezone": "UTC",
          "workflowSpec": {"entrypoint": "m", "templates": [{"name": "m", "suspend": {}}]}}})",
                     "c.json");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  const auto& cron = std::get<cron_workflow_spec>(r.resources[0].spec);
  EXPECT_EQ(cron.schedules[0], "*/5 * * * *");
  EXPECT_TRUE(cron.workflow_spec.templates[0].suspend.has_value());
}

}  // namespace
}  // namespace kairos::spec
