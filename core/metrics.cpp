#include "kairos/core/metrics.hpp"

#include <utility>

namespace kairos::metrics {

summary_family::summary_family(std::string name, std::string help)
    : name_(std::move(name)), help_(std::move(help)) {}

sum_count& summary_family::add(const prometheus::Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = series_[labels];
  if (!slot) slot = std::make_unique<sum_count>();
  return *slot;
}

prometheus::MetricFamily summary_family::collect() const {
  prometheus::MetricFamily family;
  family.name = name_;
  family.help = help_;
  family.type = prometheus::MetricType::Summary;
  std::lock_guard lock(mutex_);
  for (const auto& [labels, series] : series_) {
    prometheus::ClientMetric m;
    for (const auto& [k, v] : labels) m.label.push_back({k, v});
    m.summary.sample_count = series->count();
    m.summary.sample_sum = series->sum();
    family.metric.push_back(std::move(m));
  }
  return family;
}

summary_family& registry::summary(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  auto& slot = summaries_[name];
  if (!slot) slot = std::make_unique<summary_family>(name, help);
  return *slot;
}

std::vector<prometheus::MetricFamily> registry::Collect() const {
  auto out = prometheus::Registry::Collect();
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : summaries_) out.push_back(family->collect());
  return out;
}

}  // namespace kairos::metrics
