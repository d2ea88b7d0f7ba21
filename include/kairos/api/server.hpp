#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace kairos::metrics {
class registry;
}  // namespace kairos::metrics

namespace kairos::api {

// Defaults live here, and only here.
struct server_settings {
  std::string address = "127.0.0.1";  // loopback unless the operator says otherwise
  std::uint16_t port = 2746;          // 0 picks a free port (tests)
  std::string auth_token;             // empty: no authentication
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
  std::chrono::seconds request_timeout{30};
  // How long request_stop() lets in-flight requests run before cutting them.
  std::chrono::seconds shutdown_grace{5};
  std::size_t io_threads = 2;
  std::size_t worker_threads = 4;  // blocking pool for SQLite calls
  bool handle_signals = true;      // stop cleanly on SIGINT / SIGTERM
};

// The REST server: health, metrics, version and the Argo-Server-shaped API.
class server {
 public:
  // `clock` stamps events posted to the API; it must outlive the server.
  server(server_settings settings, store::database& db, engine::workflow_service& workflows,
         const kairos::clock& clock = system_clock::instance());
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts serving; returns once the socket listens. Fails (without
  // throwing) on an invalid address or a port that is taken.
  result<void> start();
  // The bound port (useful with port 0).
  std::uint16_t port() const;
  // Where other modules register their metrics; exposed on GET /metrics.
  std::shared_ptr<kairos::metrics::registry> metrics_registry() const;
  // Stops accepting, lets in-flight requests finish, and stops the threads.
  // Safe from any thread and from a signal handler's strand; idempotent.
  void request_stop();
  // Blocks until the server has stopped.
  void wait();

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kairos::api
