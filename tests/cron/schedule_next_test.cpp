// Cross-checks the field-jumping search against a minute-by-minute reference
// that applies the same rules the slow, obvious way, around every 2024 DST
// transition of several zones.
#include <gtest/gtest.h>

#include <date/date.h>
#include <date/tz.h>

#include "fields.hpp"
#include "schedule_test_util.hpp"

namespace kairos::cron {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

bool matches(const detail::fields& f, date::local_seconds w) {
  auto day = date::floor<date::days>(w);
  date::year_month_day ymd{day};
  auto rest = std::chrono::duration_cast<minutes>(w - day).count();
  unsigned m = static_cast<unsigned>(ymd.month());
  unsigned d = static_cast<unsigned>(ymd.day());
  unsigned wd = date::weekday{day}.c_encoding();
  bool dom = (f.dom >> d) & 1u;
  bool dow = (f.dow >> wd) & 1u;
  bool day_ok = (f.dom_star || f.dow_star) ? (dom && dow) : (dom || dow);
  return ((f.month >> m) & 1u) && day_ok && ((f.hour >> (rest / 60)) & 1u) &&
         ((f.minute >> (rest % 60)) & 1u);
}

// Every fire time in (after, after + span], by brute force.
std::vector<date::sys_seconds> reference(const detail::fields& f, const date::time_zone* zone,
                                         date::sys_seconds after, seconds span) {
  std::vector<date::sys_seconds> out;
  if (f.hour == detail::all_hours) {
    for (auto t = date::ceil<minutes>(after + seconds{1}); t <= after + span; t += minutes{1}) {
      if (matches(f, zone->to_local(t))) out.push_back(t);
    }
    return out;
  }
  auto start = date::floor<minutes>(zone->to_local(after)) - date::days{1};
  for (auto w = start; w <= start + span + date::days{2}; w += minutes{1}) {
    if (!matches(f, w)) continue;
    auto info = zone->get_info(w);
    date::sys_seconds t = info.result == date::local_info::nonexistent
                              ? info.first.end
                              : date::sys_seconds{w.time_since_epoch() - info.first.offset};
    if (t <= after || t > after + span) continue;
    if (!out.empty() && t <= out.back()) continue;
    out.push_back(t);
  }
  return out;
}

TEST(cron_schedule_search, agrees_with_minute_by_minute_reference_around_transitions) {
  const char* zones[] = {
      "Europe/Berlin",   "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
      "Pacific/Chatham", "America/St_Johns", "America/Santiago", "UTC"};
  const char* specs[] = {"30 2 * * *",  "*/15 * * * *", "0 * * * *",      "15,45 1-3 * * *",
                         "0 0 * * *",   "*/7 2 * * *",  "59 23 * * *",    "*/20 0-4 * * 0",
                         "0 3 * * 1-5", "5 */2 * * *",  "0,30 23,0 * * *"};
  const seconds span = date::days{3};
  int compared = 0;
  for (const char* zone_name : zones) {
    const auto* zone = date::locate_zone(zone_name);
    // Start around each 2024 transition of this zone.
    std::vector<date::sys_seconds> starts{date::sys_days{date::year{2024} / 6 / 15}};
    auto t = date::sys_seconds{date::sys_days{date::year{2024} / 1 / 1}};
    const auto end = date::sys_seconds{date::sys_days{date::year{2025} / 1 / 1}};
    while (t < end) {
      auto info = zone->get_info(t);
      if (info.end >= end) break;
      for (long d : {-86400L, -5400L, -1800L, 0L, 1800L}) {
        starts.push_back(info.end + seconds{d});
      }
      t = info.end;
    }
    for (const char* spec : specs) {
      auto s = schedule::parse(spec, zone_name);
      ASSERT_TRUE(s) << spec;
      auto f = detail::parse_fields(spec);
      ASSERT_TRUE(f);
      for (auto start : starts) {
        auto expected = reference(*f, zone, start, span);
        std::vector<date::sys_seconds> got;
        time_point after{start.time_since_epoch()};
        for (;;) {
          auto n = s->next(after);
          ASSERT_TRUE(n.has_value());
          auto n_s = date::floor<seconds>(*n);
          if (n_s > start + span) break;
          got.push_back(n_s);
          after = *n;
        }
        EXPECT_EQ(got, expected) << spec << " in " << zone_name << " after "
                                 << date::format("%FT%TZ", start);
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 300);
}

TEST(cron_schedule_search, rare_schedule_is_found_without_scanning_minutes) {
  // Months without a 31st are jumped over.
  auto s = schedule::parse("0 0 31 * *", "UTC");
  ASSERT_TRUE(s);
  auto n = s->next_n(testing::at("2024-01-31T00:00:00Z"), 3);
  ASSERT_EQ(n.size(), 3u);
  EXPECT_EQ(format_rfc3339(n[0]), "2024-03-31T00:00:00Z");
  EXPECT_EQ(format_rfc3339(n[2]), "2024-07-31T00:00:00Z");
}

}  // namespace
}  // namespace kairos::cron
