#pragma once

// Cron expressions with robfig/cron's syntax and kairos's DST rules.
//
// Syntax: five fields (minute hour day-of-month month day-of-week) with
// ranges, steps, lists, names, `?`, day-of-week 0-7; descriptors @yearly
// @annually @monthly @weekly @daily @midnight @hourly and `@every <Go
// duration>`; prefixes `CRON_TZ=Zone ` and `TZ=Zone `.
//
// DST: a schedule whose hour field is `*` follows real time (skipped wall
// times do not fire; repeated ones fire at each occurrence). Any other
// schedule fires a wall time inside a gap once, at the first instant after
// the gap, and a repeated wall time only at its first occurrence.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kairos/core/result.hpp"

namespace date {
class time_zone;
}

namespace kairos::cron {

using time_point = std::chrono::system_clock::time_point;

class schedule {
 public:
  // `default_zone` applies unless the spec has a CRON_TZ=/TZ= prefix; empty
  // means the machine's zone. Errors name the field and its allowed range,
  // e.g. "hour field \"25\": value 25 out of range 0-23".
  static result<schedule> parse(std::string_view spec, std::string_view default_zone = "UTC");

  // The first fire time strictly after `after`, or nullopt when there is none
  // within five years (robfig/cron's bound).
  std::optional<time_point> next(time_point after) const;
  // Up to n fire times strictly after `after`.
  std::vector<time_point> next_n(time_point after, std::size_t n) const;

  const std::string& text() const;
  const date::time_zone* zone() const;

  schedule(const schedule&);
  schedule(schedule&&) noexcept;
  schedule& operator=(const schedule&);
  schedule& operator=(schedule&&) noexcept;
  ~schedule();

  struct impl;

 private:
  explicit schedule(std::shared_ptr<const impl> p);
  std::shared_ptr<const impl> impl_;
};

}  // namespace kairos::cron
