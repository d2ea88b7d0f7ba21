#pragma once

// Argo Events' sensor metric names, labelled sensor_name and trigger_name.

#include <memory>
#include <string>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>

namespace kairos::sensors {

// One trigger's series, looked up once: prometheus-cpp's Family::Add builds
// a whole metric object on every call, even for labels it already has.
struct trigger_metrics {
  prometheus::Summary* processing = nullptr;
  prometheus::Counter* triggered = nullptr;
  prometheus::Counter* failed = nullptr;
  prometheus::Summary* duration = nullptr;

  void observe_processing(double ms) const { processing->Observe(ms); }
  void action_done(bool ok, double ms) const {
    (ok ? triggered : failed)->Increment();
    duration->Observe(ms);
  }
};

struct sensor_metrics {
  prometheus::Family<prometheus::Summary>* processing = nullptr;
  prometheus::Family<prometheus::Counter>* triggered = nullptr;
  prometheus::Family<prometheus::Counter>* failed = nullptr;
  prometheus::Family<prometheus::Summary>* duration = nullptr;

  static std::shared_ptr<sensor_metrics> create(prometheus::Registry& registry);

  trigger_metrics for_trigger(const std::string& sensor, const std::string& trigger);
};

}  // namespace kairos::sensors
