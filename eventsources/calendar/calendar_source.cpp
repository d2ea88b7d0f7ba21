#include "calendar/calendar_source.hpp"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kairos/core/text.hpp"

namespace kairos::eventsources {

namespace {

// Catch-up after a long outage with a short interval could be millions of
// events; each poll emits at most this many and the next poll continues.
constexpr int max_events_per_poll = 1000;
// A schedule whose every fire time is excluded must not loop forever.
constexpr int max_excluded_in_a_row = 10000;

const date::time_zone* zone_of(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return date::locate_zone("UTC");
  }
}

bool excluded(const calendar_settings& s, sys_time t) {
  if (s.exclusions.empty()) return false;
  const auto local = date::zoned_time<std::chrono::seconds>(
                         zone_of(s.timezone), std::chrono::floor<std::chrono::seconds>(t))
                         .get_local_time();
  const date::year_month_day day{std::chrono::floor<date::days>(local)};
  for (const auto& ex : s.exclusions) {
    const date::year_month_day ex_day{std::chrono::floor<date::days>(ex)};
    if (ex_day == day) return true;
  }
  return false;
}

}  // namespace

std::optional<sys_time> next_calendar_time(const calendar_settings& s, sys_time last) {
  sys_time t = last;
  for (int i = 0; i < max_excluded_in_a_row; ++i) {
    std::optional<sys_time> n;
    if (s.schedule) {
      n = s.schedule->next(t);
    } else if (s.interval) {
      // robfig's ConstantDelaySchedule: whole seconds of `t`, plus the delay.
      const auto delay = std::chrono::duration_cast<sys_time::duration>(*s.interval);
      n = std::chrono::floor<std::chrono::seconds>(t) + delay;
      if (*n <= t) n = t + delay;
    }
    if (!n) return std::nullopt;
    if (!excluded(s, *n)) return n;
    t = *n;
  }
  return std::nullopt;
}

std::string go_time_string(sys_time t, const std::string& zone) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(t - seconds).count();
  std::string frac;
  if (nanos > 0) {
    frac = std::to_string(nanos);
    frac.insert(0, 9 - frac.size(), '0');
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    frac.insert(0, 1, '.');
  }
  if (zone == "UTC") {
    // Every Kafka message takes this path: without the zone lookup and the
    // stream formatting it costs a tenth.
    const auto day = std::chrono::floor<date::days>(seconds);
    const date::year_month_day ymd{day};
    const date::hh_mm_ss<std::chrono::seconds> hms{seconds - day};
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}{} +0000 UTC", int(ymd.year()),
                       unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                       hms.minutes().count(), hms.seconds().count(), frac);
  }
  const date::zoned_time<std::chrono::seconds> zt(zone_of(zone), seconds);
  return date::format("%Y-%m-%d %H:%M:%S", zt) + frac + date::format(" %z %Z", zt);
}

calendar_source::calendar_source(const source_context& ctx, std::string event_name,
                                 calendar_settings settings)
    : out_(ctx.out),
      origin_{ctx.namespace_, ctx.name, event_name, "calendar"},
      settings_(std::move(settings)),
      state_name_(ctx.name + "/" + event_name) {}

result<void> calendar_source::start() {
  const auto now = out_->clock().now();
  sys_time last = now;
  if (settings_.catchup) {
    auto state = out_->db().get_state("calendar", origin_.namespace_, state_name_);
    if (!state)
      return make_error(state.error().code,
                        "cannot read the last calendar event: " + state.error().message);
    if (*state && (*state)->is_object()) {
      const auto& doc = **state;
      if (auto it = doc.find("lastEventUnixNano"); it != doc.end() && it->is_number_integer()) {
        last = sys_time(std::chrono::duration_cast<sys_time::duration>(
            std::chrono::nanoseconds(it->get<std::int64_t>())));
      }
    }
    if (settings_.catchup_max_duration && now - last > *settings_.catchup_max_duration)
      last = now - std::chrono::duration_cast<sys_time::duration>(*settings_.catchup_max_duration);
    if (last > now) last = now;
  }
  next_ = next_calendar_time(settings_, last);
  return {};
}

void calendar_source::stop() {
  stopped_ = true;
}

std::optional<sys_time> calendar_source::poll(sys_time now) {
  for (int fired = 0; !stopped_ && next_ && *next_ <= now && fired < max_events_per_poll; ++fired) {
    const sys_time due = *next_;
    nlohmann::json data = {{"eventTime", go_time_string(due, settings_.timezone)},
                           {"metadata", settings_.metadata}};
    if (!settings_.user_payload.is_null()) data["userPayload"] = settings_.user_payload;
    const auto unix_seconds =
        std::chrono::duration_cast<std::chrono::seconds>(due.time_since_epoch()).count();
    // Deterministic, so that a replay of the same fire time is a duplicate.
    std::string id = origin_.namespace_ + "/" + origin_.source + "/" + origin_.subject + "/" +
                     std::to_string(unix_seconds);
    auto outcome = out_->emit(origin_, std::move(id), std::move(data), settings_.filter, due);
    if (outcome.status == emit_status::failed) return next_;  // retried on the next poll
    const auto unix_nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(due.time_since_epoch()).count();
    auto saved = out_->db().put_state(
        "calendar", origin_.namespace_, state_name_,
        {{"lastEventTime", format_rfc3339(due)}, {"lastEventUnixNano", unix_nanos}});
    if (!saved)
      spdlog::warn("calendar {}/{}: cannot persist the last event time: {}", origin_.namespace_,
                   state_name_, saved.error().message);
    next_ = next_calendar_time(settings_, due);
  }
  return stopped_ ? std::nullopt : next_;
}

result<std::vector<std::unique_ptr<source>>> build_calendar_sources(
    const source_context& ctx, const spec::event_source_spec& spec) {
  std::vector<std::unique_ptr<source>> out;
  for (const auto& [name, s] : spec.calendar) {
    auto settings = calendar_settings_from(s);
    if (!settings)
      return make_error(settings.error().code,
                        "calendar." + name + ": " + settings.error().message);
    out.push_back(std::make_unique<calendar_source>(ctx, name, std::move(*settings)));
  }
  return out;
}

}  // namespace kairos::eventsources
