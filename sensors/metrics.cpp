#include "metrics.hpp"

#include <chrono>

namespace kairos::sensors {
namespace {

// Argo Events' summaries have no objectives: they expose only _sum and
// _count. prometheus-cpp still feeds every observation to a quantile
// estimator per age bucket, so one bucket keeps that cost down.
prometheus::Summary& add_summary(prometheus::Family<prometheus::Summary>& family,
                                 const prometheus::Labels& labels) {
  return family.Add(labels, prometheus::Summary::Quantiles{}, std::chrono::seconds(60), 1);
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

trigger_metrics sensor_metrics::for_trigger(const std::string& sensor, const std::string& trigger) {
  const prometheus::Labels labels{{"sensor_name", sensor}, {"trigger_name", trigger}};
  trigger_metrics m;
  m.processing = &add_summary(*processing, labels);
  m.triggered = &triggered->Add(labels);
  m.failed = &failed->Add(labels);
  m.duration = &add_summary(*duration, labels);
  return m;
}

}  // namespace kairos::sensors
