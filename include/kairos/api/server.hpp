#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace kairos::api {

// Defaults live here, and only here.
struct server_settings {
  std::string address = "127.0.0.1";  // loopback unless the operator says otherwise
  std::uint16_t port = 2746;          // 0 picks a free port (tests)
  std::string auth_token;             // empty: no authentication
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::chrono::seconds request_timeout{30};
  std::size_t io_threads = 2;
  std::size_t worker_threads = 4;  // blocking pool for SQLite calls
  bool handle_signals = true;      // stop cleanly on SIGINT / SIGTERM
};

// The REST server: health, metrics, version and the Argo-Server-shaped API.
class server {
 public:
  server(server_settings settings, store::database& db, engine::workflow_service& workflows);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Binds and starts serving; returns once the socket listens.
  result<void> start();
  // The bound port (useful with port 0).
  std::uint16_t port() const;
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
