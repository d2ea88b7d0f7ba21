#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

namespace kairos::metrics {

// One series of a summary without objectives: only _sum and _count, which
// is all Argo Events' summaries expose. prometheus::Summary feeds every
// observation to a quantile estimator even without objectives, which costs
// more than the work measured on the event paths; this is two atomics.
class sum_count {
 public:
  void observe(double value, std::uint64_t times = 1) noexcept {
    count_.fetch_add(times, std::memory_order_relaxed);
    sum_.fetch_add(value * static_cast<double>(times), std::memory_order_relaxed);
  }
  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// The series of one summary name, by labels.
class summary_family {
 public:
  summary_family(std::string name, std::string help);
  // The series for these labels, created on first use; the reference stays
  // valid as long as the family.
  sum_count& add(const prometheus::Labels& labels);
  prometheus::MetricFamily collect() const;

 private:
  const std::string name_;
  const std::string help_;
  mutable std::mutex mutex_;
  std::map<prometheus::Labels, std::unique_ptr<sum_count>> series_;
};

// Argo Events' summary that event sources and sensors both observe, each
// with its own labels, so they must agree on its help.
inline constexpr const char* event_processing_duration_name =
    "argo_events_event_processing_duration_milliseconds";
inline constexpr const char* event_processing_duration_help =
    "Summary of durations of event processing";

// prometheus::Registry plus kairos' own summaries, collected together, so
// /metrics serves both.
class registry : public prometheus::Registry {
 public:
  // The family of that name, created on first use (the first help wins).
  summary_family& summary(const std::string& name, const std::string& help);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<summary_family>> summaries_;
};

}  // namespace kairos::metrics
