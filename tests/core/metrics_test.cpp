#include "kairos/core/metrics.hpp"

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/text_serializer.h>

namespace kairos::metrics {
namespace {

const prometheus::MetricFamily* find(const std::vector<prometheus::MetricFamily>& families,
                                     const std::string& name) {
  for (const auto& f : families)
    if (f.name == name) return &f;
  return nullptr;
}

TEST(metrics, a_summary_counts_and_sums_observations_per_label_set) {
  registry r;
  auto& family = r.summary("work_milliseconds", "Time spent working");
  family.add({{"who", "a"}}).observe(2.5);
  family.add({{"who", "a"}}).observe(1.5);
  family.add({{"who", "b"}}).observe(4, 3);  // one duration for a batch of three
  const auto collected = r.Collect();
  const auto* f = find(collected, "work_milliseconds");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, prometheus::MetricType::Summary);
  ASSERT_EQ(f->metric.size(), 2u);
  EXPECT_EQ(f->metric[0].label[0].value, "a");
  EXPECT_EQ(f->metric[0].summary.sample_count, 2u);
  EXPECT_DOUBLE_EQ(f->metric[0].summary.sample_sum, 4.0);
  EXPECT_EQ(f->metric[1].summary.sample_count, 3u);
  EXPECT_DOUBLE_EQ(f->metric[1].summary.sample_sum, 12.0);
  EXPECT_TRUE(f->metric[0].summary.quantile.empty());
}

TEST(metrics, the_same_name_is_one_family_and_collects_beside_prometheus_families) {
  registry r;
  auto& first = r.summary("shared_milliseconds", "first help");
  auto& second = r.summary("shared_milliseconds", "second help");
  EXPECT_EQ(&first, &second);
  prometheus::BuildCounter().Name("things_total").Help("Things").Register(r).Add({}).Increment(7);
  first.add({{"source", "x"}}).observe(1);
  const auto text = prometheus::TextSerializer().Serialize(r.Collect());
  EXPECT_NE(text.find("# HELP shared_milliseconds first help"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE shared_milliseconds summary"), std::string::npos) << text;
  EXPECT_NE(text.find("shared_milliseconds_count{source=\"x\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("shared_milliseconds_sum{source=\"x\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("things_total 7"), std::string::npos) << text;
}

TEST(metrics, concurrent_observations_are_all_counted) {
  registry r;
  auto& series = r.summary("busy_milliseconds", "h").add({});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) series.observe(0.5);
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(series.count(), 40000u);
  EXPECT_DOUBLE_EQ(series.sum(), 20000.0);
}

}  // namespace
}  // namespace kairos::metrics
