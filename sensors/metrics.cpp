#include "metrics.hpp"

namespace kairos::sensors {
namespace {

prometheus::Summary::Quantiles quantiles() {
  return {{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};
}

}  // namespace

std::shared_ptr<sensor_metrics> sensor_metrics::create(prometheus::Registry& registry) {
  auto m = std::make_shared<sensor_metrics>();
  m->processing = &prometheus::BuildSummary()
                       .Name("argo_events_event_processing_duration_milliseconds")
                       .Help("Time a sensor spent processing an event, in milliseconds")
                       .Register(registry);
  m->triggered = &prometheus::BuildCounter()
                      .Name("argo_events_action_triggered_total")
                      .Help("Trigger actions that succeeded")
                      .Register(registry);
  m->failed = &prometheus::BuildCounter()
                   .Name("argo_events_action_failed_total")
                   .Help("Trigger actions that failed after their retries")
                   .Register(registry);
  m->duration = &prometheus::BuildSummary()
                     .Name("argo_events_action_duration_milliseconds")
                     .Help("Time a trigger action took, in milliseconds")
                     .Register(registry);
  return m;
}

void sensor_metrics::observe_processing(const std::string& sensor, const std::string& trigger,
                                        double ms) {
  processing->Add({{"sensor_name", sensor}, {"trigger_name", trigger}}, quantiles()).Observe(ms);
}

void sensor_metrics::action_done(const std::string& sensor, const std::string& trigger, bool ok,
                                 double ms) {
  const prometheus::Labels labels{{"sensor_name", sensor}, {"trigger_name", trigger}};
  (ok ? triggered : failed)->Add(labels).Increment();
  duration->Add(labels, quantiles()).Observe(ms);
}

}  // namespace kairos::sensors
