#pragma once

// The parsed form of a five-field cron expression, shared by the parser and
// the next-fire search. Private to kairos_cron.

#include <cstdint>
#include <string_view>

#include "kairos/core/result.hpp"

namespace kairos::cron::detail {

struct fields {
  std::uint64_t minute = 0;  // bits 0-59
  std::uint32_t hour = 0;    // bits 0-23
  std::uint32_t dom = 0;     // bits 1-31
  std::uint32_t month = 0;   // bits 1-12
  std::uint32_t dow = 0;     // bits 0-6 (7 is folded onto 0, Sunday)
  // robfig/cron's "star bit": the field was `*` or `?` with a step of at
  // most 1. When either day field has it, both day fields must match;
  // otherwise either may.
  bool dom_star = false;
  bool dow_star = false;
};

constexpr std::uint32_t all_hours = (1u << 24) - 1;

// Parses exactly five whitespace-separated fields (no descriptor, no zone
// prefix). Errors name the field and its allowed range.
result<fields> parse_fields(std::string_view text);

// The five-field form of a descriptor (@daily, ...) other than @every, or an
// empty view when `name` (without the @, any case) is not one.
std::string_view descriptor_expansion(std::string_view name);

}  // namespace kairos::cron::detail
