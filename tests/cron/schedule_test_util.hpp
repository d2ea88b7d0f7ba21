#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "kairos/core/text.hpp"
#include "kairos/cron/schedule.hpp"

namespace kairos::cron::testing {

inline time_point at(std::string_view rfc3339) {
  auto t = parse_rfc3339(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(time_point{});
}

// The next `n` fire times of `spec` in `zone` strictly after `from`, as
// RFC 3339 UTC strings, or one "error: ..." entry.
inline std::vector<std::string> fires(std::string_view spec, std::string_view zone,
                                      std::string_view from, std::size_t n) {
  auto s = schedule::parse(spec, zone);
  if (!s) return {"error: " + s.error().message};
  std::vector<std::string> out;
  for (auto t : s->next_n(at(from), n)) out.push_back(format_rfc3339(t));
  return out;
}

inline std::string parse_error(std::string_view spec, std::string_view zone = "UTC") {
  auto s = schedule::parse(spec, zone);
  if (s) return "parsed";
  return s.error().message;
}

using strings = std::vector<std::string>;

}  // namespace kairos::cron::testing
