#pragma once

// The logic of one sensor, synchronous and single-threaded; the manager runs
// each runner on its own strand. Exposed so that tests drive it step by step
// on a manual clock.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/sensors/trigger.hpp"
#include "kairos/spec/sensor.hpp"
#include "kairos/store/store.hpp"

namespace kairos::sensors {

struct sensor_metrics;

struct runner_settings {
  std::string namespace_;
  std::string name;
  std::size_t batch = 2048;
  std::size_t consumed_history = 200;
  // The history is stored at most this often (and whenever progress is).
  std::chrono::milliseconds history_interval{1000};
  // Where a sensor without stored progress starts: at the end of the journal
  // (events before it was created are not replayed), unless this is set.
  bool start_at_beginning = false;
};

// The store state scope of a sensor's consumed-event history (the progress
// is under "sensor"); both are keyed by the sensor's namespace and name.
inline constexpr const char* sensor_history_scope = "sensor-history";

class sensor_runner {
 public:
  // Errors when a trigger cannot be built or a condition does not parse.
  static result<std::unique_ptr<sensor_runner>> create(runner_settings settings,
                                                       spec::sensor_spec spec, store::database& db,
                                                       trigger_services services,
                                                       std::shared_ptr<sensor_metrics> metrics);
  ~sensor_runner();

  // Reads the stored progress (or starts it). Call once before the others.
  result<void> load();
  // Handles every journal event after the stored sequence; returns how many.
  // `on_page` hears the last sequence read after each page: a long catch-up
  // reports its progress as it goes, so that an event source holding back
  // for this sensor goes on before the sensor has caught up completely.
  result<std::size_t> process_journal(const std::function<void(std::int64_t)>& on_page = {});
  // Executes pending firings that are due; returns how many actions ran.
  std::size_t run_due();
  // Clears conditions whose conditionsReset schedule has passed.
  void check_resets();
  // The runner saves its progress without waiting for the store to commit
  // it (the store commits in order); this waits until everything saved so
  // far is committed or has failed. The destructor calls it.
  void flush();
  // When the next pending firing or reset is due.
  std::optional<std::chrono::system_clock::time_point> next_due() const;

  // Introspection for tests and the API.
  std::int64_t last_sequence() const;
  std::size_t pending() const;
  // Dependency names that currently hold an event for `trigger`.
  std::vector<std::string> held(const std::string& trigger) const;

  struct impl;

 private:
  explicit sensor_runner(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

}  // namespace kairos::sensors
