#include "calendar/config.hpp"

#include "webhook/config.hpp"

namespace kairos::eventsources {

result<calendar_settings> calendar_settings_from(const spec::calendar_event_source& spec) {
  calendar_settings s;
  if (!spec.timezone.empty()) s.timezone = spec.timezone;
  if (!spec.schedule.empty()) {
    auto parsed = cron::schedule::parse(spec.schedule, s.timezone);
    if (!parsed)
      return make_error(errc::invalid_argument,
                        "schedule '" + spec.schedule + "': " + parsed.error().message);
    s.schedule = std::move(*parsed);
  } else if (spec.interval && spec.interval->count() > 0) {
    s.interval = spec.interval;
  } else {
    return make_error(errc::invalid_argument, "either schedule or interval is required");
  }
  s.exclusions = spec.exclusion_times;
  s.metadata = metadata_json(spec.metadata);
  s.user_payload = spec.user_payload;
  if (spec.persistence && spec.persistence->catchup && spec.persistence->catchup->enabled) {
    s.catchup = true;
    s.catchup_max_duration = spec.persistence->catchup->max_duration;
  }
  if (spec.filter && !spec.filter->expression.empty()) s.filter = spec.filter->expression;
  return s;
}

}  // namespace kairos::eventsources
