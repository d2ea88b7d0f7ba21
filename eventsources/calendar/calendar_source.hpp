#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "calendar/config.hpp"
#include "source.hpp"

namespace kairos::eventsources {

using sys_time = std::chrono::system_clock::time_point;

// The fire time after `last`, skipping excluded days (Argo compares the
// fire time's date in the schedule's zone with the exclusion's UTC date).
// nullopt when the schedule has no further time.
std::optional<sys_time> next_calendar_time(const calendar_settings& s, sys_time last);

// Go's time.String() in the schedule's zone, which is what Argo puts in
// `eventTime`: "2024-03-01 09:00:00 +0100 CET".
std::string go_time_string(sys_time t, const std::string& zone);

// Argo's calendar event source on the injected clock: poll() emits what is
// due; the last fired time is kept in the store (scope "calendar",
// name "<eventsource>/<event>") so catch-up survives a restart.
class calendar_source final : public source {
 public:
  calendar_source(const source_context& ctx, std::string event_name, calendar_settings settings);
  result<void> start() override;
  void stop() override;
  std::optional<sys_time> poll(sys_time now) override;

 private:
  std::shared_ptr<emitter> out_;
  event_origin origin_;
  calendar_settings settings_;
  std::string state_name_;
  std::optional<sys_time> next_;
  bool stopped_ = false;
};

result<std::vector<std::unique_ptr<source>>> build_calendar_sources(
    const source_context& ctx, const spec::event_source_spec& spec);

}  // namespace kairos::eventsources
