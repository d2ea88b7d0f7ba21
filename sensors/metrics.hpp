#pragma once

// Argo Events' sensor metric names, labelled sensor_name and trigger_name.

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>

#include "kairos/core/metrics.hpp"

namespace kairos::sensors {

// One trigger's series, looked up once: prometheus-cpp's Family::Add builds
// a whole metric object on every call, even for labels it already has.
struct trigger_metrics {
  metrics::sum_count* processing = nullptr;
  prometheus::Counter* triggered = nullptr;
  prometheus::Counter* failed = nullptr;
  metrics::sum_count* duration = nullptr;

  void observe_processing(double ms) const { processing->observe(ms); }
  void action_done(bool ok, double ms) const {
    (ok ? triggered : failed)->Increment();
    duration->observe(ms);
  }
};

struct sensor_metrics {
  metrics::summary_family* processing = nullptr;
  prometheus::Family<prometheus::Counter>* triggered = nullptr;
  prometheus::Family<prometheus::Counter>* failed = nullptr;
  metrics::summary_family* duration = nullptr;

  static std::shared_ptr<sensor_metrics> create(metrics::registry& registry);

  trigger_metrics for_trigger(const std::string& sensor, const std::string& trigger);
};

}  // namespace kairos::sensors
