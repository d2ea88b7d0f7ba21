#include "kairos/core/text.hpp"

#include <array>
#include <regex>

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

}  // namespace
}  // namespace kairos
