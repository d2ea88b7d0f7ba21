#pragma once

// The shared HTTP side of webhook-style sources: one Beast listener per
// port, several routes (endpoint + method) per listener, `/health` on every
// port, optional TLS. Route handlers are blocking and run on a thread pool,
// never on the I/O threads, unless they are asynchronous (route::async_handler).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::eventsources {

struct inbound_request {
  std::string method;                                        // as sent, e.g. "POST"
  std::string path;                                          // the target before '?', not decoded
  std::string query;                                         // after '?', not decoded
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;

  // The first value of a header, by case-insensitive name.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct outbound_response {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
};

outbound_response json_reply(unsigned status, const nlohmann::json& body);
// `{"code": <gRPC code>, "message": ...}`, the shape of every kairos HTTP error.
outbound_response error_reply(unsigned status, std::string message);
outbound_response success_reply();
// The response as sent: status line, Server, Content-Type, the response's
// headers, Content-Length and Connection as the version and keep_alive need.
std::string serialize_response(const outbound_response& res, unsigned version, bool keep_alive);

struct route {
  std::string endpoint;  // exact path
  std::string method;    // upper case
  std::size_t max_payload = 1 << 20;
  // A bearer token the caller must present (`Authorization: Bearer <token>`).
  std::optional<std::string> auth_token;
  // Blocking; runs on the hub's pool. Must not throw.
  std::function<outbound_response(const inbound_request&)> handler;
  // Used instead of `handler` when set: runs on the connection's thread, so
  // it must not block, and answers by calling `done` once, from any thread.
  // Saves the request two thread hops when the answer waits for the
  // journal (emitter::emit_async).
  using done_fn = std::function<void(outbound_response)>;
  std::function<void(const inbound_request&, done_fn done)> async_handler;
  std::string owner;  // for messages: "<ns>/<eventsource>/<event>"
};

struct tls_material {
  std::string cert_pem;
  std::string key_pem;
};

struct hub_settings {
  std::string address = "127.0.0.1";
  std::size_t default_max_payload = 1 << 20;
  std::chrono::milliseconds request_timeout{30000};
  std::size_t max_header_bytes = 64 * 1024;
  bool ephemeral_ports = false;
  // 0: connections run on the executor the hub is given, each on a strand.
  // n: the hub runs n single-threaded io_contexts of its own and spreads the
  // connections over them. A connection then stays on one thread, so it
  // needs no strand, and its reads, writes and answers never change threads:
  // on a VM where every futex and wake-up traps, that is a third of a
  // request's CPU time.
  std::size_t connection_threads = 0;
};

class port_listener;
class connection_contexts;

class http_hub : public std::enable_shared_from_this<http_hub> {
 public:
  http_hub(hub_settings settings, boost::asio::any_io_executor io,
           std::shared_ptr<boost::asio::thread_pool> pool);
  ~http_hub();

  // Serves `r` on `port`, binding the port on first use. A port is plain or
  // TLS as its first route decides; a later route that disagrees, or a
  // second route with the same endpoint and method, is an error.
  result<void> add_route(std::uint16_t port, const std::optional<tls_material>& tls,
                         std::shared_ptr<const route> r);
  // Drops the route. The port stays bound until prune(), so that a source
  // restarted on the same port does not race its own listener's close.
  void remove_route(std::uint16_t port, const route* r);
  // Closes the ports that have no route left.
  void prune();
  std::optional<std::uint16_t> bound_port(std::uint16_t configured) const;
  // Closes every listener and its connections.
  void stop_all();

 private:
  hub_settings settings_;
  boost::asio::any_io_executor io_;
  std::shared_ptr<boost::asio::thread_pool> pool_;
  // Declared before the listeners so that they go first: the contexts'
  // threads are joined once no connection is left.
  std::shared_ptr<connection_contexts> contexts_;
  mutable std::mutex mutex_;
  std::map<std::uint16_t, std::shared_ptr<port_listener>> listeners_;
};

}  // namespace kairos::eventsources
