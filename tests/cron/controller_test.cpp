#include <algorithm>
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include "controller_test_fixture.hpp"
#include "kairos/spec/loader.hpp"

namespace kairos::cron::testing {
namespace {

using engine::workflow_action;

TEST_F(controller_test, run_fires_at_due_time_named_after_scheduled_unix_seconds) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  c.resync();
  ASSERT_TRUE(c.next_due());
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:05:00Z"));

  advance_to(c, at("2024-05-01T10:04:59Z"));
  EXPECT_TRUE(service_->submitted().empty());

  advance_to(c, at("2024-05-01T10:05:00Z"));
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["metadata"]["name"], "etl-1714557900");
  EXPECT_EQ(runs[0]["metadata"]["namespace"], "default");
  EXPECT_EQ(runs[0]["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"], "etl");
  EXPECT_EQ(runs[0]["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"],
            "2024-05-01T10:05:00Z");
  EXPECT_EQ(runs[0]["spec"]["entrypoint"], "main");
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:10:00Z"));
}

TEST_F(controller_test, workflow_metadata_labels_and_annotations_are_copied_to_runs) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"workflowMetadata",
                      {{"labels", {{"team", "data"}}}, {"annotations", {{"owner", "ann"}}}}}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["metadata"]["labels"]["team"], "data");
  EXPECT_EQ(runs[0]["metadata"]["annotations"]["owner"], "ann");
  EXPECT_EQ(runs[0]["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"], "etl");
}

json spec_with_image(const std::string& image) {
  return {{"entrypoint", "main"},
          {"templates", json::array({{{"name", "main"},
                                      {"container", {{"image", image}, {"command", {"true"}}}}}})}};
}

TEST_F(controller_test, cron_updated_between_two_fires_submits_the_new_workflow_spec) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"workflowSpec", spec_with_image("v1")}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  // No resync in between: the fire itself must notice the new version.
  apply_cron("etl", {{"schedule", "*/5 * * * *"},
                     {"workflowSpec", spec_with_image("v2")},
                     {"workflowMetadata", {{"labels", {{"release", "two"}}}}}});
  advance_to(c, at("2024-05-01T10:10:00Z"));
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["spec"]["templates"][0]["container"]["image"], "v1");
  EXPECT_EQ(runs[1]["spec"]["templates"][0]["container"]["image"], "v2");
  EXPECT_EQ(runs[1]["metadata"]["labels"]["release"], "two");
  EXPECT_EQ(runs[1]["metadata"]["name"], run_name("etl", at("2024-05-01T10:10:00Z")));
}

TEST_F(controller_test, cron_updated_and_resynced_between_two_fires_submits_the_new_workflow_spec) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"workflowSpec", spec_with_image("v1")}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"workflowSpec", spec_with_image("v2")}});
  c.resync();
  advance_to(c, at("2024-05-01T10:10:00Z"));
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1]["spec"]["templates"][0]["container"]["image"], "v2");
}

// A due time uses the controller's copy of the manifest while its own store
// saw no resource change; a change made through another process's store is
// seen at the next resync, which compares the stored versions.
TEST_F(controller_test, cron_changed_through_another_store_is_seen_at_the_next_resync) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"workflowSpec", spec_with_image("v1")}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  {
    store::settings s;
    s.data_dir = dir_;
    auto other = store::database::open(s);
    ASSERT_TRUE(other) << other.error().message;
    auto current = (*other)->get_resource("CronWorkflow", "default", "etl");
    ASSERT_TRUE(current);
    current->body["spec"]["workflowSpec"] = spec_with_image("v2");
    ASSERT_TRUE((*other)->update_resource(*current, current->resource_version));
  }
  c.resync();
  advance_to(c, at("2024-05-01T10:10:00Z"));
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["spec"]["templates"][0]["container"]["image"], "v1");
  EXPECT_EQ(runs[1]["spec"]["templates"][0]["container"]["image"], "v2");
}

// Runs reuse the Workflow loaded once per CronWorkflow version; each must be
// exactly what building and loading it for its own time gives.
TEST_F(controller_test, every_run_is_the_workflow_loaded_for_its_own_name_and_time) {
  apply_cron(
      "etl",
      {{"schedule", "*/5 * * * *"},
       {"workflowMetadata",
        {{"labels", {{"team", "data"}}},
         {"annotations",
          {{"owner", "ann"}, {"workflows.argoproj.io/scheduled-time", "set by the user"}}}}}});
  auto& c = make_controller();
  c.resync();
  const std::vector<clock::time_point> times{at("2024-05-01T10:05:00Z"), at("2024-05-01T10:10:00Z"),
                                             at("2024-05-01T10:15:00Z")};
  for (auto t : times) advance_to(c, t);
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), times.size());
  auto stored = db_->get_resource("CronWorkflow", "default", "etl");
  ASSERT_TRUE(stored);
  for (std::size_t i = 0; i < times.size(); ++i) {
    auto manifest = workflow_manifest_for(stored->body, "default", "etl", times[i]);
    ASSERT_TRUE(manifest);
    auto loaded = spec::load_json(*manifest, "CronWorkflow default/etl");
    ASSERT_TRUE(loaded.ok());
    ASSERT_EQ(loaded.resources.size(), 1u);
    const auto& want = loaded.resources.front();
    EXPECT_EQ(runs[i], want.manifest) << i;
    const auto meta = service_->submitted_metadata().at(i);
    EXPECT_EQ(meta.name, want.metadata.name) << i;
    EXPECT_EQ(meta.namespace_, want.metadata.namespace_) << i;
    EXPECT_EQ(meta.labels, want.metadata.labels) << i;
    EXPECT_EQ(meta.annotations, want.metadata.annotations) << i;
    EXPECT_EQ(meta.annotations.at("workflows.argoproj.io/scheduled-time"),
              format_rfc3339(times[i]));
  }
}

TEST_F(controller_test, run_before_2001_has_a_shorter_name_and_still_fires) {
  clock_.set(at("1999-12-31T23:58:00Z"));
  apply_cron("y2k", {{"schedule", "* * * * *"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("1999-12-31T23:59:00Z"));
  advance_to(c, at("2000-01-01T00:00:00Z"));
  EXPECT_EQ(service_->names(), (std::vector<std::string>{"y2k-946684740", "y2k-946684800"}));
  ASSERT_EQ(service_->submitted_metadata().size(), 2u);
  EXPECT_EQ(service_->submitted_metadata()[1].name, "y2k-946684800");
}

TEST_F(controller_test, every_schedule_of_a_schedules_list_fires) {
  apply_cron("multi", {{"schedules", {"0 11 * * *", "30 10 * * *"}}});
  auto& c = make_controller();
  c.resync();
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:30:00Z"));
  advance_to(c, at("2024-05-01T10:30:00Z"));
  advance_to(c, at("2024-05-01T11:00:00Z"));
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("multi", at("2024-05-01T10:30:00Z")),
                                      run_name("multi", at("2024-05-01T11:00:00Z"))}));
}

TEST_F(controller_test, timezone_places_wall_time_in_that_zone) {
  apply_cron("ny", {{"schedule", "0 9 * * *"}, {"timezone", "America/New_York"}});
  auto& c = make_controller();
  c.resync();
  // 09:00 EDT is 13:00 UTC.
  EXPECT_EQ(*c.next_due(), at("2024-05-01T13:00:00Z"));
  advance_to(c, at("2024-05-01T13:00:00Z"));
  ASSERT_EQ(service_->submitted().size(), 1u);
  EXPECT_EQ(
      service_->submitted()[0]["metadata"]["annotations"]["workflows.argoproj.io/scheduled-time"],
      "2024-05-01T13:00:00Z");
}

TEST_F(controller_test, spring_forward_gap_time_fires_once_right_after_the_gap) {
  // 02:30 does not exist in Berlin on 2024-03-31; it fires at 03:00 CEST.
  clock_.set(at("2024-03-30T12:00:00Z"));
  apply_cron("berlin", {{"schedule", "30 2 * * *"}, {"timezone", "Europe/Berlin"}});
  auto& c = make_controller();
  c.resync();
  EXPECT_EQ(*c.next_due(), at("2024-03-31T01:00:00Z"));
  advance_to(c, at("2024-03-31T01:00:00Z"));
  EXPECT_EQ(*c.next_due(), at("2024-04-01T00:30:00Z"));
  advance_to(c, at("2024-04-01T00:30:00Z"));
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("berlin", at("2024-03-31T01:00:00Z")),
                                      run_name("berlin", at("2024-04-01T00:30:00Z"))}));
}

TEST_F(controller_test, fall_back_repeated_time_fires_only_at_first_occurrence) {
  // 02:30 happens twice in Berlin on 2024-10-27 (00:30Z CEST, 01:30Z CET).
  clock_.set(at("2024-10-26T12:00:00Z"));
  apply_cron("berlin", {{"schedule", "30 2 * * *"}, {"timezone", "Europe/Berlin"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-10-27T00:30:00Z"));
  advance_to(c, at("2024-10-27T01:30:00Z"));
  advance_to(c, at("2024-10-27T12:00:00Z"));
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("berlin", at("2024-10-27T00:30:00Z"))}));
  EXPECT_EQ(*c.next_due(), at("2024-10-28T01:30:00Z"));
}

TEST_F(controller_test, hourly_schedule_follows_real_time_through_fall_back) {
  // `0 * * * *` in a zone whose overlap repeats 01:00-02:00 fires at each
  // real hour, 25 runs on that day.
  clock_.set(at("2024-11-03T03:30:00Z"));  // 23:30 EDT on Nov 2
  apply_cron("hourly", {{"schedule", "0 * * * *"}, {"timezone", "America/New_York"}});
  auto& c = make_controller();
  c.resync();
  for (int h = 4; h <= 8; ++h) {
    auto t = at("2024-11-03T03:00:00Z") + std::chrono::hours(h - 3);
    advance_to(c, t);
  }
  // 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST, 03:00 EST.
  EXPECT_EQ(service_->submitted().size(), 5u);
}

TEST_F(controller_test, suspended_cron_does_not_run) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"suspend", true}});
  auto& c = make_controller();
  c.resync();
  EXPECT_FALSE(c.next_due());
  advance_to(c, at("2024-05-01T10:20:00Z"));
  EXPECT_TRUE(service_->submitted().empty());
  EXPECT_EQ(c.cron_count(), 1u);
}

TEST_F(controller_test, resume_takes_effect_from_now_without_catching_up) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 3600}});
  auto& c = make_controller();
  c.resync();
  apply_cron("etl",
             {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 3600}, {"suspend", true}});
  c.resync();
  advance_to(c, at("2024-05-01T10:17:00Z"));
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 3600}});
  c.resync();
  c.check_timers();
  EXPECT_TRUE(service_->submitted().empty());
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:20:00Z"));
  advance_to(c, at("2024-05-01T10:20:00Z"));
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("etl", at("2024-05-01T10:20:00Z"))}));
}

TEST_F(controller_test, forbid_skips_while_a_run_is_active) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"concurrencyPolicy", "Forbid"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));
  EXPECT_EQ(service_->submitted().size(), 1u);
  EXPECT_EQ(c.stats().skipped, 1u);
  // Once it finishes, the next due time runs.
  service_->set_phase("default", run_name("etl", at("2024-05-01T10:05:00Z")), "Succeeded");
  advance_to(c, at("2024-05-01T10:15:00Z"));
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("etl", at("2024-05-01T10:05:00Z")),
                                      run_name("etl", at("2024-05-01T10:15:00Z"))}));
}

TEST_F(controller_test, allow_runs_overlap) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));
  EXPECT_EQ(service_->submitted().size(), 2u);
  EXPECT_EQ(state("etl")["active"].size(), 2u);
  EXPECT_TRUE(service_->actions().empty());
}

TEST_F(controller_test, replace_terminates_the_active_run_then_starts_the_new_one) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"concurrencyPolicy", "Replace"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));
  const auto first = run_name("etl", at("2024-05-01T10:05:00Z"));
  ASSERT_EQ(service_->actions().size(), 1u);
  EXPECT_EQ(service_->actions()[0].first, first);
  EXPECT_EQ(service_->actions()[0].second, workflow_action::terminate);
  EXPECT_EQ(service_->submitted().size(), 2u);
  auto s = state("etl");
  ASSERT_EQ(s["active"].size(), 1u);
  EXPECT_EQ(s["active"][0]["name"], run_name("etl", at("2024-05-01T10:10:00Z")));
}

TEST_F(controller_test, deleted_cron_stops_and_its_state_goes) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  delete_cron("etl");
  c.resync();
  EXPECT_EQ(c.cron_count(), 0u);
  EXPECT_FALSE(c.next_due());
  advance_to(c, at("2024-05-01T10:30:00Z"));
  EXPECT_EQ(service_->submitted().size(), 1u);
  EXPECT_TRUE(state("etl").is_null());
}

TEST_F(controller_test, cron_deleted_between_resyncs_is_dropped_at_its_due_time) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  c.resync();
  delete_cron("etl");
  advance_to(c, at("2024-05-01T10:05:00Z"));
  EXPECT_TRUE(service_->submitted().empty());
  EXPECT_EQ(c.cron_count(), 0u);
}

TEST_F(controller_test, invalid_schedule_is_reported_in_status_and_not_scheduled) {
  apply_cron("bad", {{"schedule", "61 * * * *"}});
  auto& c = make_controller();
  c.resync();
  EXPECT_FALSE(c.next_due());
  auto s = state("bad");
  ASSERT_TRUE(s["conditions"].is_array());
  EXPECT_EQ(s["conditions"][0]["type"], "SpecError");
  EXPECT_NE(s["conditions"][0]["message"].get<std::string>().find("minute"), std::string::npos)
      << s.dump();
}

TEST_F(controller_test, invalid_workflow_spec_is_a_condition_not_a_crash) {
  apply_cron("broken",
             {{"schedule", "*/5 * * * *"},
              {"workflowSpec", {{"entrypoint", "missing"}, {"templates", json::array()}}}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  EXPECT_TRUE(service_->submitted().empty());
  auto s = state("broken");
  ASSERT_TRUE(s["conditions"].is_array()) << s.dump();
  EXPECT_EQ(s["conditions"][0]["type"], "SpecError");
  EXPECT_EQ(c.stats().submit_errors, 1u);
  // Still scheduled: the next due time is tried again.
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:10:00Z"));
}

TEST_F(controller_test, state_holds_last_and_next_scheduled_time_and_active_runs) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  c.resync();
  auto s = state("etl");
  EXPECT_EQ(s["nextScheduledTime"], "2024-05-01T10:05:00Z");
  EXPECT_FALSE(s.contains("lastScheduledTime"));
  advance_to(c, at("2024-05-01T10:05:00Z"));
  s = state("etl");
  EXPECT_EQ(s["lastScheduledTime"], "2024-05-01T10:05:00Z");
  EXPECT_EQ(s["nextScheduledTime"], "2024-05-01T10:10:00Z");
  EXPECT_EQ(s["phase"], "Active");
  ASSERT_EQ(s["active"].size(), 1u);
  EXPECT_EQ(s["active"][0]["name"], "etl-1714557900");
  EXPECT_EQ(s["active"][0]["kind"], "Workflow");
  EXPECT_EQ(s["succeeded"], 0);
  EXPECT_EQ(s["failed"], 0);
}

TEST_F(controller_test, finished_runs_are_counted_and_leave_active) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));
  advance_to(c, at("2024-05-01T10:15:00Z"));
  service_->set_phase("default", run_name("etl", at("2024-05-01T10:05:00Z")), "Succeeded");
  service_->set_phase("default", run_name("etl", at("2024-05-01T10:10:00Z")), "Error");
  c.resync();
  auto s = state("etl");
  EXPECT_EQ(s["succeeded"], 1);
  EXPECT_EQ(s["failed"], 1);
  ASSERT_EQ(s["active"].size(), 1u);
  EXPECT_EQ(s["active"][0]["name"], run_name("etl", at("2024-05-01T10:15:00Z")));
  // Counting happens once per run.
  c.resync();
  EXPECT_EQ(state("etl")["succeeded"], 1);
}

// "c<i>", built without operator+ on a literal, which GCC 12 misreads
// (-Wrestrict) in optimized builds.
std::string cron_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c%d", i);
  return buf;
}

// A burst of due crons is handled by several threads at once; each cron is
// still handled by one thread at a time, so every run keeps its own name
// and a cron's runs come in order.
TEST_F(controller_test, a_burst_fires_every_cron_once_under_its_own_name_in_order) {
  constexpr int crons = 40;
  for (int i = 0; i < crons; ++i)
    apply_cron(cron_name(i), {{"schedule", "*/5 * * * *"}}, i % 2 == 0 ? "default" : "other");
  controller_settings settings;
  settings.worker_threads = 4;
  settings.fire_threads = 3;
  auto& c = make_controller(settings);
  c.resync();
  advance_to(c, at("2024-05-01T10:05:00Z"));
  advance_to(c, at("2024-05-01T10:10:00Z"));

  const auto names = service_->names();
  ASSERT_EQ(names.size(), 2u * crons);
  const auto metadata = service_->submitted_metadata();
  for (int i = 0; i < crons; ++i) {
    const auto cron = cron_name(i);
    const auto first = run_name(cron, at("2024-05-01T10:05:00Z"));
    const auto second = run_name(cron, at("2024-05-01T10:10:00Z"));
    auto a = std::find(names.begin(), names.end(), first);
    auto b = std::find(names.begin(), names.end(), second);
    ASSERT_NE(a, names.end()) << first;
    ASSERT_NE(b, names.end()) << second;
    EXPECT_LT(a - names.begin(), b - names.begin()) << cron;
    EXPECT_EQ(std::count(names.begin(), names.end(), first), 1) << first;
    const auto& meta = metadata[static_cast<std::size_t>(b - names.begin())];
    EXPECT_EQ(meta.namespace_, i % 2 == 0 ? "default" : "other");
    EXPECT_EQ(meta.labels.at("workflows.argoproj.io/cron-workflow"), cron);
    EXPECT_EQ(state(cron, meta.namespace_)["lastScheduledTime"], "2024-05-01T10:10:00Z");
  }
  EXPECT_EQ(c.stats().submitted, 2u * crons);
  EXPECT_EQ(c.stats().due_handled, 2u * crons);
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:15:00Z"));
}

TEST_F(controller_test, a_burst_drops_crons_deleted_since_the_resync_and_runs_the_rest) {
  constexpr int crons = 30;
  for (int i = 0; i < crons; ++i) apply_cron(cron_name(i), {{"schedule", "*/5 * * * *"}});
  controller_settings settings;
  settings.worker_threads = 3;
  settings.fire_threads = 2;
  auto& c = make_controller(settings);
  c.resync();
  for (int i = 0; i < crons; i += 3) delete_cron(cron_name(i));
  advance_to(c, at("2024-05-01T10:05:00Z"));

  EXPECT_EQ(c.cron_count(), static_cast<std::size_t>(crons - crons / 3));
  const auto names = service_->names();
  EXPECT_EQ(names.size(), static_cast<std::size_t>(crons - crons / 3));
  for (int i = 0; i < crons; ++i) {
    const auto name = run_name(cron_name(i), at("2024-05-01T10:05:00Z"));
    EXPECT_EQ(std::count(names.begin(), names.end(), name), i % 3 == 0 ? 0 : 1) << name;
  }
  // The next burst has only the live crons, and a resync keeps them.
  c.resync();
  advance_to(c, at("2024-05-01T10:10:00Z"));
  EXPECT_EQ(service_->names().size(), 2u * static_cast<std::size_t>(crons - crons / 3));
}

}  // namespace
// A run due within prepare_ahead is made before its time (the manifest
// parsed, named and stamped) and submitted unchanged when it is due: the
// same Workflow the cron's manifest gives for that time.
TEST_F(controller_test, a_run_due_within_prepare_ahead_is_made_before_and_submitted_at_its_time) {
  apply_cron("etl",
             {{"schedule", "*/5 * * * *"}, {"workflowMetadata", {{"labels", {{"team", "data"}}}}}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:04:59Z"));
  EXPECT_TRUE(service_->submitted().empty());
  advance_to(c, at("2024-05-01T10:05:00Z"));
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(c.stats().made_ahead, 1u);
  auto stored = db_->get_resource("CronWorkflow", "default", "etl");
  ASSERT_TRUE(stored);
  auto expected = workflow_manifest_for(stored->body, "default", "etl", at("2024-05-01T10:05:00Z"));
  ASSERT_TRUE(expected);
  EXPECT_EQ(runs[0], *expected);
  auto meta = service_->submitted_metadata();
  ASSERT_EQ(meta.size(), 1u);
  EXPECT_EQ(meta[0].name, "etl-1714557900");
  EXPECT_EQ(meta[0].labels.at("team"), "data");
}

TEST_F(controller_test, a_run_made_ahead_is_not_used_once_the_cron_changed) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"workflowSpec", spec_with_image("v1")}});
  auto& c = make_controller();
  c.resync();
  advance_to(c, at("2024-05-01T10:04:59Z"));
  // Changed after its run was made, with no resync before the due time.
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"workflowSpec", spec_with_image("v2")}});
  advance_to(c, at("2024-05-01T10:05:00Z"));
  auto runs = service_->submitted();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["spec"]["templates"][0]["container"]["image"], "v2");
  EXPECT_EQ(c.stats().made_ahead, 0u);
}

TEST_F(controller_test, no_more_runs_than_prepare_limit_are_made_ahead_and_the_rest_still_run) {
  apply_cron("a", {{"schedule", "*/5 * * * *"}});
  apply_cron("b", {{"schedule", "*/5 * * * *"}});
  apply_cron("c", {{"schedule", "*/5 * * * *"}});
  controller_settings s;
  s.prepare_limit = 2;
  auto& c = make_controller(s);
  c.resync();
  advance_to(c, at("2024-05-01T10:04:59Z"));
  advance_to(c, at("2024-05-01T10:05:00Z"));
  EXPECT_EQ(service_->submitted().size(), 3u);
  EXPECT_EQ(c.stats().made_ahead, 2u);
}

TEST_F(controller_test, a_run_due_beyond_prepare_ahead_is_made_at_its_time) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  controller_settings s;
  s.prepare_ahead = 500ms;
  auto& c = make_controller(s);
  c.resync();
  advance_to(c, at("2024-05-01T10:04:59Z"));
  advance_to(c, at("2024-05-01T10:05:00Z"));
  EXPECT_EQ(service_->names(), std::vector<std::string>{"etl-1714557900"});
  EXPECT_EQ(c.stats().made_ahead, 0u);
}

}  // namespace kairos::cron::testing
