#pragma once

// Argo Events' sensor metric names, labelled sensor_name and trigger_name.

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>

namespace kairos::sensors {

struct sensor_metrics {
  prometheus::Family<prometheus::Summary>* processing = nullptr;
  prometheus::Family<prometheus::Counter>* triggered = nullptr;
  prometheus::Family<prometheus::Counter>* failed = nullptr;
  prometheus::Family<prometheus::Summary>* duration = nullptr;

  static std::shared_ptr<sensor_metrics> create(prometheus::Registry& registry);

  void observe_processing(const std::string& sensor, const std::string& trigger, double ms);
  void action_done(const std::string& sensor, const std::string& trigger, bool ok, double ms);
};

}  // namespace kairos::sensors
