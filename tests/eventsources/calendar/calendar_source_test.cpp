#include <gtest/gtest.h>

#include "calendar/calendar_source.hpp"
#include "kairos/core/text.hpp"
#include "manager_fixture.hpp"

namespace kairos::testing {
namespace {

using namespace std::chrono_literals;
using eventsources::calendar_settings;
using eventsources::calendar_source;
using eventsources::sys_time;

sys_time at(const char* rfc3339) {
  return *parse_rfc3339(rfc3339);
}

class calendar : public ::testing::Test {
 protected:
  void SetUp() override { clock_.set(at("2023-11-14T22:13:20Z")); }

  std::unique_ptr<calendar_source> make(calendar_settings s) {
    eventsources::source_context ctx;
    ctx.namespace_ = "default";
    ctx.name = "cal";
    ctx.out = out_;
    auto src = std::make_unique<calendar_source>(ctx, "tick", std::move(s));
    EXPECT_TRUE(src->start().ok());
    return src;
  }
  static calendar_settings cron(const char* spec, const char* zone = "UTC") {
    calendar_settings s;
    s.timezone = zone;
    s.schedule = *cron::schedule::parse(spec, zone);
    return s;
  }

  temp_store store_;
  manual_clock clock_;
  std::shared_ptr<eventsources::emitter> out_ =
      std::make_shared<eventsources::emitter>(*store_.db, clock_, nullptr, nullptr);
};

TEST_F(calendar, schedule_fires_when_due_with_argo_data) {
  auto src = make(cron("*/5 * * * *"));
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-14T22:15:00Z"));
  EXPECT_TRUE(store_.events().empty());
  clock_.set(at("2023-11-14T22:15:00Z"));
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-14T22:20:00Z"));
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "default/cal/tick/1700000100");
  EXPECT_EQ(events[0].type, "calendar");
  EXPECT_EQ(events[0].time, "2023-11-14T22:15:00Z");
  EXPECT_EQ(events[0].body["data"]["eventTime"], "2023-11-14 22:15:00 +0000 UTC");
  EXPECT_TRUE(events[0].body["data"]["metadata"].is_object());
}

TEST_F(calendar, interval_counts_from_whole_seconds) {
  calendar_settings s;
  s.interval = 90s;
  clock_.advance(250ms);
  auto src = make(s);
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-14T22:14:50Z"));
  clock_.set(at("2023-11-14T22:17:50Z"));
  // Three intervals are due (the last exactly now): all fire, in order.
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-14T22:19:20Z"));
  auto events = store_.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].time, "2023-11-14T22:14:50Z");
  EXPECT_EQ(events[1].time, "2023-11-14T22:16:20Z");
  EXPECT_EQ(events[2].time, "2023-11-14T22:17:50Z");
}

TEST_F(calendar, exclusion_dates_skip_whole_days) {
  auto s = cron("0 9 * * *");
  s.exclusions = {at("2023-11-15T00:00:00Z")};
  auto src = make(s);
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-16T09:00:00Z"));
}

TEST_F(calendar, timezone_applies_to_schedule_and_event_time) {
  auto src = make(cron("0 9 * * *", "Asia/Kolkata"));
  const auto due = src->poll(clock_.now());
  ASSERT_EQ(due, at("2023-11-15T03:30:00Z"));
  clock_.set(*due);
  src->poll(clock_.now());
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["eventTime"], "2023-11-15 09:00:00 +0530 IST");
}

TEST_F(calendar, catch_up_replays_missed_times_after_a_restart) {
  auto s = cron("0 * * * *");
  s.catchup = true;
  {
    auto src = make(s);
    clock_.set(at("2023-11-14T23:00:00Z"));
    src->poll(clock_.now());
    ASSERT_EQ(store_.events().size(), 1u);
  }
  // Down for three hours and a bit.
  clock_.set(at("2023-11-15T02:30:00Z"));
  auto src = make(s);
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-15T03:00:00Z"));
  auto events = store_.events();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].time, "2023-11-15T00:00:00Z");
  EXPECT_EQ(events[3].time, "2023-11-15T02:00:00Z");
}

TEST_F(calendar, catch_up_is_bounded_by_max_duration) {
  auto s = cron("0 * * * *");
  s.catchup = true;
  s.catchup_max_duration = std::chrono::minutes(90);
  {
    auto src = make(s);
    clock_.set(at("2023-11-14T23:00:00Z"));
    src->poll(clock_.now());
  }
  clock_.set(at("2023-11-15T02:30:00Z"));
  auto src = make(s);
  src->poll(clock_.now());
  auto events = store_.events();
  // Catch-up resumes from 01:00 (now - 90m), so the next fire time after it,
  // 02:00, is the only one replayed; 00:00 and 01:00 are too old.
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].time, "2023-11-15T02:00:00Z");
}

TEST_F(calendar, without_catch_up_a_restart_does_not_replay) {
  auto s = cron("0 * * * *");
  {
    auto src = make(s);
    clock_.set(at("2023-11-14T23:00:00Z"));
    src->poll(clock_.now());
  }
  clock_.set(at("2023-11-15T02:30:00Z"));
  auto src = make(s);
  src->poll(clock_.now());
  EXPECT_EQ(store_.events().size(), 1u);
}

TEST_F(calendar, failed_append_is_retried_on_the_next_poll) {
  auto src = make(cron("*/5 * * * *"));
  clock_.set(at("2023-11-14T22:15:00Z"));
  store_.db->fail_appends = true;
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-14T22:15:00Z"));
  store_.db->fail_appends = false;
  EXPECT_EQ(src->poll(clock_.now()), at("2023-11-14T22:20:00Z"));
  EXPECT_EQ(store_.events().size(), 1u);
}

TEST_F(calendar, go_time_string_matches_go_format) {
  EXPECT_EQ(eventsources::go_time_string(at("2024-07-01T12:00:00Z") + 1500ms, "Europe/Paris"),
            "2024-07-01 14:00:01.5 +0200 CEST");
}

TEST_F(calendar, go_time_string_in_utc_has_gos_layout_and_trims_the_fraction) {
  EXPECT_EQ(eventsources::go_time_string(at("2024-02-29T23:59:59Z"), "UTC"),
            "2024-02-29 23:59:59 +0000 UTC");
  EXPECT_EQ(eventsources::go_time_string(at("1999-12-31T00:00:00Z") + 1ms, "UTC"),
            "1999-12-31 00:00:00.001 +0000 UTC");
  EXPECT_EQ(eventsources::go_time_string(at("2024-07-01T09:05:03Z") + 120ms, "UTC"),
            "2024-07-01 09:05:03.12 +0000 UTC");
  // The same as the zone database path gives for a zone at UTC.
  EXPECT_EQ(eventsources::go_time_string(at("2024-07-01T09:05:03Z") + 120ms, "Etc/UTC"),
            "2024-07-01 09:05:03.12 +0000 UTC");
}

using calendar_manager = manager_fixture;

TEST_F(calendar_manager, check_timers_fires_due_calendar_events) {
  start();
  apply(R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: nightly
spec:
  calendar:
    every-minute:
      schedule: "* * * * *"
      metadata: {kind: etl}
)");
  ASSERT_TRUE(manager_->errors().empty());
  manager_->check_timers();
  EXPECT_TRUE(store_.events().empty());
  clock_.advance(std::chrono::minutes(1));
  manager_->check_timers();
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].source, "nightly");
  EXPECT_EQ(events[0].subject, "every-minute");
  EXPECT_EQ(events[0].body["data"]["metadata"]["kind"], "etl");
  EXPECT_EQ(committed_.load(), 1);
}

TEST_F(calendar_manager, journal_retention_keeps_the_newest) {
  eventsources::manager_settings s;
  s.journal_max_age = std::chrono::hours(1);
  s.journal_keep_last = 1;
  start(s);
  for (int i = 0; i < 3; ++i) {
    auto e =
        eventsources::make_event({"default", "x", "y", "webhook"}, "e" + std::to_string(i),
                                 clock_.now() - std::chrono::hours(5), nlohmann::json::object());
    ASSERT_TRUE(store_.db->append_event(std::move(e)).ok());
  }
  manager_->trim_journal();
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "e2");
}

}  // namespace
}  // namespace kairos::testing
