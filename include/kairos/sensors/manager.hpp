#pragma once

// Sensors at run time. The manager keeps one runner per stored Sensor
// resource; a runner reads the event journal from the last sequence it
// handled, matches events to dependencies, applies filters and conditions
// and fires triggers. Progress is stored (db state scope "sensor") before a
// trigger acts, so a crash replays rather than loses, and the names of
// submitted workflows are derived from the events so a replay cannot submit
// twice.
//
// Threads: sensor logic and every blocking store or HTTP call run on a
// private worker pool, one strand per sensor; nothing blocks the I/O
// executor, which only carries the poll timer.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace kairos::metrics {
class registry;
}  // namespace kairos::metrics

namespace kairos::sensors {

class http_sender;

struct manager_settings {
  // How often the journal and timers are checked without a notify().
  std::chrono::milliseconds poll_period{1000};
  // Journal events read per store call. A page's progress is stored in one
  // write, which waits for the store's writer behind whatever ingest is
  // committing, so pages are large enough to keep up with Kafka ingest.
  std::size_t batch = 2048;
  // Secrets (http secureHeaders) are read from <data_dir>/secrets/<name>/<key>.
  std::filesystem::path data_dir;
  // Nullable; when set the sensor metrics are registered in it.
  std::shared_ptr<kairos::metrics::registry> metrics;
  // Nullable: the default sends with core/http_client.
  std::shared_ptr<http_sender> http;
  // Worker threads for sensor logic and blocking calls.
  std::size_t worker_threads = 2;
  // Journal entries remembered per sensor for `kairos events list`.
  std::size_t consumed_history = 200;
};

class manager {
 public:
  manager(manager_settings settings, store::database& db, engine::workflow_service& workflows,
          const kairos::clock& clock, boost::asio::any_io_executor io);
  ~manager();
  manager(const manager&) = delete;
  manager& operator=(const manager&) = delete;

  // Loads the stored Sensors, starts the poll timer and reads the journal.
  result<void> start();
  // Stops the timer and waits for work in flight; safe to call twice.
  void stop();
  // Re-reads the stored Sensors (after apply or delete).
  void resync();
  // New events were committed: read the journal now.
  void notify();
  // Runs what is due on the clock: retries, rate-limited triggers,
  // conditionsReset schedules.
  void check_timers();
  // Waits until the work posted so far has finished (tests, shutdown).
  void wait_idle();

  // The lowest journal sequence every running sensor has handled; nullopt
  // without running sensors. Event sources pause while far ahead of it.
  std::optional<std::int64_t> slowest_sequence() const;

  // "namespace/name" of the running sensors, sorted.
  std::vector<std::string> sensors() const;

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

// One journal event and the sensor triggers that consumed it.
struct event_summary {
  std::int64_t sequence = 0;
  std::string id;
  std::string namespace_;
  std::string source;   // EventSource name
  std::string subject;  // event name
  std::string type;
  std::string time;
  // "<sensor namespace>/<sensor name>:<trigger>" for every trigger that
  // fired with the event, from the bounded history in sensor state.
  std::vector<std::string> consumed_by;
};

// The newest `limit` journal events (oldest first), for `kairos events list`.
result<std::vector<event_summary>> recent_events(store::database& db, std::size_t limit);

}  // namespace kairos::sensors
