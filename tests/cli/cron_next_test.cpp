// `kairos cron next`, through the function the command runs.
#include <sstream>

#include <gtest/gtest.h>

#include "commands/cron_next.hpp"
#include "kairos/core/text.hpp"

namespace kairos::cli {
namespace {

struct run_result {
  int code;
  std::string out;
  std::string err;
};

const auto fixed_now = *parse_rfc3339("2024-01-01T00:00:00Z");

run_result run(const cron_next_options& o, const std::string& input = "") {
  std::istringstream in(input);
  std::ostringstream out;
  std::ostringstream err;
  int code = run_cron_next(o, in, out, err, fixed_now);
  return {code, out.str(), err.str()};
}

cron_next_options opts(std::string spec, std::string tz = "UTC", std::string from = "",
                       std::size_t n = 5) {
  cron_next_options o;
  o.spec = std::move(spec);
  o.timezone = std::move(tz);
  o.from = std::move(from);
  o.count = n;
  return o;
}

TEST(cron_next_command, prints_n_utc_times_strictly_after_from) {
  auto r = run(opts("30 2 * * *", "America/New_York", "2024-03-09T07:30:00Z", 3));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "2024-03-10T07:00:00Z\n2024-03-11T06:30:00Z\n2024-03-12T06:30:00Z\n");
  EXPECT_EQ(r.err, "");
}

TEST(cron_next_command, default_start_is_now_and_default_count_is_five) {
  auto r = run(opts("@daily"));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out,
            "2024-01-02T00:00:00Z\n2024-01-03T00:00:00Z\n2024-01-04T00:00:00Z\n"
            "2024-01-05T00:00:00Z\n2024-01-06T00:00:00Z\n");
}

TEST(cron_next_command, from_accepts_offsets_and_fractions) {
  auto r = run(opts("0 * * * *", "UTC", "2024-01-01T10:59:59.999+09:00", 1));
  EXPECT_EQ(r.out, "2024-01-01T02:00:00Z\n");
  auto lower = run(opts("0 * * * *", "UTC", "2024-01-01t01:00:00z", 1));
  EXPECT_EQ(lower.out, "2024-01-01T02:00:00Z\n");
}

TEST(cron_next_command, invalid_spec_exits_one_with_the_error) {
  auto r = run(opts("0 25 * * *"));
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "kairos: hour field \"25\": value 25 out of range 0-23\n");
}

TEST(cron_next_command, invalid_zone_and_start_exit_one) {
  auto zone = run(opts("0 0 * * *", "Mars/Olympus"));
  EXPECT_EQ(zone.code, 1);
  EXPECT_EQ(zone.err, "kairos: unknown time zone \"Mars/Olympus\"\n");
  auto from = run(opts("0 0 * * *", "UTC", "yesterday"));
  EXPECT_EQ(from.code, 1);
  EXPECT_NE(from.err.find("not an RFC 3339 time"), std::string::npos);
  cron_next_options none;
  EXPECT_EQ(run(none).code, 1);
}

TEST(cron_next_command, five_year_give_up_prints_what_was_found) {
  auto r = run(opts("0 0 29 2 *", "UTC", "2092-03-01T00:00:00Z", 3));
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "2096-02-29T00:00:00Z\n");
  EXPECT_EQ(r.err, "kairos: no further fire time within five years after 2096-02-29T00:00:00Z\n");
}

TEST(cron_next_command, batch_prints_one_result_line_per_input_line) {
  cron_next_options o;
  o.batch = true;
  o.timezone = "UTC";
  o.count = 2;
  auto r = run(o,
               "30 2 * * *\tAmerica/New_York\t2024-03-09T07:30:00Z\t2\n"
               "0 25 * * *\tUTC\t2024-01-01T00:00:00Z\t1\n"
               "@hourly\t\t\t\n"
               "0 0 30 2 *\tUTC\t2024-01-01T00:00:00Z\t3\n"
               "only one column\n"
               "0 0 * * *\tUTC\t2024-01-01T00:00:00Z\tmany\r\n"
               "@daily\tNo/Where\t\t1\n");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out,
            "ok\t2024-03-10T07:00:00Z,2024-03-11T06:30:00Z\n"
            "err\thour field \"25\": value 25 out of range 0-23\n"
            "ok\t2024-01-01T01:00:00Z,2024-01-01T02:00:00Z\n"
            "ok\t\n"
            "err\texpected 4 tab-separated columns (SPEC, TZ, FROM, N), found 1\n"
            "err\tcount \"many\" must be a number from 1 to 100000\n"
            "err\tunknown time zone \"No/Where\"\n");
}

}  // namespace
}  // namespace kairos::cli
