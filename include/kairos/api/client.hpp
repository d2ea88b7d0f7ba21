#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::api {

// Defaults live here, and only here.
struct client_settings {
  std::string server = "http://127.0.0.1:2746";
  std::string token;                 // bearer token; empty sends no Authorization header
  std::chrono::seconds timeout{30};  // bound on connect, write and read of one request
};

// What came back over the wire, before any interpretation.
struct http_response {
  unsigned status = 0;
  std::string reason;
  std::string content_type;
  std::string body;
};

// The HTTP status a server error maps to, as a kairos error code.
errc errc_from_status(unsigned status) noexcept;

// Builds the error for a non-2xx response: the code from the status and the
// message from the JSON body's "message" (the status line when there is none).
error error_from_response(unsigned status, std::string_view reason, std::string_view body);

// A blocking client for the Argo-Server-shaped REST API. Each call opens its
// own connection on a private io_context, so a client may be used from any
// thread that is not an Asio I/O thread.
class client {
 public:
  explicit client(client_settings settings);

  const client_settings& settings() const noexcept { return settings_; }

  // Sends one request. A 2xx response yields its JSON body (null when empty);
  // anything else yields the mapped error.
  result<nlohmann::json> request(std::string_view method, std::string_view target,
                                 const nlohmann::json* body = nullptr) const;
  // Same, but yields the 2xx body as text (NDJSON log streams).
  result<std::string> request_text(std::string_view method, std::string_view target,
                                   const nlohmann::json* body = nullptr) const;
  // The raw exchange: any status is a successful result; only transport
  // failures (unreachable, timeout, bad URL) are errors.
  result<http_response> exchange(std::string_view method, std::string_view target,
                                 std::string_view body,
                                 std::string_view content_type = "application/json") const;

  // Typed conveniences over the REST collections. `collection` is the REST
  // path segment ("workflows", "cron-workflows", ...); `ns` is ignored for
  // "cluster-workflow-templates".
  result<nlohmann::json> list(std::string_view collection, std::string_view ns) const;
  result<nlohmann::json> get(std::string_view collection, std::string_view ns,
                             std::string_view name) const;
  result<nlohmann::json> create(std::string_view collection, std::string_view ns,
                                const nlohmann::json& object) const;
  result<nlohmann::json> update(std::string_view collection, std::string_view ns,
                                std::string_view name, const nlohmann::json& object) const;
  result<void> remove(std::string_view collection, std::string_view ns,
                      std::string_view name) const;
  // PUT .../{name}/{action} (retry, resubmit, suspend, resume, stop, terminate).
  result<nlohmann::json> act(std::string_view collection, std::string_view ns,
                             std::string_view name, std::string_view action) const;
  result<nlohmann::json> version() const;

  // The path of a collection or an item, with segments percent-encoded.
  static std::string collection_path(std::string_view collection, std::string_view ns);
  static std::string item_path(std::string_view collection, std::string_view ns,
                               std::string_view name);
  // The key the API wraps a created or updated object in ("workflow",
  // "template", "cronWorkflow", "eventSource", "sensor").
  static std::string_view body_key(std::string_view collection) noexcept;

 private:
  client_settings settings_;
};

}  // namespace kairos::api
