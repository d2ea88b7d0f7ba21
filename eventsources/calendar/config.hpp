#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/cron/schedule.hpp"
#include "kairos/spec/event_source.hpp"

namespace kairos::eventsources {

struct calendar_settings {
  std::optional<cron::schedule> schedule;                         // either this
  std::optional<std::chrono::nanoseconds> interval;               // or this
  std::vector<std::chrono::system_clock::time_point> exclusions;  // whole days, UTC dates
  std::string timezone = "UTC";
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json user_payload;  // null unless the pre-1.0 field is set
  // persistence.catchup: resume from the last fired time after downtime.
  bool catchup = false;
  std::optional<std::chrono::nanoseconds> catchup_max_duration;
  std::optional<std::string> filter;
};

result<calendar_settings> calendar_settings_from(const spec::calendar_event_source& spec);

}  // namespace kairos::eventsources
