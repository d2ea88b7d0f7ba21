#include "metrics.hpp"

#include <chrono>

namespace kairos::sensors {

std::shared_ptr<sensor_metrics> sensor_metrics::create(metrics::registry& registry) {
  auto m = std::make_shared<sensor_metrics>();
  m->processing = &registry.summary(metrics::event_processing_duration_name,
                                    metrics::event_processing_duration_help);
  m->triggered = &prometheus::BuildCounter()
                      .Name("argo_events_action_triggered_total")
                      .Help("Trigger actions that succeeded")
                      .Register(registry);
  m->failed = &prometheus::BuildCounter()
                   .Name("argo_events_action_failed_total")
                   .Help("Trigger actions that failed after their retries")
                   .Register(registry);
  m->duration = &registry.summary("argo_events_action_duration_milliseconds",
                                  "Time a trigger action took, in milliseconds");
  return m;
}

trigger_metrics sensor_metrics::for_trigger(const std::string& sensor, const std::string& trigger) {
  const prometheus::Labels labels{{"sensor_name", sensor}, {"trigger_name", trigger}};
  trigger_metrics m;
  m.processing = &processing->add(labels);
  m.triggered = &triggered->Add(labels);
  m.failed = &failed->Add(labels);
  m.duration = &duration->add(labels);
  return m;
}

}  // namespace kairos::sensors
