// Fire lateness of the CronWorkflow controller: N CronWorkflows with
// `@every Ks` schedules (K = 1 + i % max_period), a real clock and a real
// store, for a few seconds. Each submission records how late it came
// (submit time - scheduled time, from the run's name). The submission
// stores nothing: the figure is the controller's, not the engine's. Prints p50,
// p99 and max lateness, the largest burst (runs due at one instant), the
// controller's CPU time per handled due time and the resident memory the
// controller added.
//
//   cron_lateness [seconds=10] [crons=10000] [max_period=10]

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/text.hpp"
#include "kairos/cron/controller.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace {

using namespace std::chrono;
using json = nlohmann::json;

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

long settled_rss_kb() {
  malloc_trim(0);
  return rss_kb();
}

// Records lateness and stores nothing: the figure is the controller's.
class timing_service final : public kairos::engine::workflow_service {
 public:
  timing_service() : submitted_(std::size_t{1} << 20, {system_clock::time_point{}, -1}) {}
  kairos::result<kairos::store::workflow_record> submit(
      const kairos::spec::resource& workflow, const kairos::engine::submit_options&) override {
    // Only the time and the scheduled second (a run is named
    // <cron>-<scheduled unix seconds>) are noted, into reserved space; the
    // rest is worked out afterwards, so that the bench's own work does not
    // delay the runs after this one.
    const auto now = system_clock::now();
    const auto& name = workflow.metadata.name;
    const auto dash = name.rfind('-');
    const long long scheduled =
        dash == std::string::npos ? -1 : std::strtoll(name.c_str() + dash + 1, nullptr, 10);
    // A slot of its own for each run, without a lock: the controller's
    // threads submit at once, and waiting here would count against it.
    if (const auto slot = next_slot_.fetch_add(1); slot < submitted_.size())
      submitted_[slot] = {now, scheduled};
    return kairos::store::workflow_record{};
  }
  kairos::result<kairos::store::workflow_record> act(const std::string&, const std::string&,
                                                     kairos::engine::workflow_action) override {
    return kairos::make_error(kairos::errc::unavailable, "not in the bench");
  }
  kairos::result<std::string> logs(const std::string&, const std::string&,
                                   const std::string&) override {
    return std::string();
  }
  // Runs due before `t` are not counted: the bench measures memory (a
  // malloc_trim that holds the allocator's locks) while they fire.
  void measure_from(system_clock::time_point t) {
    std::lock_guard lock(mutex_);
    measure_from_ = t;
  }
  std::size_t not_counted() const {
    std::lock_guard lock(mutex_);
    return not_counted_;
  }
  std::vector<long> take() {
    std::lock_guard lock(mutex_);
    const auto used = std::min(next_slot_.load(), submitted_.size());
    for (std::size_t i = 0; i < used; ++i) {
      const auto& [at, seconds_since] = submitted_[i];
      if (seconds_since < 0) continue;
      const system_clock::time_point due{seconds(seconds_since)};
      if (!measure_from_ || due < *measure_from_) {
        ++not_counted_;
        continue;
      }
      const long late = duration_cast<microseconds>(at - due).count();
      lateness_us_.push_back(late);
      ++due_at_[seconds_since];
      auto [first, added] = first_at_.emplace(seconds_since, late);
      if (!added) first->second = std::min(first->second, late);
    }
    next_slot_ = 0;
    return std::move(lateness_us_);
  }
  // The earliest run of each scheduled instant: how late the controller
  // wakes, apart from the time a burst takes to submit.
  std::vector<long> first_of_each_instant() const {
    std::lock_guard lock(mutex_);
    std::vector<long> out;
    for (const auto& [at, late] : first_at_) out.push_back(late);
    return out;
  }
  std::size_t largest_burst() const {
    std::lock_guard lock(mutex_);
    std::size_t out = 0;
    for (const auto& [at, n] : due_at_) out = std::max(out, n);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::pair<system_clock::time_point, long long>> submitted_;
  std::atomic<std::size_t> next_slot_{0};
  std::vector<long> lateness_us_;
  std::unordered_map<long long, std::size_t> due_at_;  // runs per scheduled instant
  std::unordered_map<long long, long> first_at_;
  std::optional<system_clock::time_point> measure_from_;
  std::size_t not_counted_ = 0;
};

double percentile(std::vector<long>& v, double p) {
  if (v.empty()) return 0;
  auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(idx), v.end());
  return static_cast<double>(v[idx]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const int seconds_to_run = argc > 1 ? std::atoi(argv[1]) : 10;
  const int crons = argc > 2 ? std::atoi(argv[2]) : 10000;
  const int max_period = argc > 3 ? std::max(1, std::atoi(argv[3])) : 10;
  // Missed-time notices would flood stdout when the machine is saturated.
  spdlog::set_level(spdlog::level::warn);

  const auto dir =
      std::filesystem::temp_directory_path() / ("kairos-cron-bench-" + kairos::random_suffix(8));
  kairos::store::settings ss;
  ss.data_dir = dir;
  auto db = kairos::store::database::open(ss);
  if (!db) {
    std::fprintf(stderr, "cannot open the store: %s\n", db.error().message.c_str());
    return 1;
  }
  const json workflow_spec = {
      {"entrypoint", "main"},
      {"templates", json::array({{{"name", "main"},
                                  {"container", {{"image", "alpine"}, {"command", {"true"}}}}}})}};
  for (int i = 0; i < crons; ++i) {
    kairos::store::resource_record r;
    r.kind = "CronWorkflow";
    r.namespace_ = "bench";
    r.name = "cron-" + std::to_string(i);
    r.body = {{"apiVersion", "argoproj.io/v1alpha1"},
              {"kind", "CronWorkflow"},
              {"metadata", {{"name", r.name}, {"namespace", "bench"}}},
              {"spec",
               {{"schedule", "@every " + std::to_string(1 + i % max_period) + "s"},
                {"workflowSpec", workflow_spec}}}};
    if (auto ok = (*db)->apply_resource(std::move(r)); !ok) {
      std::fprintf(stderr, "cannot store a CronWorkflow: %s\n", ok.error().message.c_str());
      return 1;
    }
  }

  timing_service service;
  boost::asio::io_context io;
  auto guard = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });

  const long rss_before = settled_rss_kb();
  const auto start_load = steady_clock::now();
  long rss_loaded = 0;
  std::size_t fires = 0;
  std::vector<long> lateness;
  kairos::cron::controller_stats stats;
  long rss_run = 0;
  {
    kairos::cron::controller_settings cs;
    cs.default_timezone = "UTC";
    cs.worker_threads = 2;
    if (const char* f = std::getenv("FIRE_THREADS")) cs.fire_threads = std::atoi(f);
    if (const char* p = std::getenv("PREPARE_LIMIT")) cs.prepare_limit = std::atoi(p);
    if (const char* r = std::getenv("RESYNC_MS"))
      cs.resync_period = std::chrono::milliseconds(std::atoi(r));
    kairos::cron::controller c(cs, **db, service, kairos::system_clock::instance(),
                               io.get_executor());
    if (auto ok = c.start(); !ok) {
      std::fprintf(stderr, "cannot start: %s\n", ok.error().message.c_str());
      return 1;
    }
    const double load_ms =
        duration_cast<microseconds>(steady_clock::now() - start_load).count() / 1000.0;
    rss_loaded = settled_rss_kb();
    service.measure_from(system_clock::now());
    std::printf("crons %d, schedules @every 1s..%ds, run %d s\n", crons, max_period,
                seconds_to_run);
    std::printf("load (first resync) %.1f ms\n", load_ms);
    std::this_thread::sleep_for(seconds(seconds_to_run));
    c.stop();
    stats = c.stats();
    rss_run = settled_rss_kb();
    lateness = service.take();
    fires = lateness.size();
  }
  guard.reset();
  io.stop();
  io_thread.join();

  std::printf("fires %zu (%.0f/s); %zu more were due while memory was measured, not counted\n",
              fires, static_cast<double>(fires) / seconds_to_run, service.not_counted());
  if (!lateness.empty()) {
    const double p50 = percentile(lateness, 0.50);
    const double p99 = percentile(lateness, 0.99);
    const double max =
        static_cast<double>(*std::max_element(lateness.begin(), lateness.end())) / 1000.0;
    std::printf("lateness p50 %.3f ms\n", p50);
    std::printf("lateness p99 %.3f ms\n", p99);
    std::printf("lateness max %.3f ms\n", max);
  }
  if (auto first = service.first_of_each_instant(); !first.empty())
    std::printf("first run of each instant: p50 %.3f ms, max %.3f ms (%zu instants)\n",
                percentile(first, 0.50), percentile(first, 1.0), first.size());
  std::printf("largest burst %zu runs due at one instant\n", service.largest_burst());
  if (stats.due_handled > 0) {
    const double per_fire_us =
        static_cast<double>(duration_cast<nanoseconds>(stats.due_cpu).count()) / 1000.0 /
        static_cast<double>(stats.due_handled);
    std::printf("per-fire cpu %.1f us (%llu due times handled; saturation %.0f fires/s/thread)\n",
                per_fire_us, static_cast<unsigned long long>(stats.due_handled),
                per_fire_us > 0 ? 1e6 / per_fire_us : 0.0);
    std::printf("runs made ahead of their due time: %llu of %llu submitted\n",
                static_cast<unsigned long long>(stats.made_ahead),
                static_cast<unsigned long long>(stats.submitted));
  }
  std::printf("rss delta for %d crons: %.1f MB (after the run %.1f MB)\n", crons,
              (rss_loaded - rss_before) / 1024.0, (rss_run - rss_before) / 1024.0);
  db->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
