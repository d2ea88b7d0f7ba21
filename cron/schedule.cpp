#include "kairos/cron/schedule.hpp"

#include <bit>
#include <cctype>
#include <exception>

#include <date/date.h>
#include <date/tz.h>

#include "fields.hpp"
#include "kairos/core/duration.hpp"

namespace kairos::cron {

using std::chrono::seconds;
using sys_seconds = date::sys_seconds;
using local_seconds = date::local_seconds;

struct schedule::impl {
  std::string text;
  const date::time_zone* zone = nullptr;
  // @every: a fixed interval, whole seconds, at least one.
  seconds interval{0};
  detail::fields f;
  // The hour field covers all 24 hours: the schedule follows real time
  // through DST transitions instead of wall time.
  bool real_time = false;
};

namespace {

// robfig/cron gives up once the search passes the end of the year five years
// after the start.
constexpr int search_years = 5;

// Outside this window a result could not be represented as a
// system_clock::time_point (64-bit nanoseconds), so next() reports none.
constexpr sys_seconds earliest{seconds{-5'000'000'000LL}};  // ~1811
constexpr sys_seconds latest{seconds{9'000'000'000LL}};     // ~2255

struct civil {
  int y;
  unsigned m, d, h, mi;
};

constexpr unsigned days_in_month(int y, unsigned m) {
  constexpr unsigned table[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))) return 29;
  return table[m - 1];
}

civil to_civil(local_seconds t) {
  auto dp = date::floor<date::days>(t);
  date::year_month_day ymd{dp};
  auto rest = std::chrono::duration_cast<seconds>(t - dp).count();
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()), static_cast<unsigned>(rest / 3600),
          static_cast<unsigned>(rest / 60 % 60)};
}

local_seconds from_civil(const civil& c) {
  local_seconds day{date::local_days{date::year{c.y} / date::month{c.m} / date::day{c.d}}};
  return day + std::chrono::hours{c.h} + std::chrono::minutes{c.mi};
}

// The lowest set bit of `bits` at or above `from`, or -1.
int next_bit(std::uint64_t bits, unsigned from) {
  if (from >= 64) return -1;
  auto masked = bits & (~std::uint64_t{0} << from);
  return masked == 0 ? -1 : std::countr_zero(masked);
}

bool day_matches(const detail::fields& f, int y, unsigned m, unsigned d) {
  bool dom = (f.dom >> d) & 1u;
  auto days = date::sys_days{date::year{y} / date::month{m} / date::day{d}};
  unsigned wd = date::weekday{days}.c_encoding();
  bool dow = (f.dow >> wd) & 1u;
  if (f.dom_star || f.dow_star) return dom && dow;
  return dom || dow;
}

// The first wall time at or after `start` (which has no seconds) that the
// fields match, jumping field by field; none once the year passes
// `limit_year`.
std::optional<local_seconds> next_wall(const detail::fields& f, local_seconds start,
                                       int limit_year) {
  civil c = to_civil(start);
  auto next_day = [&c] {
    c.h = 0;
    c.mi = 0;
    if (++c.d > days_in_month(c.y, c.m)) {
      c.d = 1;
      if (++c.m > 12) {
        c.m = 1;
        ++c.y;
      }
    }
  };
  for (;;) {
    if (c.y > limit_year) return std::nullopt;
    if (((f.month >> c.m) & 1u) == 0) {
      int m = next_bit(f.month, c.m + 1);
      if (m < 0 || m > 12) {
        ++c.y;
        m = next_bit(f.month, 1);
      }
      c.m = static_cast<unsigned>(m);
      c.d = 1;
      c.h = 0;
      c.mi = 0;
      continue;
    }
    if (!day_matches(f, c.y, c.m, c.d)) {
      next_day();
      continue;
    }
    if (((f.hour >> c.h) & 1u) == 0) {
      int h = next_bit(f.hour, c.h + 1);
      if (h < 0) {
        next_day();
      } else {
        c.h = static_cast<unsigned>(h);
        c.mi = 0;
      }
      continue;
    }
    if (((f.minute >> c.mi) & 1u) == 0) {
      int mi = next_bit(f.minute, c.mi + 1);
      if (mi < 0 || mi > 59) {
        c.mi = 0;
        if (++c.h == 24) next_day();
      } else {
        c.mi = static_cast<unsigned>(mi);
      }
      continue;
    }
    return from_civil(c);
  }
}

local_seconds ceil_minute(local_seconds t) {
  return date::ceil<std::chrono::minutes>(t);
}

int local_year(local_seconds t) {
  return static_cast<int>(date::year_month_day{date::floor<date::days>(t)}.year());
}

// Hour field `*`: walk the zone's offset periods in real time. Within one
// period local time is UTC plus a constant, so a match there is a real
// instant; wall times skipped by a gap never come up, and wall times repeated
// by an overlap come up once in each period.
std::optional<sys_seconds> next_real_time(const schedule::impl& s, sys_seconds after) {
  sys_seconds t = after + seconds{1};
  const int limit = local_year(s.zone->to_local(after)) + search_years;
  for (;;) {
    auto info = s.zone->get_info(t);
    local_seconds local{t.time_since_epoch() + info.offset};
    auto w = next_wall(s.f, ceil_minute(local), limit);
    if (!w) return std::nullopt;
    sys_seconds candidate{w->time_since_epoch() - info.offset};
    if (candidate < info.end) return candidate;
    t = info.end;
    if (t > latest) return std::nullopt;
  }
}

// Any other hour field: walk wall times. A wall time in a gap fires at the
// first instant after the gap; a repeated wall time at its first occurrence.
// Both mappings are monotonic, so the first mapped instant after `after` is
// the answer.
std::optional<sys_seconds> next_wall_time(const schedule::impl& s, sys_seconds after) {
  local_seconds local = s.zone->to_local(after);
  const int limit = local_year(local) + search_years;
  // A wall time before local(after) can only map before `after` (see above),
  // and local(after) itself maps to `after` or earlier.
  local_seconds w = date::floor<std::chrono::minutes>(local) + std::chrono::minutes{1};
  for (;;) {
    auto found = next_wall(s.f, w, limit);
    if (!found) return std::nullopt;
    auto info = s.zone->get_info(*found);
    sys_seconds t;
    if (info.result == date::local_info::nonexistent) {
      t = info.first.end;
    } else {
      // unique, or ambiguous: `first` is the earlier offset period.
      t = sys_seconds{found->time_since_epoch() - info.first.offset};
    }
    if (t > after) return t;
    w = *found + std::chrono::minutes{1};
  }
}

const date::time_zone* find_zone(std::string_view name) {
  try {
    if (name.empty()) {
      try {
        return date::current_zone();
      } catch (const std::exception&) {
        return date::locate_zone("UTC");
      }
    }
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

schedule::schedule(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
schedule::schedule(const schedule&) = default;
schedule::schedule(schedule&&) noexcept = default;
schedule& schedule::operator=(const schedule&) = default;
schedule& schedule::operator=(schedule&&) noexcept = default;
schedule::~schedule() = default;

result<schedule> schedule::parse(std::string_view spec, std::string_view default_zone) {
  auto p = std::make_shared<impl>();
  p->text = std::string(spec);
  std::string_view rest = trim(spec);
  if (rest.empty()) return make_error(errc::invalid_argument, "empty cron expression");

  std::string_view zone_name = default_zone;
  bool zone_from_prefix = false;
  for (std::string_view prefix : {"CRON_TZ=", "TZ="}) {
    if (rest.substr(0, prefix.size()) != prefix) continue;
    auto space = rest.find_first_of(" \t\n\r\f\v");
    if (space == std::string_view::npos) {
      return make_error(errc::invalid_argument, "nothing follows the " + std::string(prefix) +
                                                    " prefix in \"" + std::string(spec) + "\"");
    }
    zone_name = rest.substr(prefix.size(), space - prefix.size());
    if (zone_name.empty()) {
      return make_error(errc::invalid_argument,
                        "empty time zone in the " + std::string(prefix) + " prefix");
    }
    zone_from_prefix = true;
    rest = trim(rest.substr(space));
    break;
  }
  p->zone = find_zone(zone_name);
  if (p->zone == nullptr) {
    return make_error(errc::invalid_argument, "unknown time zone \"" + std::string(zone_name) +
                                                  "\"" +
                                                  (zone_from_prefix ? " in the zone prefix" : ""));
  }

  std::string_view body = rest;
  if (!rest.empty() && rest.front() == '@') {
    auto word_end = rest.find_first_of(" \t\n\r\f\v");
    auto word = rest.substr(1, word_end == std::string_view::npos ? word_end : word_end - 1);
    auto lowered = std::string(word);
    for (auto& ch : lowered) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lowered == "every") {
      auto arg =
          word_end == std::string_view::npos ? std::string_view{} : trim(rest.substr(word_end));
      if (arg.empty()) {
        return make_error(errc::invalid_argument, "@every needs a duration, e.g. \"@every 1h30m\"");
      }
      auto d = parse_go_duration(arg);
      if (!d) return make_error(errc::invalid_argument, "@every: " + d.error().message);
      if (d->count() <= 0) {
        return make_error(errc::invalid_argument,
                          "@every: duration \"" + std::string(arg) + "\" must be positive");
      }
      // As robfig/cron: whole seconds, at least one.
      p->interval = std::max(seconds{1}, std::chrono::duration_cast<seconds>(*d));
      return schedule(std::move(p));
    }
    if (word_end != std::string_view::npos && !trim(rest.substr(word_end)).empty()) {
      return make_error(errc::invalid_argument, "unexpected text after @" + std::string(word) +
                                                    ": \"" + std::string(rest) + "\"");
    }
    body = detail::descriptor_expansion(word);
    if (body.empty()) {
      return make_error(errc::invalid_argument,
                        "unknown descriptor \"@" + std::string(word) +
                            "\" (expected @yearly, @annually, @monthly, @weekly, @daily, "
                            "@midnight, @hourly or @every <duration>)");
    }
  }
  auto f = detail::parse_fields(body);
  if (!f) return f.error();
  p->f = *f;
  p->real_time = p->f.hour == detail::all_hours;
  return schedule(std::move(p));
}

std::optional<time_point> schedule::next(time_point after) const {
  const auto& s = *impl_;
  auto after_s = date::floor<seconds>(after);
  if (after_s < earliest || after_s > latest) return std::nullopt;
  std::optional<sys_seconds> t;
  if (s.interval.count() > 0) {
    // As robfig/cron: from `after` truncated to the second.
    auto limit =
        date::year_month_day{date::floor<date::days>(after_s)}.year() + date::years{search_years};
    sys_seconds candidate = after_s + s.interval;
    if (s.interval > date::years{search_years + 1} ||
        date::year_month_day{date::floor<date::days>(candidate)}.year() > limit) {
      return std::nullopt;
    }
    t = candidate;
  } else {
    try {
      t = s.real_time ? next_real_time(s, after_s) : next_wall_time(s, after_s);
    } catch (const std::exception&) {
      // date/tz reports a zone file it cannot read by throwing.
      return std::nullopt;
    }
  }
  if (!t || *t > latest) return std::nullopt;
  return time_point{std::chrono::duration_cast<time_point::duration>(t->time_since_epoch())};
}

std::vector<time_point> schedule::next_n(time_point after, std::size_t n) const {
  std::vector<time_point> out;
  out.reserve(std::min<std::size_t>(n, 1024));
  while (out.size() < n) {
    auto t = next(after);
    if (!t) break;
    out.push_back(*t);
    after = *t;
  }
  return out;
}

const std::string& schedule::text() const {
  return impl_->text;
}
const date::time_zone* schedule::zone() const {
  return impl_->zone;
}

}  // namespace kairos::cron
