#pragma once

// Runs the EventSources stored in the database: webhook and GitHub endpoints
// on shared HTTP listeners, calendar timers on the injected clock. Every
// accepted event is committed to the journal before its source is answered.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/store/store.hpp"

namespace kairos::metrics {
class registry;
}  // namespace kairos::metrics

namespace kairos::eventsources {

struct manager_settings {
  // Address every webhook port binds. Argo listens on all interfaces inside
  // its pod; a bare binary defaults to loopback and `0.0.0.0` is a choice.
  std::string listen_address = "127.0.0.1";
  // Body bound for a route whose spec has none (Argo's default, 1 MiB).
  std::size_t default_max_payload = 1 << 20;
  // How often the stored EventSources are compared with the running ones.
  std::chrono::milliseconds resync_period{2000};
  // Deadline on every network read and write of a webhook connection.
  std::chrono::milliseconds request_timeout{30000};
  std::size_t max_header_bytes = 64 * 1024;
  // Threads of the webhook connections' own, each with its own connections
  // (hub_settings::connection_threads); 0 puts them on the shared I/O threads.
  std::size_t connection_threads = 2;
  // Threads for blocking work (journal appends, state writes). They mostly
  // wait for the store's group commit, and their number bounds how many
  // requests can share one fsync, so there are many more than cores.
  std::size_t blocking_threads = 64;
  // Secrets are read from <data_dir>/secrets/<name>/<key>; empty: the
  // store's data directory.
  std::string data_dir;
  // Journal retention, applied every trim_period: events older than
  // journal_max_age are dropped, always keeping the newest journal_keep_last.
  std::optional<std::chrono::seconds> journal_max_age = std::chrono::hours(24 * 7);
  std::size_t journal_keep_last = 10000;
  std::chrono::seconds trim_period{60};
  // Tests: bind each configured webhook port as port 0; bound_port() maps it.
  bool ephemeral_ports = false;
  // argo_events_* metrics go here when set.
  std::shared_ptr<kairos::metrics::registry> metrics;
};

class manager {
 public:
  manager(manager_settings settings, store::database& db, const kairos::clock& clock,
          boost::asio::any_io_executor io);
  ~manager();
  manager(const manager&) = delete;
  manager& operator=(const manager&) = delete;

  // Starts the sources stored now and the periodic resync, timer and
  // retention work. An EventSource that cannot start is logged and retried
  // when it changes; it does not fail start().
  result<void> start();
  // Stops accepting, waits for in-flight journal appends, stops timers.
  void stop();
  // Brings the running sources in line with the stored EventSources
  // (resource_version decides what changed). Blocking.
  void resync();
  // Fires the calendar events due at clock.now(). Blocking; the periodic
  // work calls it, tests call it after moving a manual clock.
  void check_timers();
  // Applies the journal retention once. Blocking.
  void trim_journal();

  // Called after every event committed to the journal (not for duplicates):
  // the wiring sets it to wake the sensors. Set it before start().
  std::function<void()> on_committed;
  // The journal sequence the slowest consumer (sensor) has handled; nullopt
  // when nothing consumes. Sources that can wait (Kafka) pause while the
  // journal is far ahead of it. Set it before start().
  std::function<std::optional<std::int64_t>()> consumed_sequence;

  // The port a configured webhook port is actually bound to (differs only
  // with ephemeral_ports); nullopt when nothing listens for it.
  std::optional<std::uint16_t> bound_port(std::uint16_t configured) const;

  // Last error of each EventSource that failed to start, "ns/name: message".
  std::vector<std::string> errors() const;

  class impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace kairos::eventsources
