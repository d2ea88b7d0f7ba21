#include "kairos/core/text.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>

#include <date/date.h>
#include <gtest/gtest.h>

namespace kairos {
namespace {

TEST(edit_distance, counts_insertions_deletions_and_substitutions) {
  EXPECT_EQ(edit_distance("entrypoint", "entrypoint"), 0u);
  EXPECT_EQ(edit_distance("entrypont", "entrypoint"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(closest_match, suggests_a_near_candidate_and_nothing_for_a_far_one) {
  const std::array<std::string_view, 3> fields{"entrypoint", "templates", "arguments"};
  EXPECT_EQ(closest_match("entrypont", fields), "entrypoint");
  EXPECT_EQ(closest_match("templtes", fields), "templates");
  EXPECT_EQ(closest_match("zzz", fields), std::nullopt);
}

TEST(rfc3339, formats_utc_and_parses_offsets_back) {
  using namespace std::chrono;
  const auto t = sys_days{year{2026} / 3 / 29} + hours{1} + minutes{30};
  EXPECT_EQ(format_rfc3339(t), "2026-03-29T01:30:00Z");
  EXPECT_EQ(parse_rfc3339("2026-03-29T01:30:00Z"), t);
  EXPECT_EQ(parse_rfc3339("2026-03-29T03:30:00+02:00"), t);
  EXPECT_EQ(parse_rfc3339("yesterday"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("2026-03-29T01:30:00Z trailing"), std::nullopt);
}

// What format_rfc3339 and parse_rfc3339 did through date's streams; their
// fast paths must agree with it everywhere.
std::optional<std::chrono::system_clock::time_point> reference_parse(const std::string& s) {
  for (const char* fmt : {"%FT%T%Ez", "%FT%TZ", "%FT%T%z"}) {
    std::istringstream in(s);
    date::sys_time<std::chrono::microseconds> tp;
    in >> date::parse(fmt, tp);
    if (!in.fail()) {
      in.peek();
      if (in.eof()) {
        // Outside system_clock's range there is no time_point to give.
        using namespace std::chrono;
        if (tp <= time_point_cast<microseconds>(system_clock::time_point::min()) ||
            tp >= time_point_cast<microseconds>(system_clock::time_point::max()))
          return std::nullopt;
        return time_point_cast<system_clock::duration>(tp);
      }
    }
  }
  return std::nullopt;
}

TEST(rfc3339, format_and_parse_agree_with_date_streams_on_generated_times) {
  using namespace std::chrono;
  std::mt19937_64 rng(20261201);
  // system_clock counts nanoseconds in 64 bits: about 1678 to 2261.
  const std::int64_t lo = -9'000'000'000LL;
  const std::int64_t hi = 9'000'000'000LL;
  std::uniform_int_distribution<std::int64_t> secs(lo, hi);
  std::uniform_int_distribution<int> us(0, 999999), off(-14 * 60, 14 * 60), pick(0, 5);
  for (int i = 0; i < 20000; ++i) {
    const sys_seconds t{seconds(secs(rng))};
    const auto text = format_rfc3339(t + microseconds(us(rng)));
    ASSERT_EQ(text, date::format("%FT%TZ", t)) << i;
    ASSERT_EQ(parse_rfc3339(text), reference_parse(text)) << text;
    // The same instant with a fraction and an offset, in each spelling.
    const int o = off(rng);
    const auto local = t + minutes(o);
    std::string frac;
    const int digits = pick(rng);
    if (digits > 0) frac = "." + std::to_string(us(rng) + 1000000).substr(1, digits);
    char zone[8];
    std::snprintf(zone, sizeof zone, pick(rng) % 2 ? "%c%02d:%02d" : "%c%02d%02d",
                  o < 0 ? '-' : '+', std::abs(o) / 60, std::abs(o) % 60);
    const auto spelled = date::format("%FT%T", local) + frac + zone;
    ASSERT_EQ(parse_rfc3339(spelled), reference_parse(spelled)) << spelled;
  }
}

TEST(rfc3339, odd_spellings_parse_as_date_streams_parse_them) {
  for (const char* s :
       {"2024-02-29T12:00:00Z",         "2023-02-29T12:00:00Z",       "2024-04-31T00:00:00Z",
        "2024-05-01T24:00:00Z",         "2024-05-01T23:60:00Z",       "2024-05-01T23:59:60Z",
        "2024-05-01T10:00:00z",         "2024-05-01t10:00:00Z",       "2024-05-01T10:00:00.Z",
        "2024-05-01T10:00:00.1234567Z", "2024-05-01T10:00:00+0530",   "2024-05-01T10:00:00+05:3",
        "2024-05-01T10:00:00+05",       "2024-05-01T10:00:00 +05:00", "2024-5-1T10:00:00Z",
        "2024-05-01T1:00:00Z",          "+2024-05-01T10:00:00Z",      "2024-05-01T10:00:00-00:00",
        "2024-05-01T10:00:00+99:00",    "2024-05-01T10:00:00+05:99",  "2024-05-01T10:00Z",
        "0000-01-01T00:00:00Z",         "1600-01-01T00:00:00Z",       "2300-01-01T00:00:00Z",
        "1600-01-01T00:00:00.5+01:00",  "2024-05-01T10:00:00Z\n",     ""}) {
    EXPECT_EQ(parse_rfc3339(s), reference_parse(s)) << s;
  }
}

TEST(rfc3339, times_outside_the_system_clock_are_not_parsed) {
  EXPECT_EQ(parse_rfc3339("0000-01-01T00:00:00Z"), std::nullopt);
  EXPECT_EQ(parse_rfc3339("9999-12-31T23:59:59Z"), std::nullopt);
  EXPECT_NE(parse_rfc3339("2261-01-01T00:00:00Z"), std::nullopt);
}

TEST(random_names, suffix_and_uuid_have_the_expected_shape) {
  EXPECT_TRUE(std::regex_match(random_suffix(5), std::regex("[a-z0-9]{5}")));
  EXPECT_TRUE(std::regex_match(
      random_uuid(),
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_NE(random_uuid(), random_uuid());
}

TEST(random_names, time_ordered_uuids_carry_the_milliseconds_and_sort_by_time) {
  const auto t = *parse_rfc3339("2026-03-29T01:30:00.123Z");
  const auto id = time_ordered_uuid(t);
  EXPECT_TRUE(std::regex_match(
      id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  // 1774747800123 ms is 0x019d3736523b.
  EXPECT_EQ(id.substr(0, 13), "019d3736-523b");
  EXPECT_LT(time_ordered_uuid(t), time_ordered_uuid(t + std::chrono::milliseconds(1)));
  EXPECT_NE(time_ordered_uuid(t), time_ordered_uuid(t));
}

TEST(utf8, well_formed_text_is_kept_and_has_no_invalid_offset) {
  const std::string text = "plain, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  EXPECT_EQ(invalid_utf8_offset(text), std::string_view::npos);
  EXPECT_EQ(to_valid_utf8(text), text);
  EXPECT_EQ(invalid_utf8_offset(""), std::string_view::npos);
}

TEST(utf8, each_byte_outside_a_well_formed_sequence_becomes_a_replacement_character) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct bad_case {
    std::string text;
    std::size_t offset;
    std::string valid;
  };
  const bad_case cases[] = {
      {"caf\xE9", 3, "caf" + fffd},                        // Latin-1
      {"ab\xC3", 2, "ab" + fffd},                          // cut at the end
      {"\xE2\x82", 0, fffd + fffd},                        // cut three-byte sequence
      {"\xC0\x80x", 0, fffd + fffd + "x"},                 // overlong NUL
      {"\xE0\x80\xAF", 0, fffd + fffd + fffd},             // overlong '/'
      {"\xED\xA0\x80", 0, fffd + fffd + fffd},             // a UTF-16 surrogate
      {"\xF4\x90\x80\x80", 0, fffd + fffd + fffd + fffd},  // past U+10FFFF
      {"ok\xFF\xC3\xA9", 2, "ok" + fffd + "\xC3\xA9"},     // a good one after a bad one
      {"\x80", 0, fffd},                                   // a lone continuation byte
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(invalid_utf8_offset(c.text), c.offset);
    EXPECT_EQ(to_valid_utf8(c.text), c.valid);
    EXPECT_EQ(invalid_utf8_offset(to_valid_utf8(c.text)), std::string_view::npos);
  }
}

}  // namespace
}  // namespace kairos
