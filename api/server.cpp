#include "kairos/api/server.hpp"

#include <atomic>
#include <csignal>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include "auth.hpp"
#include "handlers.hpp"
#include "http_types.hpp"
#include "kairos/core/metrics.hpp"
#include "kairos/core/version.hpp"
#include "router.hpp"
#include "run_blocking.hpp"

namespace kairos::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

namespace {

constexpr auto use_tuple = asio::as_tuple(use_awaitable);

// A client that sent too large a body is still sending it; reading (and
// dropping) the rest for a moment lets it read our 413 instead of a reset.
constexpr std::size_t max_drain_bytes = 64 * 1024 * 1024;
constexpr std::chrono::seconds max_drain_time{5};

struct connection {
  explicit connection(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  // Between reading a request and writing its response; only touched on
  // the connection's strand. An idle connection is closed at shutdown, a
  // busy one finishes its response first.
  bool busy = false;
};

std::string method_label(const http::request<http::string_body>& req) {
  return req.method() == http::verb::unknown ? "OTHER" : std::string(req.method_string());
}

}  // namespace

class server::impl {
 public:
  impl(server_settings settings, store::database& db, engine::workflow_service& workflows,
       const kairos::clock& clock)
      : settings_(std::move(settings)),
        db_(db),
        auth_(settings_.auth_token),
        registry_(std::make_shared<kairos::metrics::registry>()),
        requests_(&prometheus::BuildCounter()
                       .Name("kairos_http_requests_total")
                       .Help("HTTP requests served, by method, route and status code")
                       .Register(*registry_)),
        durations_(&prometheus::BuildHistogram()
                        .Name("kairos_http_request_duration_seconds")
                        .Help("Time from a parsed request to its response, by method and route")
                        .Register(*registry_)),
        handlers_(db, workflows, clock),
        pool_(std::max<std::size_t>(1, settings_.worker_threads)),
        control_(asio::make_strand(ioc_)),
        acceptor_(control_),
        grace_timer_(control_) {
    register_routes();
  }

  ~impl() {
    request_stop();
    wait();
  }

  result<void> start() {
    if (started_.exchange(true))
      return make_error(errc::failed_precondition, "the server was already started");
    if (stopping_) return make_error(errc::failed_precondition, "the server is stopping");
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(settings_.address, ec);
    if (ec) {
      return make_error(errc::invalid_argument,
                        "invalid listen address '" + settings_.address + "': " + ec.message());
    }
    const tcp::endpoint endpoint(address, settings_.port);
    const std::string where = settings_.address + ":" + std::to_string(settings_.port);
    if (acceptor_.open(endpoint.protocol(), ec); ec)
      return make_error(errc::unavailable, "cannot listen on " + where + ": " + ec.message());
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (acceptor_.bind(endpoint, ec); ec) {
      boost::system::error_code ignored;  // ec says why; closing must not overwrite it
      acceptor_.close(ignored);
      return make_error(errc::unavailable, "cannot listen on " + where + ": " + ec.message());
    }
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
      boost::system::error_code ignored;  // ec says why; closing must not overwrite it
      acceptor_.close(ignored);
      return make_error(errc::unavailable, "cannot listen on " + where + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint(ec).port();

    asio::co_spawn(control_, accept_loop(), asio::detached);
    if (settings_.handle_signals) {
      signals_.emplace(ioc_, SIGINT, SIGTERM);
      signals_->async_wait(
          asio::bind_executor(control_, [this](boost::system::error_code e, int signal) {
            if (e) return;
            spdlog::info("received signal {}; stopping", signal);
            request_stop();
          }));
    }
    running_ = true;
    const std::size_t n = std::max<std::size_t>(1, settings_.io_threads);
    for (std::size_t i = 0; i < n; ++i) threads_.emplace_back([this] { ioc_.run(); });
    spdlog::info("listening on {}:{}", settings_.address, port_.load());
    return {};
  }

  std::uint16_t port() const { return port_; }
  std::shared_ptr<kairos::metrics::registry> registry() const { return registry_; }

  void request_stop() {
    if (stopping_.exchange(true)) return;
    if (!running_) return;
    asio::post(control_, [this] { begin_stop(); });
  }

  void wait() {
    std::lock_guard lock(wait_mutex_);
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    pool_.join();
  }

 private:
  void register_routes() {
    using http::verb;
    router_.add(
        verb::get, "/healthz",
        [](const request&) {
          return json_response({{"status", "ok"}});
        },
        false);
    router_.add(verb::get, "/readyz", [this](const request&) { return readiness(); });
    router_.add(
        verb::get, "/metrics",
        [this](const request&) {
          response res;
          res.content_type = "text/plain; version=0.0.4; charset=utf-8";
          res.body = prometheus::TextSerializer().Serialize(registry_->Collect());
          return res;
        },
        false);
    router_.add(
        verb::get, "/api/v1/version",
        [](const request&) {
          return json_response({{"version", std::string(kairos::version)}, {"platform", "linux"}});
        },
        false);
    handlers_.register_routes(router_);
  }

  response readiness() {
    if (stopping_) return error_response(make_error(errc::unavailable, "the server is stopping"));
    auto state = db_.get_state("kairos", "", "readyz");
    if (!state)
      return error_response(make_error(errc::unavailable, "store: " + state.error().message));
    return json_response({{"status", "ready"}});
  }

  // On control_.
  void begin_stop() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    if (signals_) signals_->cancel(ec);
    {
      std::lock_guard lock(connections_mutex_);
      for (auto& [ptr, weak] : connections_) {
        if (auto conn = weak.lock()) {
          asio::post(conn->stream.get_executor(), [conn] {
            if (conn->busy) return;
            boost::system::error_code ignored;
            conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
            conn->stream.close();
          });
        }
      }
    }
    if (active_ == 0) return;
    grace_timer_.expires_after(settings_.shutdown_grace);
    grace_timer_.async_wait([this](boost::system::error_code e) {
      if (e) return;
      spdlog::warn("{} connection(s) still busy after {}s; stopping anyway", active_.load(),
                   settings_.shutdown_grace.count());
      ioc_.stop();
    });
  }

  awaitable<void> accept_loop() {
    while (acceptor_.is_open()) {
      auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), use_tuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || stopping_) break;
        // Out of descriptors and the like: back off instead of spinning.
        spdlog::warn("accept failed: {}", ec.message());
        asio::steady_timer pause(control_, std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      if (stopping_) break;
      auto conn = std::make_shared<connection>(std::move(socket));
      {
        std::lock_guard lock(connections_mutex_);
        connections_.emplace(conn.get(), conn);
      }
      ++active_;
      asio::co_spawn(conn->stream.get_executor(), session(conn), asio::detached);
    }
  }

  void session_finished(connection* conn) {
    {
      std::lock_guard lock(connections_mutex_);
      connections_.erase(conn);
    }
    if (--active_ == 0 && stopping_) {
      asio::post(control_, [this] { grace_timer_.cancel(); });
    }
  }

  awaitable<void> session(std::shared_ptr<connection> conn) {
    auto& stream = conn->stream;
    beast::flat_buffer buffer;
    bool drain = false;
    try {
      while (!stopping_) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(settings_.max_header_bytes));
        parser.body_limit(settings_.max_body_bytes);
        stream.expires_after(settings_.request_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        if (!ec && !parser.is_done()) {
          // curl and others hold a large body back until told to send it.
          if (beast::iequals(parser.get()[http::field::expect], "100-continue")) {
            http::response<http::empty_body> go_on{http::status::continue_, 11};
            stream.expires_after(settings_.request_timeout);
            auto [wec, wn] = co_await http::async_write(stream, go_on, use_tuple);
            ec = wec;
          }
          if (!ec) {
            stream.expires_after(settings_.request_timeout);
            std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
          }
        }
        if (ec) {
          std::optional<response> reject;
          if (ec == http::error::body_limit) {
            reject = error_response(413, 8,
                                    "request body exceeds the limit of " +
                                        std::to_string(settings_.max_body_bytes) + " bytes");
            drain = true;
          } else if (ec == http::error::header_limit) {
            reject = error_response(431, 8,
                                    "request headers exceed the limit of " +
                                        std::to_string(settings_.max_header_bytes) + " bytes");
            drain = true;
          } else if (ec.category() == make_error_code(http::error::body_limit).category() &&
                     ec != http::error::end_of_stream && ec != http::error::partial_message) {
            reject = error_response(400, 3, "malformed HTTP request: " + ec.message());
          }
          if (reject) {
            count(parser.is_header_done() ? method_label(parser.get()) : "OTHER", "rejected",
                  reject->status, 0.0);
            co_await write(stream, *reject, 11, false);
          }
          break;
        }
        conn->busy = true;
        auto req = parser.release();
        const auto started = std::chrono::steady_clock::now();
        std::string route_label = "unmatched";
        std::optional<response> res;
        try {
          res = co_await handle(req, route_label);
        } catch (const std::exception& e) {
          spdlog::error("{} {}: unhandled exception: {}", req.method_string(),
                        std::string_view(req.target()), e.what());
        }
        if (!res) res = error_response(make_error(errc::internal, "internal error"));
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        count(method_label(req), route_label, res->status, seconds);
        spdlog::debug("{} {} -> {} ({:.3f}s)", req.method_string(), std::string_view(req.target()),
                      res->status, seconds);
        const bool keep_alive = req.keep_alive() && !stopping_;
        const bool written = co_await write(stream, *res, req.version(), keep_alive);
        conn->busy = false;
        if (!written || !keep_alive) break;
      }
      if (drain) co_await drain_input(stream);
    } catch (const std::exception& e) {
      spdlog::error("connection failed: {}", e.what());
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.close();
    session_finished(conn.get());
  }

  awaitable<bool> write(beast::tcp_stream& stream, const response& res, unsigned version,
                        bool keep_alive) {
    http::response<http::string_body> out{static_cast<http::status>(res.status), version};
    out.set(http::field::server, "kairos");
    out.set(http::field::content_type, res.content_type);
    for (const auto& [name, value] : res.headers) out.set(name, value);
    out.body() = res.body;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    stream.expires_after(settings_.request_timeout);
    auto [ec, n] = co_await http::async_write(stream, out, use_tuple);
    co_return !ec;
  }

  awaitable<void> drain_input(beast::tcp_stream& stream) {
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::min<std::chrono::seconds>(settings_.request_timeout, max_drain_time));
    std::vector<char> sink(64 * 1024);
    std::size_t drained = 0;
    while (drained < max_drain_bytes) {
      auto [e, n] = co_await stream.async_read_some(asio::buffer(sink), use_tuple);
      if (e) break;
      drained += n;
    }
  }

  void count(const std::string& method, const std::string& route, unsigned status, double seconds) {
    requests_->Add({{"method", method}, {"route", route}, {"code", std::to_string(status)}})
        .Increment();
    static const prometheus::Histogram::BucketBoundaries buckets{
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    durations_->Add({{"method", method}, {"route", route}}, buckets).Observe(seconds);
  }

  awaitable<response> handle(http::request<http::string_body>& raw, std::string& route_label) {
    auto parsed = boost::urls::parse_origin_form(raw.target());
    if (!parsed) co_return error_response(400, 3, "malformed request target");
    const auto& url = *parsed;
    std::vector<std::string> segments;
    for (auto segment : url.segments()) segments.push_back(segment);
    const std::string path = url.path();

    if (path.starts_with("/api/") && auth_.enabled()) {
      std::optional<std::string_view> header;
      if (auto it = raw.find(http::field::authorization); it != raw.end()) header = it->value();
      if (!auth_.allows(header)) {
        route_label = "unauthenticated";
        auto res = error_response(make_error(errc::unauthenticated,
                                             "a valid 'Authorization: Bearer <token>' header is "
                                             "required"));
        res.headers.emplace_back("WWW-Authenticate", "Bearer");
        co_return res;
      }
    }

    auto match = router_.match(raw.method(), segments);
    if (!match.matched) {
      if (!match.allowed.empty()) {
        std::string allow;
        for (auto v : match.allowed) {
          if (!allow.empty()) allow += ", ";
          allow += std::string(http::to_string(v));
        }
        auto res = error_response(405, 12,
                                  "method " + std::string(raw.method_string()) +
                                      " is not allowed on " + path + "; allowed: " + allow);
        res.headers.emplace_back("Allow", allow);
        co_return res;
      }
      co_return error_response(404, 5,
                               "no route for " + std::string(raw.method_string()) + " " + path);
    }
    const route& r = *match.matched;
    route_label = r.pattern;

    request req;
    req.method = raw.method();
    req.path = path;
    req.params = std::move(match.params);
    for (auto param : url.params()) req.query.emplace_back(param.key, param.value);
    for (const auto& field : raw) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      req.headers.emplace(std::move(name), std::string(field.value()));
    }
    req.body = std::move(raw.body());

    if (!r.blocking) co_return invoke(r, req);
    co_return co_await run_blocking(pool_, [&r, &req] { return invoke(r, req); });
  }

  // Turns anything a handler throws into a 500, so no request can take a
  // thread or the connection down with it.
  static response invoke(const route& r, const request& req) {
    try {
      return r.fn(req);
    } catch (const std::exception& e) {
      spdlog::error("{} {}: {}", http::to_string(req.method), req.path, e.what());
    } catch (...) {
      spdlog::error("{} {}: unknown exception", http::to_string(req.method), req.path);
    }
    return error_response(make_error(errc::internal, "internal error; see the server log"));
  }

  server_settings settings_;
  store::database& db_;
  bearer_auth auth_;
  std::shared_ptr<kairos::metrics::registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* durations_;
  resource_handlers handlers_;
  router router_;

  // The io_context outlives everything that refers to it: coroutine frames
  // still queued when it is destroyed hold sockets and timers bound to it.
  asio::io_context ioc_;
  asio::thread_pool pool_;
  asio::strand<asio::io_context::executor_type> control_;
  tcp::acceptor acceptor_;
  std::optional<asio::signal_set> signals_;
  asio::steady_timer grace_timer_;
  std::vector<std::thread> threads_;

  std::atomic<bool> started_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint16_t> port_{0};
  std::atomic<std::size_t> active_{0};
  std::mutex connections_mutex_;
  std::unordered_map<connection*, std::weak_ptr<connection>> connections_;
  std::mutex wait_mutex_;
};

server::server(server_settings settings, store::database& db, engine::workflow_service& workflows,
               const kairos::clock& clock)
    : impl_(std::make_unique<impl>(std::move(settings), db, workflows, clock)) {}

server::~server() = default;

result<void> server::start() {
  return impl_->start();
}
std::uint16_t server::port() const {
  return impl_->port();
}
std::shared_ptr<kairos::metrics::registry> server::metrics_registry() const {
  return impl_->registry();
}
void server::request_stop() {
  impl_->request_stop();
}
void server::wait() {
  impl_->wait();
}

}  // namespace kairos::api
