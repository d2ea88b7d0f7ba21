// DST rules on the spring-forward and fall-back days of zones with 1-hour,
// 30-minute (Lord Howe) and 45-minute-offset (Chatham) transitions, half-hour
// offsets (St John's), and the southern hemisphere (Sydney, Santiago).
#include <gtest/gtest.h>

#include "schedule_test_util.hpp"

namespace kairos::cron {
namespace {

using testing::fires;
using testing::strings;

// --- Europe/Berlin: 2024-03-31 02:00->03:00 at 01:00Z; 2024-10-27 03:00->02:00 at 01:00Z.

TEST(cron_dst_berlin, gap_wall_time_fires_once_at_the_end_of_the_gap) {
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z", 2),
            (strings{"2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"}));
}

TEST(cron_dst_berlin, several_gap_wall_times_collapse_into_one_fire) {
  EXPECT_EQ(fires("*/15 2 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z", 2),
            (strings{"2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z"}));
  // 03:00 itself coincides with the end of the gap: still one fire.
  EXPECT_EQ(fires("0,30 2,3 * * *", "Europe/Berlin", "2024-03-30T12:00:00Z", 3),
            (strings{"2024-03-31T01:00:00Z", "2024-03-31T01:30:00Z", "2024-04-01T00:00:00Z"}));
}

TEST(cron_dst_berlin, star_hour_skips_gap_wall_times) {
  EXPECT_EQ(fires("30 * * * *", "Europe/Berlin", "2024-03-30T23:00:00Z", 3),
            (strings{"2024-03-30T23:30:00Z", "2024-03-31T00:30:00Z", "2024-03-31T01:30:00Z"}));
}

TEST(cron_dst_berlin, repeated_wall_time_fires_at_its_first_occurrence_only) {
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2024-10-26T12:00:00Z", 2),
            (strings{"2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"}));
}

TEST(cron_dst_berlin, star_hour_fires_at_each_real_occurrence_in_the_overlap) {
  EXPECT_EQ(fires("30 * * * *", "Europe/Berlin", "2024-10-26T23:00:00Z", 4),
            (strings{"2024-10-26T23:30:00Z", "2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z",
                     "2024-10-27T02:30:00Z"}));
}

TEST(cron_dst_berlin, start_in_the_second_pass_does_not_refire_the_first) {
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2024-10-27T01:10:00Z", 1),
            (strings{"2024-10-28T01:30:00Z"}));
  EXPECT_EQ(fires("30 * * * *", "Europe/Berlin", "2024-10-27T01:10:00Z", 1),
            (strings{"2024-10-27T01:30:00Z"}));
}

// --- America/New_York: 2024-03-10 02:00->03:00 at 07:00Z; 2024-11-03 02:00->01:00 at 06:00Z.
// These are the cases robfig/cron gets wrong.

TEST(cron_dst_new_york, two_thirty_on_spring_forward_day_fires_once_at_three) {
  EXPECT_EQ(fires("30 2 * * *", "America/New_York", "2024-03-09T12:00:00Z", 2),
            (strings{"2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"}));
}

TEST(cron_dst_new_york, one_thirty_on_fall_back_day_fires_once) {
  EXPECT_EQ(fires("30 1 * * *", "America/New_York", "2024-11-02T12:00:00Z", 2),
            (strings{"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}));
}

TEST(cron_dst_new_york, star_hour_follows_real_time_on_both_days) {
  EXPECT_EQ(fires("0 * * * *", "America/New_York", "2024-11-03T03:30:00Z", 4),
            (strings{"2024-11-03T04:00:00Z", "2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z",
                     "2024-11-03T07:00:00Z"}));
  EXPECT_EQ(fires("*/30 * * * *", "America/New_York", "2024-03-10T06:00:00Z", 3),
            (strings{"2024-03-10T06:30:00Z", "2024-03-10T07:00:00Z", "2024-03-10T07:30:00Z"}));
}

TEST(cron_dst_new_york, hourly_descriptor_follows_real_time) {
  EXPECT_EQ(fires("@hourly", "America/New_York", "2024-11-03T04:30:00Z", 3),
            (strings{"2024-11-03T05:00:00Z", "2024-11-03T06:00:00Z", "2024-11-03T07:00:00Z"}));
}

// --- Australia/Sydney: 2024-04-07 03:00->02:00 at 16:00Z Apr 6; 2024-10-06 02:00->03:00 at
// 16:00Z Oct 5.

TEST(cron_dst_sydney, southern_fall_back_in_april_fires_first_occurrence) {
  EXPECT_EQ(fires("30 2 * * *", "Australia/Sydney", "2024-04-06T00:00:00Z", 2),
            (strings{"2024-04-06T15:30:00Z", "2024-04-07T16:30:00Z"}));
  EXPECT_EQ(fires("0 * * * *", "Australia/Sydney", "2024-04-06T14:30:00Z", 3),
            (strings{"2024-04-06T15:00:00Z", "2024-04-06T16:00:00Z", "2024-04-06T17:00:00Z"}));
}

TEST(cron_dst_sydney, southern_spring_forward_in_october_fires_after_the_gap) {
  EXPECT_EQ(fires("30 2 * * *", "Australia/Sydney", "2024-10-05T00:00:00Z", 2),
            (strings{"2024-10-05T16:00:00Z", "2024-10-06T15:30:00Z"}));
}

// --- Australia/Lord_Howe: a 30-minute shift. 2024-04-07 02:00->01:30 at 15:00Z Apr 6;
// 2024-10-06 02:00->02:30 at 15:30Z Oct 5.

TEST(cron_dst_lord_howe, thirty_minute_gap_fires_at_half_past_two) {
  EXPECT_EQ(fires("15 2 * * *", "Australia/Lord_Howe", "2024-10-05T00:00:00Z", 2),
            (strings{"2024-10-05T15:30:00Z", "2024-10-06T15:15:00Z"}));
}

TEST(cron_dst_lord_howe, thirty_minute_overlap_fires_first_occurrence) {
  EXPECT_EQ(fires("45 1 * * *", "Australia/Lord_Howe", "2024-04-06T00:00:00Z", 2),
            (strings{"2024-04-06T14:45:00Z", "2024-04-07T15:15:00Z"}));
}

TEST(cron_dst_lord_howe, star_hour_follows_real_time) {
  EXPECT_EQ(fires("*/30 * * * *", "Australia/Lord_Howe", "2024-04-06T14:00:00Z", 3),
            (strings{"2024-04-06T14:30:00Z", "2024-04-06T15:00:00Z", "2024-04-06T15:30:00Z"}));
  EXPECT_EQ(fires("*/30 * * * *", "Australia/Lord_Howe", "2024-10-05T14:30:00Z", 3),
            (strings{"2024-10-05T15:00:00Z", "2024-10-05T15:30:00Z", "2024-10-05T16:00:00Z"}));
}

// --- Pacific/Chatham: +12:45/+13:45. 2024-04-07 03:45->02:45 at 14:00Z Apr 6; 2024-09-29
// 02:45->03:45 at 14:00Z Sep 28.

TEST(cron_dst_chatham, gap_wall_time_fires_at_quarter_to_four) {
  EXPECT_EQ(fires("0 3 * * *", "Pacific/Chatham", "2024-09-28T00:00:00Z", 2),
            (strings{"2024-09-28T14:00:00Z", "2024-09-29T13:15:00Z"}));
}

TEST(cron_dst_chatham, overlap_wall_time_fires_first_occurrence) {
  EXPECT_EQ(fires("0 3 * * *", "Pacific/Chatham", "2024-04-06T00:00:00Z", 2),
            (strings{"2024-04-06T13:15:00Z", "2024-04-07T14:15:00Z"}));
}

TEST(cron_dst_chatham, star_hour_follows_real_time) {
  EXPECT_EQ(fires("0 * * * *", "Pacific/Chatham", "2024-04-06T12:00:00Z", 4),
            (strings{"2024-04-06T12:15:00Z", "2024-04-06T13:15:00Z", "2024-04-06T14:15:00Z",
                     "2024-04-06T15:15:00Z"}));
  EXPECT_EQ(fires("0 * * * *", "Pacific/Chatham", "2024-09-28T12:00:00Z", 3),
            (strings{"2024-09-28T12:15:00Z", "2024-09-28T13:15:00Z", "2024-09-28T14:15:00Z"}));
}

// --- America/St_Johns: -3:30/-2:30. 2024-03-10 02:00->03:00 at 05:30Z; 2024-11-03
// 02:00->01:00 at 04:30Z.

TEST(cron_dst_st_johns, half_hour_offset_gap_and_overlap) {
  EXPECT_EQ(fires("30 2 * * *", "America/St_Johns", "2024-03-09T12:00:00Z", 2),
            (strings{"2024-03-10T05:30:00Z", "2024-03-11T05:00:00Z"}));
  EXPECT_EQ(fires("30 1 * * *", "America/St_Johns", "2024-11-02T12:00:00Z", 2),
            (strings{"2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"}));
}

// --- America/Santiago: transitions at midnight. 2024-04-07 00:00->Apr 6 23:00 at 03:00Z;
// 2024-09-08 00:00->01:00 at 04:00Z.

TEST(cron_dst_santiago, missing_midnight_fires_daily_at_one) {
  EXPECT_EQ(fires("@daily", "America/Santiago", "2024-09-07T12:00:00Z", 2),
            (strings{"2024-09-08T04:00:00Z", "2024-09-09T03:00:00Z"}));
}

TEST(cron_dst_santiago, repeated_late_evening_fires_first_occurrence) {
  EXPECT_EQ(fires("30 23 * * *", "America/Santiago", "2024-04-06T12:00:00Z", 2),
            (strings{"2024-04-07T02:30:00Z", "2024-04-08T03:30:00Z"}));
}

}  // namespace
}  // namespace kairos::cron
