// The expression syntax: what parses, what it means, and the errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <date/tz.h>

#include "schedule_test_util.hpp"

namespace kairos::cron {
namespace {

using testing::fires;
using ::testing::HasSubstr;
using testing::parse_error;
using testing::strings;

constexpr auto from = "2024-01-01T00:00:00Z";  // a Monday

TEST(cron_schedule, plain_value_fires_at_that_minute_each_day) {
  EXPECT_EQ(fires("30 4 * * *", "UTC", from, 2),
            (strings{"2024-01-01T04:30:00Z", "2024-01-02T04:30:00Z"}));
}

TEST(cron_schedule, ranges_lists_and_steps_combine) {
  EXPECT_EQ(fires("0,15-16,50-59/5 10 * * *", "UTC", from, 5),
            (strings{"2024-01-01T10:00:00Z", "2024-01-01T10:15:00Z", "2024-01-01T10:16:00Z",
                     "2024-01-01T10:50:00Z", "2024-01-01T10:55:00Z"}));
}

TEST(cron_schedule, star_step_starts_at_the_field_minimum) {
  EXPECT_EQ(fires("*/20 0 * * *", "UTC", from, 3),
            (strings{"2024-01-01T00:20:00Z", "2024-01-01T00:40:00Z", "2024-01-02T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 */10 * *", "UTC", from, 4),
            (strings{"2024-01-11T00:00:00Z", "2024-01-21T00:00:00Z", "2024-01-31T00:00:00Z",
                     "2024-02-01T00:00:00Z"}));
}

TEST(cron_schedule, single_value_with_step_runs_to_the_field_maximum) {
  // `45/5` is 45-59/5, not just 45.
  EXPECT_EQ(fires("45/5 1 * * *", "UTC", from, 4),
            (strings{"2024-01-01T01:45:00Z", "2024-01-01T01:50:00Z", "2024-01-01T01:55:00Z",
                     "2024-01-02T01:45:00Z"}));
}

TEST(cron_schedule, question_mark_means_any) {
  EXPECT_EQ(fires("0 12 ? * ?", "UTC", from, 2), fires("0 12 * * *", "UTC", from, 2));
}

TEST(cron_schedule, month_and_day_names_are_case_insensitive) {
  EXPECT_EQ(fires("0 0 1 Feb,MAR,apr *", "UTC", from, 3),
            (strings{"2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z", "2024-04-01T00:00:00Z"}));
  // 2024-01-05 is a Friday.
  EXPECT_EQ(fires("0 0 * * FRI-sun", "UTC", from, 4),
            (strings{"2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z",
                     "2024-01-12T00:00:00Z"}));
}

TEST(cron_schedule, day_of_week_seven_is_sunday) {
  EXPECT_EQ(fires("0 0 * * 7", "UTC", from, 2), fires("0 0 * * 0", "UTC", from, 2));
  EXPECT_EQ(fires("0 0 * * 5-7", "UTC", from, 3), fires("0 0 * * fri-sun", "UTC", from, 3));
}

TEST(cron_schedule, dom_and_dow_are_ored_when_both_restricted) {
  // The 13th, or any Friday.
  EXPECT_EQ(fires("0 0 13 * 5", "UTC", from, 4),
            (strings{"2024-01-05T00:00:00Z", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z",
                     "2024-01-19T00:00:00Z"}));
}

TEST(cron_schedule, dom_and_dow_are_anded_when_one_is_star) {
  EXPECT_EQ(fires("0 0 13 * *", "UTC", from, 2),
            (strings{"2024-01-13T00:00:00Z", "2024-02-13T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 * * 5", "UTC", from, 2),
            (strings{"2024-01-05T00:00:00Z", "2024-01-12T00:00:00Z"}));
  // `?` and `*/1` count as unrestricted too.
  EXPECT_EQ(fires("0 0 13 * ?", "UTC", from, 1), (strings{"2024-01-13T00:00:00Z"}));
  EXPECT_EQ(fires("0 0 */1 * 5", "UTC", from, 1), (strings{"2024-01-05T00:00:00Z"}));
}

TEST(cron_schedule, star_with_step_counts_as_restricted) {
  // `*/10` is restricted, so Friday OR day 1,11,21,31 fires: robfig's rule.
  EXPECT_EQ(fires("0 0 */10 * 5", "UTC", from, 4),
            (strings{"2024-01-05T00:00:00Z", "2024-01-11T00:00:00Z", "2024-01-12T00:00:00Z",
                     "2024-01-19T00:00:00Z"}));
}

TEST(cron_schedule, descriptors_expand_to_their_five_field_form) {
  EXPECT_EQ(fires("@yearly", "UTC", from, 2),
            (strings{"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}));
  EXPECT_EQ(fires("@annually", "UTC", from, 1), fires("@yearly", "UTC", from, 1));
  EXPECT_EQ(fires("@monthly", "UTC", from, 1), (strings{"2024-02-01T00:00:00Z"}));
  EXPECT_EQ(fires("@weekly", "UTC", from, 1), (strings{"2024-01-07T00:00:00Z"}));
  EXPECT_EQ(fires("@daily", "UTC", from, 1), (strings{"2024-01-02T00:00:00Z"}));
  EXPECT_EQ(fires("@midnight", "UTC", from, 1), (strings{"2024-01-02T00:00:00Z"}));
  EXPECT_EQ(fires("@hourly", "UTC", from, 1), (strings{"2024-01-01T01:00:00Z"}));
  EXPECT_EQ(fires("@DAILY", "UTC", from, 1), (strings{"2024-01-02T00:00:00Z"}));
}

TEST(cron_schedule, every_counts_fixed_intervals_from_the_start_truncated_to_the_second) {
  EXPECT_EQ(fires("@every 1h30m", "UTC", "2024-01-01T00:00:10.7Z", 2),
            (strings{"2024-01-01T01:30:10Z", "2024-01-01T03:00:10Z"}));
  // Below one second rounds up to a second, as robfig/cron does.
  EXPECT_EQ(fires("@every 300ms", "UTC", from, 2),
            (strings{"2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z"}));
  EXPECT_EQ(fires("@every 1.5s", "UTC", from, 1), (strings{"2024-01-01T00:00:01Z"}));
}

TEST(cron_schedule, zone_prefixes_override_the_default_zone) {
  // Tokyo is UTC+9 all year.
  EXPECT_EQ(fires("CRON_TZ=Asia/Tokyo 0 9 * * *", "America/New_York", from, 1),
            (strings{"2024-01-02T00:00:00Z"}));
  EXPECT_EQ(fires("TZ=Asia/Tokyo 0 10 * * *", "UTC", from, 1), (strings{"2024-01-01T01:00:00Z"}));
  EXPECT_EQ(fires("CRON_TZ=Asia/Tokyo @daily", "UTC", from, 1), (strings{"2024-01-01T15:00:00Z"}));
  auto s = schedule::parse("CRON_TZ=Asia/Tokyo 0 9 * * *", "UTC");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->zone()->name(), "Asia/Tokyo");
  EXPECT_EQ(s->text(), "CRON_TZ=Asia/Tokyo 0 9 * * *");
}

TEST(cron_schedule, default_zone_applies_without_a_prefix) {
  auto s = schedule::parse("0 9 * * *", "Asia/Kolkata");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->zone()->name(), "Asia/Kolkata");
  EXPECT_EQ(fires("0 9 * * *", "Asia/Kolkata", from, 1), (strings{"2024-01-01T03:30:00Z"}));
}

TEST(cron_schedule, extra_whitespace_between_fields_is_accepted) {
  EXPECT_EQ(fires("  0\t12  *  * *  ", "UTC", from, 1), (strings{"2024-01-01T12:00:00Z"}));
}

TEST(cron_schedule, next_is_strictly_after_the_start) {
  EXPECT_EQ(fires("0 12 * * *", "UTC", "2024-01-01T12:00:00Z", 1),
            (strings{"2024-01-02T12:00:00Z"}));
  EXPECT_EQ(fires("* * * * *", "UTC", "2024-01-01T12:00:00.5Z", 1),
            (strings{"2024-01-01T12:01:00Z"}));
}

TEST(cron_schedule, leap_day_schedule_waits_for_a_leap_year) {
  EXPECT_EQ(fires("0 0 29 2 *", "UTC", "2024-03-01T00:00:00Z", 2),
            (strings{"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}));
}

TEST(cron_schedule, gives_up_after_five_years_without_a_fire_time) {
  EXPECT_EQ(fires("0 0 30 2 *", "UTC", from, 3), strings{});
  EXPECT_EQ(fires("0 0 31 4 *", "America/New_York", from, 1), strings{});
  auto s = schedule::parse("0 0 30 2 *");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->next(testing::at(from)).has_value());
}

TEST(cron_schedule, next_n_stops_at_the_five_year_bound) {
  // 2100 is not a leap year: after 2096 the next Feb 29 is in 2104, more than
  // five years on, so only the times found so far come back.
  EXPECT_EQ(fires("0 0 29 2 *", "UTC", "2092-03-01T00:00:00Z", 3),
            (strings{"2096-02-29T00:00:00Z"}));
}

TEST(cron_schedule, start_outside_the_representable_range_has_no_next_time) {
  auto s = schedule::parse("* * * * *");
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->next(time_point::max()).has_value());
  EXPECT_FALSE(s->next(time_point::min()).has_value());
  auto every = schedule::parse("@every 2562047h");
  ASSERT_TRUE(every);
  EXPECT_FALSE(every->next(testing::at(from)).has_value());
}

TEST(cron_schedule, copies_share_the_parsed_schedule) {
  auto s = schedule::parse("0 12 * * *");
  ASSERT_TRUE(s);
  schedule copy = *s;
  schedule moved = std::move(copy);
  EXPECT_EQ(moved.next(testing::at(from)), s->next(testing::at(from)));
  EXPECT_EQ(moved.text(), "0 12 * * *");
}

TEST(cron_schedule_errors, value_out_of_range_names_field_and_range) {
  EXPECT_EQ(parse_error("0 25 * * *"), "hour field \"25\": value 25 out of range 0-23");
  EXPECT_EQ(parse_error("60 0 * * *"), "minute field \"60\": value 60 out of range 0-59");
  EXPECT_EQ(parse_error("0 0 0 * *"), "day-of-month field \"0\": value 0 out of range 1-31");
  EXPECT_EQ(parse_error("0 0 1 13 *"), "month field \"13\": value 13 out of range 1-12 or JAN-DEC");
  EXPECT_EQ(parse_error("0 0 * * 8"),
            "day-of-week field \"8\": value 8 out of range 0-7 or SUN-SAT");
  EXPECT_EQ(parse_error("0 0 1-32 * *"), "day-of-month field \"1-32\": value 32 out of range 1-31");
  EXPECT_EQ(parse_error("70/5 * * * *"), "minute field \"70/5\": value 70 out of range 0-59");
}

TEST(cron_schedule_errors, malformed_fields_are_explained) {
  EXPECT_THAT(parse_error("0 5-3 * * *"), HasSubstr("hour field \"5-3\": range start 5 is after"));
  EXPECT_THAT(parse_error("*/0 * * * *"), HasSubstr("minute field \"*/0\": step must be"));
  EXPECT_THAT(parse_error("*/x * * * *"), HasSubstr("not a positive number"));
  EXPECT_THAT(parse_error("1/ * * * *"), HasSubstr("missing step"));
  EXPECT_THAT(parse_error("1/2/3 * * * *"), HasSubstr("too many '/'"));
  EXPECT_THAT(parse_error("1-2-3 * * * *"), HasSubstr("too many '-'"));
  EXPECT_THAT(parse_error("1,,2 * * * *"), HasSubstr("empty list item"));
  EXPECT_THAT(parse_error("-5 * * * *"), HasSubstr("minute field \"-5\": missing range start"));
  EXPECT_EQ(parse_error("0 0 * foo *"),
            "month field \"foo\": \"foo\" is not a number or name (allowed 1-12 or JAN-DEC)");
  EXPECT_EQ(parse_error("0 0 L * *"),
            "day-of-month field \"L\": \"L\" is not a number (allowed 1-31)");
  EXPECT_THAT(parse_error("0 0 * * mon#2"), HasSubstr("day-of-week field"));
  // Names belong to their own field only.
  EXPECT_THAT(parse_error("0 0 * mon *"), HasSubstr("month field"));
  EXPECT_THAT(parse_error("0 0 * * jan"), HasSubstr("day-of-week field"));
}

TEST(cron_schedule_errors, wrong_field_count_is_reported) {
  EXPECT_EQ(parse_error("0 0 * *"),
            "expected 5 fields (minute hour day-of-month month day-of-week), found 4: \"0 0 * *\"");
  EXPECT_THAT(parse_error("0 0 0 * * *"), HasSubstr("found 6"));
  EXPECT_EQ(parse_error(""), "empty cron expression");
  EXPECT_EQ(parse_error("   "), "empty cron expression");
}

TEST(cron_schedule_errors, descriptors_and_every_are_checked) {
  EXPECT_THAT(parse_error("@fortnightly"), HasSubstr("unknown descriptor \"@fortnightly\""));
  EXPECT_THAT(parse_error("@daily 5"), HasSubstr("unexpected text after @daily"));
  EXPECT_THAT(parse_error("@every"), HasSubstr("@every needs a duration"));
  EXPECT_THAT(parse_error("@every soon"), HasSubstr("@every: "));
  EXPECT_THAT(parse_error("@every 0s"), HasSubstr("must be positive"));
  EXPECT_THAT(parse_error("@every -5m"), HasSubstr("must be positive"));
}

TEST(cron_schedule_errors, unknown_zones_are_rejected) {
  EXPECT_EQ(parse_error("0 0 * * *", "Mars/Olympus"), "unknown time zone \"Mars/Olympus\"");
  EXPECT_EQ(parse_error("CRON_TZ=Nowhere/City 0 0 * * *"),
            "unknown time zone \"Nowhere/City\" in the zone prefix");
  EXPECT_THAT(parse_error("CRON_TZ=Europe/Berlin"), HasSubstr("nothing follows"));
  EXPECT_THAT(parse_error("TZ= 0 0 * * *"), HasSubstr("empty time zone"));
}

TEST(cron_schedule, empty_default_zone_means_the_machine_zone) {
  auto s = schedule::parse("0 0 * * *", "");
  ASSERT_TRUE(s);
  EXPECT_NE(s->zone(), nullptr);
}

}  // namespace
}  // namespace kairos::cron
