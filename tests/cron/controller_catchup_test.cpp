#include <gtest/gtest.h>

#include "controller_test_fixture.hpp"

namespace kairos::cron::testing {
namespace {

TEST_F(controller_test, server_stopped_across_two_due_times_catches_up_the_most_recent_once) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 600}});
  {
    auto& first = make_controller();
    first.resync();
    advance_to(first, at("2024-05-01T10:05:00Z"));
    first.stop();
  }
  // Down over 10:10 and 10:15.
  clock_.set(at("2024-05-01T10:17:00Z"));
  auto& second = make_controller();
  second.resync();
  second.check_timers();
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("etl", at("2024-05-01T10:05:00Z")),
                                      run_name("etl", at("2024-05-01T10:15:00Z"))}));
  EXPECT_EQ(second.stats().caught_up, 1u);
  EXPECT_EQ(second.stats().missed, 1u);  // 10:10
  EXPECT_EQ(state("etl")["lastScheduledTime"], "2024-05-01T10:15:00Z");
  EXPECT_EQ(*second.next_due(), at("2024-05-01T10:20:00Z"));
  // A third instance does not run it again.
  auto& third = make_controller();
  third.resync();
  EXPECT_EQ(service_->submitted().size(), 2u);
}

TEST_F(controller_test, without_starting_deadline_missed_times_are_not_caught_up) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  {
    auto& first = make_controller();
    first.resync();
    advance_to(first, at("2024-05-01T10:05:00Z"));
    first.stop();
  }
  clock_.set(at("2024-05-01T10:17:00Z"));
  auto& second = make_controller();
  second.resync();
  second.check_timers();
  EXPECT_EQ(service_->submitted().size(), 1u);
  EXPECT_EQ(second.stats().missed, 2u);
  EXPECT_EQ(*second.next_due(), at("2024-05-01T10:20:00Z"));
}

TEST_F(controller_test, missed_time_older_than_the_deadline_is_not_run) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 60}});
  {
    auto& first = make_controller();
    first.resync();
    advance_to(first, at("2024-05-01T10:05:00Z"));
  }
  clock_.set(at("2024-05-01T10:17:00Z"));  // 10:15 was 120 s ago
  auto& second = make_controller();
  second.resync();
  EXPECT_EQ(service_->submitted().size(), 1u);
  EXPECT_EQ(second.stats().caught_up, 0u);
}

TEST_F(controller_test, millions_of_missed_times_are_one_bounded_scan) {
  apply_cron("fast", {{"schedule", "@every 1s"}, {"startingDeadlineSeconds", 30}});
  {
    auto& first = make_controller();
    first.resync();
    advance_to(first, at("2024-05-01T10:02:01Z"));
  }
  // 60 days down: over five million due times.
  clock_.set(at("2024-06-30T10:02:00Z") + std::chrono::milliseconds(500));
  controller_settings s;
  s.max_missed_warn = 100;
  auto& second = make_controller(s);
  second.resync();
  EXPECT_EQ(service_->names().back(), run_name("fast", at("2024-06-30T10:02:00Z")));
  EXPECT_EQ(second.stats().caught_up, 1u);
  EXPECT_EQ(service_->submitted().size(), 2u);
}

TEST_F(controller_test, two_controllers_on_one_store_never_duplicate_a_run) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& a = make_controller();
  auto& b = make_controller();
  a.resync();
  b.resync();
  clock_.set(at("2024-05-01T10:05:00Z"));
  a.check_timers();
  b.check_timers();
  EXPECT_EQ(service_->calls(), 2u);
  EXPECT_EQ(service_->submitted().size(), 1u);
  auto listed = db_->list_workflows("default");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 1u);
  // The loser treats the existing name as its run.
  EXPECT_EQ(b.stats().submitted, 1u);
  EXPECT_EQ(b.stats().submit_errors, 0u);
}

TEST_F(controller_test, changed_schedule_takes_effect_at_resync_without_catch_up) {
  apply_cron("etl", {{"schedule", "0 * * * *"}, {"startingDeadlineSeconds", 3600}});
  auto& c = make_controller();
  c.resync();
  EXPECT_EQ(*c.next_due(), at("2024-05-01T11:00:00Z"));
  clock_.set(at("2024-05-01T10:31:00Z"));
  // Every 10 minutes: 10:10, 10:20 and 10:30 lie in the past; none run.
  apply_cron("etl", {{"schedule", "*/10 * * * *"}, {"startingDeadlineSeconds", 3600}});
  c.resync();
  c.check_timers();
  EXPECT_TRUE(service_->submitted().empty());
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:40:00Z"));
}

TEST_F(controller_test, changed_timezone_takes_effect_at_resync) {
  apply_cron("etl", {{"schedule", "0 12 * * *"}, {"timezone", "UTC"}});
  auto& c = make_controller();
  c.resync();
  EXPECT_EQ(*c.next_due(), at("2024-05-01T12:00:00Z"));
  apply_cron("etl", {{"schedule", "0 12 * * *"}, {"timezone", "Asia/Kolkata"}});
  c.resync();
  // 12:00 IST is 06:30 UTC, already past today.
  EXPECT_EQ(*c.next_due(), at("2024-05-02T06:30:00Z"));
}

TEST_F(controller_test, schedule_changed_while_down_is_not_caught_up) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 600}});
  {
    auto& first = make_controller();
    first.resync();
    advance_to(first, at("2024-05-01T10:05:00Z"));
  }
  apply_cron("etl", {{"schedule", "*/7 * * * *"}, {"startingDeadlineSeconds", 600}});
  clock_.set(at("2024-05-01T10:17:00Z"));
  auto& second = make_controller();
  second.resync();
  EXPECT_EQ(service_->submitted().size(), 1u);
  EXPECT_EQ(*second.next_due(), at("2024-05-01T10:21:00Z"));
}

TEST_F(controller_test, cron_created_while_running_does_not_catch_up) {
  auto& c = make_controller();
  c.resync();
  clock_.set(at("2024-05-01T10:06:00Z"));
  apply_cron("etl", {{"schedule", "*/5 * * * *"}, {"startingDeadlineSeconds", 600}});
  c.resync();
  c.check_timers();
  EXPECT_TRUE(service_->submitted().empty());
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:10:00Z"));
}

TEST_F(controller_test, controller_blocked_past_several_due_times_runs_only_the_latest) {
  apply_cron("etl", {{"schedule", "* * * * *"}, {"startingDeadlineSeconds", 120}});
  auto& c = make_controller();
  c.resync();
  // No check_timers for 10 minutes (e.g. the machine slept).
  advance_to(c, at("2024-05-01T10:12:30Z"));
  EXPECT_EQ(service_->names(),
            (std::vector<std::string>{run_name("etl", at("2024-05-01T10:12:00Z"))}));
  EXPECT_EQ(c.stats().missed, 9u);
}

TEST_F(controller_test, start_loads_crons_and_stop_is_idempotent) {
  apply_cron("etl", {{"schedule", "*/5 * * * *"}});
  auto& c = make_controller();
  ASSERT_TRUE(c.start());
  EXPECT_EQ(c.cron_count(), 1u);
  EXPECT_EQ(*c.next_due(), at("2024-05-01T10:05:00Z"));
  c.stop();
  c.stop();
}

}  // namespace
}  // namespace kairos::cron::testing
