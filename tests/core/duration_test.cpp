// Go duration syntax as Argo manifests write it.
#include "kairos/core/duration.hpp"

#include <chrono>
#include <limits>

#include <gtest/gtest.h>

namespace kairos {
namespace {

using namespace std::chrono_literals;

std::chrono::nanoseconds parsed(std::string_view text) {
  auto r = parse_go_duration(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.error().message;
  return r.ok() ? *r : std::chrono::nanoseconds{-1};
}

TEST(go_duration, single_units_parse_to_their_length) {
  EXPECT_EQ(parsed("30s"), 30s);
  EXPECT_EQ(parsed("1m"), 1min);
  EXPECT_EQ(parsed("2h"), 2h);
  EXPECT_EQ(parsed("300ms"), 300ms);
  EXPECT_EQ(parsed("5us"), 5us);
  EXPECT_EQ(parsed("5\xC2\xB5s"), 5us);
  EXPECT_EQ(parsed("7ns"), 7ns);
}

TEST(go_duration, units_combine_and_fractions_scale) {
  EXPECT_EQ(parsed("2h45m"), 2h + 45min);
  EXPECT_EQ(parsed("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(parsed("1.5h"), 90min);
  EXPECT_EQ(parsed(".5s"), 500ms);
  EXPECT_EQ(parsed("1.s"), 1s);
}

TEST(go_duration, sign_and_bare_zero_are_accepted) {
  EXPECT_EQ(parsed("0"), 0ns);
  EXPECT_EQ(parsed("-1.5s"), -1500ms);
  EXPECT_EQ(parsed("+10m"), 10min);
}

TEST(go_duration, malformed_text_is_rejected_with_the_reason) {
  for (const char* bad : {"", "30", "s", "1x", "1.5", ".s", "-", "1h 2m", "1d"}) {
    auto r = parse_go_duration(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = parse_go_duration("5d");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_EQ(r.error().message,
            "invalid duration '5d': unknown unit 'd' (one of ns, us, ms, s, m, h)");
  EXPECT_EQ(parse_go_duration("10").error().message,
            "invalid duration '10': missing unit (one of ns, us, ms, s, m, h)");
}

TEST(go_duration, values_beyond_int64_nanoseconds_are_out_of_range) {
  EXPECT_EQ(parsed("2562047h47m16.854775807s"), std::chrono::nanoseconds::max());
  EXPECT_FALSE(parse_go_duration("2562048h").ok());
  EXPECT_FALSE(parse_go_duration("99999999999999999999s").ok());
  EXPECT_EQ(parsed("-9223372036854775808ns"),
            std::chrono::nanoseconds{std::numeric_limits<std::int64_t>::min()});
  EXPECT_FALSE(parse_go_duration("9223372036854775808ns").ok());
}

TEST(argo_duration, bare_integer_counts_seconds) {
  auto r = parse_argo_duration("30");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 30s);
  auto d = parse_argo_duration("1m30s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, 90s);
  EXPECT_FALSE(parse_argo_duration("thirty").ok());
  EXPECT_FALSE(parse_argo_duration("99999999999999999999").ok());
}

TEST(go_duration, formats_as_go_prints_it) {
  EXPECT_EQ(format_go_duration(0ns), "0s");
  EXPECT_EQ(format_go_duration(1500ms), "1.5s");
  EXPECT_EQ(format_go_duration(2h + 45min), "2h45m0s");
  EXPECT_EQ(format_go_duration(-90s), "-1m30s");
  EXPECT_EQ(format_go_duration(250ms), "250ms");
  EXPECT_EQ(format_go_duration(12ns), "12ns");
  EXPECT_EQ(format_go_duration(std::chrono::nanoseconds{std::numeric_limits<std::int64_t>::min()}),
            "-2562047h47m16.854775808s");
}

}  // namespace
}  // namespace kairos
