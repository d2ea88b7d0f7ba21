#include "kairos/api/client.hpp"

#include <optional>
#include <string>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include "kairos/core/version.hpp"

namespace kairos::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct endpoint {
  std::string host;
  std::string port;
  std::string base_path;  // without trailing slash
};

result<endpoint> parse_server(const std::string& server) {
  auto parsed = boost::urls::parse_uri(server);
  if (!parsed) {
    return make_error(errc::invalid_argument,
                      "invalid server URL \"" + server + "\": " + parsed.error().message());
  }
  const auto& url = *parsed;
  if (url.scheme() != "http") {
    return make_error(errc::invalid_argument,
                      "invalid server URL \"" + server + "\": only http:// is supported");
  }
  endpoint ep;
  ep.host = std::string(url.host_address());
  if (ep.host.empty()) {
    return make_error(errc::invalid_argument, "invalid server URL \"" + server + "\": no host");
  }
  ep.port = url.has_port() ? std::string(url.port()) : "80";
  ep.base_path = std::string(url.encoded_path());
  while (!ep.base_path.empty() && ep.base_path.back() == '/') ep.base_path.pop_back();
  return ep;
}

struct exchange_outcome {
  boost::system::error_code ec;
  const char* stage = "";
  std::optional<http_response> response;
};

asio::awaitable<void> run_exchange(const endpoint& ep, http::request<http::string_body>& req,
                                   std::chrono::seconds timeout, exchange_outcome& out) {
  auto executor = co_await asio::this_coro::executor;
  auto token = asio::as_tuple(asio::use_awaitable);
  tcp::resolver resolver(executor);
  auto [rec, results] = co_await resolver.async_resolve(ep.host, ep.port, token);
  if (rec) {
    out.ec = rec;
    out.stage = "resolve";
    co_return;
  }
  beast::tcp_stream stream(executor);
  stream.expires_after(timeout);
  auto [cec, connected] = co_await stream.async_connect(results, token);
  if (cec) {
    out.ec = cec;
    out.stage = "connect";
    co_return;
  }
  stream.expires_after(timeout);
  auto [wec, written] = co_await http::async_write(stream, req, token);
  // A server may answer (413, 401) and close before it has read a large body;
  // its answer is still worth reading, so a write error is only reported
  // when no response follows.
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::uint64_t{256} * 1024 * 1024);
  stream.expires_after(timeout);
  auto [rdec, read] = co_await http::async_read(stream, buffer, parser, token);
  if (rdec) {
    out.ec = wec ? wec : rdec;
    out.stage = wec ? "write" : "read";
    co_return;
  }
  auto& res = parser.get();
  http_response response;
  response.status = res.result_int();
  response.reason = std::string(res.reason());
  response.content_type = std::string(res[http::field::content_type]);
  response.body = std::move(res.body());
  out.response = std::move(response);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

std::string encode_segment(std::string_view s) {
  return boost::urls::encode(s, boost::urls::unreserved_chars);
}

}  // namespace

errc errc_from_status(unsigned status) noexcept {
  switch (status) {
    case 400:
      return errc::invalid_argument;
    case 401:
    case 403:
      return errc::unauthenticated;
    case 404:
      return errc::not_found;
    case 409:
      return errc::already_exists;
    case 412:
      return errc::failed_precondition;
    case 413:
      return errc::payload_too_large;
    case 503:
      return errc::unavailable;
    default:
      return errc::internal;
  }
}

error error_from_response(unsigned status, std::string_view reason, std::string_view body) {
  auto code = errc_from_status(status);
  std::string message;
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object()) {
    if (auto it = parsed.find("message"); it != parsed.end() && it->is_string()) {
      message = it->get<std::string>();
    }
    // The server distinguishes a stale resourceVersion (gRPC ABORTED, 10)
    // from a name clash (ALREADY_EXISTS, 6); both are HTTP 409.
    if (status == 409) {
      if (auto it = parsed.find("code");
          it != parsed.end() && it->is_number_integer() && it->get<int>() == 10) {
        code = errc::conflict;
      }
    }
  }
  if (message.empty()) {
    message = std::to_string(status);
    if (!reason.empty()) message += " " + std::string(reason);
  }
  return make_error(code, std::move(message));
}

client::client(client_settings settings) : settings_(std::move(settings)) {}

result<http_response> client::exchange(std::string_view method, std::string_view target,
                                       std::string_view body, std::string_view content_type) const {
  auto ep = parse_server(settings_.server);
  if (!ep) return ep.error();
  auto verb = http::string_to_verb(method);
  if (verb == http::verb::unknown) {
    return make_error(errc::invalid_argument, "unknown HTTP method " + std::string(method));
  }
  http::request<http::string_body> req{verb, ep->base_path + std::string(target), 11};
  req.set(http::field::host, ep->host + ":" + ep->port);
  req.set(http::field::user_agent, "kairos/" + std::string(kairos::version));
  req.set(http::field::accept, "application/json");
  req.set(http::field::connection, "close");
  if (!settings_.token.empty()) {
    req.set(http::field::authorization, "Bearer " + settings_.token);
  }
  if (!body.empty() || verb == http::verb::post || verb == http::verb::put) {
    req.set(http::field::content_type, content_type);
    req.body() = std::string(body);
  }
  req.prepare_payload();

  asio::io_context ioc;
  exchange_outcome out;
  std::exception_ptr failure;
  asio::co_spawn(ioc, run_exchange(*ep, req, settings_.timeout, out),
                 [&failure](std::exception_ptr e) { failure = e; });
  ioc.run();
  if (failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      return make_error(errc::internal, std::string("request failed: ") + e.what());
    }
  }
  if (out.response) return std::move(*out.response);
  if (out.ec == beast::error::timeout) {
    return make_error(errc::unavailable, "timed out talking to the kairos server at " +
                                             settings_.server + " (" + out.stage + ")");
  }
  return make_error(errc::unavailable, "cannot reach the kairos server at " + settings_.server +
                                           ": " + out.ec.message());
}

result<std::string> client::request_text(std::string_view method, std::string_view target,
                                         const nlohmann::json* body) const {
  auto res = exchange(method, target, body ? body->dump() : std::string());
  if (!res) return res.error();
  if (res->status < 200 || res->status >= 300) {
    return error_from_response(res->status, res->reason, res->body);
  }
  return std::move(res->body);
}

result<nlohmann::json> client::request(std::string_view method, std::string_view target,
                                       const nlohmann::json* body) const {
  auto text = request_text(method, target, body);
  if (!text) return text.error();
  if (text->empty()) return nlohmann::json();
  auto parsed = nlohmann::json::parse(*text, nullptr, false);
  if (parsed.is_discarded()) {
    return make_error(errc::internal, "the server sent a response that is not JSON");
  }
  return parsed;
}

std::string client::collection_path(std::string_view collection, std::string_view ns) {
  std::string path = "/api/v1/" + std::string(collection);
  if (collection != "cluster-workflow-templates") path += "/" + encode_segment(ns);
  return path;
}

std::string client::item_path(std::string_view collection, std::string_view ns,
                              std::string_view name) {
  return collection_path(collection, ns) + "/" + encode_segment(name);
}

std::string_view client::body_key(std::string_view collection) noexcept {
  if (collection == "workflows") return "workflow";
  if (collection == "cron-workflows") return "cronWorkflow";
  if (collection == "event-sources") return "eventSource";
  if (collection == "sensors") return "sensor";
  return "template";
}

result<nlohmann::json> client::list(std::string_view collection, std::string_view ns) const {
  return request("GET", collection_path(collection, ns));
}

result<nlohmann::json> client::get(std::string_view collection, std::string_view ns,
                                   std::string_view name) const {
  return request("GET", item_path(collection, ns, name));
}

result<nlohmann::json> client::create(std::string_view collection, std::string_view ns,
                                      const nlohmann::json& object) const {
  nlohmann::json body{{std::string(body_key(collection)), object}};
  return request("POST", collection_path(collection, ns), &body);
}

result<nlohmann::json> client::update(std::string_view collection, std::string_view ns,
                                      std::string_view name, const nlohmann::json& object) const {
  nlohmann::json body{{std::string(body_key(collection)), object}};
  return request("PUT", item_path(collection, ns, name), &body);
}

result<void> client::remove(std::string_view collection, std::string_view ns,
                            std::string_view name) const {
  auto res = request("DELETE", item_path(collection, ns, name));
  if (!res) return res.error();
  return {};
}

result<nlohmann::json> client::act(std::string_view collection, std::string_view ns,
                                   std::string_view name, std::string_view action) const {
  nlohmann::json body = nlohmann::json::object();
  return request("PUT", item_path(collection, ns, name) + "/" + std::string(action), &body);
}

result<nlohmann::json> client::version() const {
  return request("GET", "/api/v1/version");
}

}  // namespace kairos::api
