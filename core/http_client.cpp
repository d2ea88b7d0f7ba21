#include "kairos/core/http_client.hpp"

#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <openssl/ssl.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace kairos::http_client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

struct target {
  bool tls = false;
  std::string host;         // for resolving and SNI, without IPv6 brackets
  std::string host_header;  // as sent in Host
  std::string port;
  std::string path;  // origin-form: path and query
};

result<target> parse_target(const std::string& url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return make_error(errc::invalid_argument, "not an absolute URL: '" + url + "'");
  const boost::urls::url_view& u = *parsed;
  target t;
  const std::string scheme(u.scheme());
  if (scheme == "https") {
    t.tls = true;
  } else if (scheme != "http") {
    return make_error(errc::invalid_argument,
                      "unsupported URL scheme '" + scheme + "' (want http or https): " + url);
  }
  if (!u.has_authority() || u.encoded_host().empty())
    return make_error(errc::invalid_argument, "URL has no host: '" + url + "'");
  t.host = u.host_address();
  t.host_header = std::string(u.encoded_host());
  if (u.has_port()) {
    t.port = std::string(u.port());
    // port_number() wraps silently above 65535; check the text instead.
    if (t.port.empty() || t.port.size() > 5 || std::stoul(t.port) == 0 ||
        std::stoul(t.port) > 65535)
      return make_error(errc::invalid_argument, "URL has an invalid port: '" + url + "'");
    t.host_header += ":" + t.port;
  } else {
    t.port = t.tls ? "443" : "80";
  }
  t.path = std::string(u.encoded_path());
  if (t.path.empty()) t.path = "/";
  if (u.has_query()) t.path += "?" + std::string(u.encoded_query());
  return t;
}

// One context per verification mode, built once: loading the system CA store
// is too slow to repeat per request, and a configured SSL_CTX is safe to share.
asio::ssl::context& tls_context(bool verify) {
  static asio::ssl::context* verifying = [] {
    auto* c = new asio::ssl::context(asio::ssl::context::tls_client);
    error_code ec;
    c->set_default_verify_paths(ec);  // no CA store: every verification then fails, clearly
    c->set_verify_mode(asio::ssl::verify_peer);
    return c;
  }();
  static asio::ssl::context* insecure = [] {
    auto* c = new asio::ssl::context(asio::ssl::context::tls_client);
    c->set_verify_mode(asio::ssl::verify_none);
    return c;
  }();
  return verify ? *verifying : *insecure;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

error transport_error(const target& t, std::string_view stage, const error_code& ec,
                      bool timed_out) {
  if (timed_out)
    return make_error(errc::unavailable, "http request to " + t.host_header + " timed out (" +
                                             std::string(stage) + ")");
  return make_error(errc::unavailable, "http request to " + t.host_header + " failed (" +
                                           std::string(stage) + "): " + ec.message());
}

http::request<http::string_body> build_request(const request& r, const target& t) {
  http::request<http::string_body> req;
  req.method_string(r.method.empty() ? std::string("GET") : r.method);
  req.target(t.path);
  req.version(11);
  req.set(http::field::host, t.host_header);
  req.set(http::field::user_agent, "kairos");
  req.set(http::field::connection, "close");
  for (const auto& [name, value] : r.headers) req.set(name, value);
  req.body() = r.body;
  req.prepare_payload();
  return req;
}

response to_response(http::response<http::string_body>&& res) {
  response out;
  out.status = static_cast<int>(res.result_int());
  for (const auto& field : res)
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  out.body = std::move(res.body());
  return out;
}

// Resolves with the request's deadline: getaddrinfo itself cannot be
// interrupted, but the wait for it ends when the timer fires.
asio::awaitable<result<tcp::resolver::results_type>> resolve(
    const target& t, std::chrono::steady_clock::time_point deadline, bool& timed_out) {
  auto ex = co_await asio::this_coro::executor;
  struct state {
    explicit state(asio::any_io_executor e) : resolver(e), timer(e) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    bool expired = false;
  };
  auto s = std::make_shared<state>(ex);
  s->timer.expires_at(deadline);
  s->timer.async_wait([s](error_code ec) {
    if (ec) return;
    s->expired = true;
    s->resolver.cancel();
  });
  error_code ec;
  auto results = co_await s->resolver.async_resolve(t.host, t.port,
                                                    asio::redirect_error(asio::use_awaitable, ec));
  s->timer.cancel();
  if (ec || s->expired) {
    timed_out = s->expired;
    co_return transport_error(t, "resolve", ec, timed_out);
  }
  co_return results;
}

template <class Stream>
asio::awaitable<result<response>> exchange(Stream& stream, beast::tcp_stream& tcp, const request& r,
                                           const target& t,
                                           std::chrono::steady_clock::time_point deadline) {
  error_code ec;
  auto req = build_request(r, t);
  tcp.expires_at(deadline);
  co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return transport_error(t, "write", ec, ec == beast::error::timeout);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(r.max_response_bytes);
  parser.header_limit(64 * 1024);
  tcp.expires_at(deadline);
  co_await http::async_read(stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == asio::ssl::error::stream_truncated && !parser.is_done()) {
    // A TLS peer that closes without close_notify ends an until-EOF body.
    parser.put_eof(ec);
  }
  if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
    co_return make_error(errc::payload_too_large,
                         "http response from " + t.host_header + " exceeds " +
                             std::to_string(r.max_response_bytes) + " bytes");
  }
  if (ec && !(ec == asio::ssl::error::stream_truncated && parser.is_done()))
    co_return transport_error(t, "read", ec, ec == beast::error::timeout);
  co_return to_response(parser.release());
}

asio::awaitable<result<response>> perform_impl(request r) {
  auto parsed = parse_target(r.url);
  if (!parsed) co_return std::move(parsed).error();
  const target t = std::move(parsed).value();
  const auto deadline = std::chrono::steady_clock::now() + r.timeout;
  auto ex = co_await asio::this_coro::executor;

  bool timed_out = false;
  auto endpoints = co_await resolve(t, deadline, timed_out);
  if (!endpoints) co_return std::move(endpoints).error();

  error_code ec;
  if (!t.tls) {
    beast::tcp_stream stream(ex);
    stream.expires_at(deadline);
    co_await stream.async_connect(*endpoints, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return transport_error(t, "connect", ec, ec == beast::error::timeout);
    auto res = co_await exchange(stream, stream, r, t, deadline);
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    co_return res;
  }

  beast::ssl_stream<beast::tcp_stream> stream(ex, tls_context(!r.insecure_skip_verify));
  if (!is_ip_literal(t.host) && !SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str()))
    co_return make_error(errc::internal, "cannot set TLS server name " + t.host);
  if (!r.insecure_skip_verify)
    stream.set_verify_callback(asio::ssl::host_name_verification(t.host));
  auto& tcp = beast::get_lowest_layer(stream);
  tcp.expires_at(deadline);
  co_await tcp.async_connect(*endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return transport_error(t, "connect", ec, ec == beast::error::timeout);
  tcp.expires_at(deadline);
  co_await stream.async_handshake(asio::ssl::stream_base::client,
                                  asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return transport_error(t, "TLS handshake", ec, ec == beast::error::timeout);
  auto res = co_await exchange(stream, tcp, r, t, deadline);
  // The answer is complete; a slow or rude close_notify must not cost the caller.
  tcp.expires_after(std::chrono::milliseconds(200));
  co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  co_return res;
}

}  // namespace

asio::awaitable<result<response>> async_perform(request r) {
  try {
    co_return co_await perform_impl(std::move(r));
  } catch (const std::exception& e) {
    co_return make_error(errc::internal, std::string("http request failed: ") + e.what());
  }
}

result<response> perform(const request& r) {
  asio::io_context context;
  std::optional<result<response>> out;
  asio::co_spawn(
      context, [&]() -> asio::awaitable<void> { out.emplace(co_await async_perform(r)); },
      asio::detached);
  context.run();
  if (!out) return make_error(errc::internal, "http request did not complete");
  return std::move(*out);
}

}  // namespace kairos::http_client
