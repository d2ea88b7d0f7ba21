#include "listener.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <functional>
#include <set>
#include <thread>
#include <tuple>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "kairos/core/digest.hpp"
#include "kairos/core/json_text.hpp"

namespace kairos::eventsources {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t max_drain_bytes = 16 * 1024 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The gRPC code the kairos API pairs with each status, so webhook errors
// look like every other kairos error.
int grpc_code_of(unsigned status) {
  switch (status) {
    case 400:
      return 3;
    case 401:
      return 16;
    case 404:
      return 5;
    case 405:
      return 12;
    case 413:
      return 8;
    case 431:
      return 8;
    case 503:
      return 14;
    default:
      return status >= 500 ? 13 : 2;
  }
}

// Runs a blocking call on the pool and resumes on the caller's executor.
// The pool is held only while the job is queued, never across the wait: a
// job queued after the owner joined the pool would otherwise keep the pool
// alive (pool -> queued job -> coroutine -> listener -> pool) and nothing
// would free any of them. The pool's owner frees such a job with the pool.
asio::awaitable<outbound_response> run_on(std::shared_ptr<asio::thread_pool> pool,
                                          std::function<outbound_response()> fn) {
  auto initiate = [](auto handler, std::shared_ptr<asio::thread_pool> p,
                     std::function<outbound_response()> job) {
    auto ex = asio::get_associated_executor(handler);
    asio::post(*p, [h = std::move(handler), ex, job = std::move(job)]() mutable {
      outbound_response res = job();
      asio::post(
          ex, [h = std::move(h), res = std::move(res)]() mutable { std::move(h)(std::move(res)); });
    });
  };
  // A named local, not a temporary in the co_await expression (GCC 12).
  auto op = asio::async_initiate<const asio::use_awaitable_t<>&, void(outbound_response)>(
      initiate, asio::use_awaitable, std::move(pool), std::move(fn));
  outbound_response res = co_await std::move(op);
  co_return res;
}

// Starts a route's async_handler on the caller's strand and resumes there
// with its answer.
asio::awaitable<outbound_response> run_async(std::shared_ptr<const route> r,
                                             std::shared_ptr<const inbound_request> request) {
  auto initiate = [](auto handler, std::shared_ptr<const route> rt,
                     std::shared_ptr<const inbound_request> req) {
    using handler_t = decltype(handler);
    auto ex = asio::get_associated_executor(handler);
    auto h = std::make_shared<handler_t>(std::move(handler));
    auto answered = std::make_shared<std::atomic<bool>>(false);
    route::done_fn done = [h, ex, answered](outbound_response res) {
      if (answered->exchange(true)) return;
      asio::post(ex, [h, res = std::move(res)]() mutable { std::move (*h)(std::move(res)); });
    };
    try {
      rt->async_handler(*req, done);
    } catch (const std::exception& e) {
      spdlog::error("event source {}: {}", rt->owner, e.what());
      done(error_reply(500, "internal error"));
    }
  };
  // A named local, not a temporary in the co_await expression (GCC 12).
  auto op = asio::async_initiate<const asio::use_awaitable_t<>&, void(outbound_response)>(
      initiate, asio::use_awaitable, std::move(r), std::move(request));
  outbound_response res = co_await std::move(op);
  co_return res;
}

std::function<outbound_response()> make_job(std::shared_ptr<const route> r, inbound_request in) {
  auto request = std::make_shared<const inbound_request>(std::move(in));
  return [r = std::move(r), request]() -> outbound_response {
    try {
      return r->handler(*request);
    } catch (const std::exception& e) {
      spdlog::error("event source {}: {}", r->owner, e.what());
      return error_reply(500, "internal error");
    }
  };
}

// The bearer check Argo does before a route's handler, in constant time.
bool bearer_allows(const std::string& token, std::optional<std::string_view> header) {
  constexpr std::string_view prefix = "Bearer ";
  if (!header || header->size() < prefix.size() || header->substr(0, prefix.size()) != prefix)
    return false;
  return digest::secret_equal(token, header->substr(prefix.size()));
}

}  // namespace

std::optional<std::string_view> inbound_request::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return std::string_view(v);
  return std::nullopt;
}

outbound_response json_reply(unsigned status, const nlohmann::json& body) {
  outbound_response r;
  r.status = status;
  r.body = dump_json_replacing(body);
  return r;
}

outbound_response error_reply(unsigned status, std::string message) {
  return json_reply(status, {{"code", grpc_code_of(status)}, {"message", std::move(message)}});
}

outbound_response success_reply() {
  // Every accepted event gets this answer: built once.
  static const outbound_response reply = json_reply(200, {{"status", "success"}});
  return reply;
}

std::string serialize_response(const outbound_response& res, unsigned version, bool keep_alive) {
  const auto status = static_cast<http::status>(res.status);
  const auto reason = http::obsolete_reason(status);
  std::string out;
  out.reserve(160 + res.body.size());
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(res.status);
  out += ' ';
  out.append(reason.data(), reason.size());
  out += "\r\nServer: kairos\r\nContent-Type: ";
  out += res.content_type;
  out += "\r\n";
  for (const auto& [name, value] : res.headers) {
    // Our own handlers set these; a line break would split the response.
    if (name.find_first_of("\r\n:") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos)
      continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "Content-Length: ";
  out += std::to_string(res.body.size());
  out += "\r\n";
  // HTTP/1.1 keeps a connection open unless told, HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) out += "Connection: close\r\n";
  if (version < 11 && keep_alive) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  out += res.body;
  return out;
}

// ---------------------------------------------------------------------------

class connection_contexts {
 public:
  explicit connection_contexts(std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      // A concurrency hint of 1: handlers a thread posts to itself skip the
      // shared queue. Other threads (the journal's writer) still may post.
      contexts_.push_back(std::make_unique<asio::io_context>(1));
      guards_.emplace_back(contexts_.back()->get_executor());
    }
    for (auto& ctx : contexts_) threads_.emplace_back([c = ctx.get()] { c->run(); });
  }

  connection_contexts(const connection_contexts&) = delete;
  connection_contexts& operator=(const connection_contexts&) = delete;

  ~connection_contexts() {
    // The hub closed every connection before this; what a session still
    // waits for (a deadline, a write to a closed socket) is abandoned, as the
    // shared I/O threads abandon theirs when the server stops.
    guards_.clear();
    for (auto& ctx : contexts_) ctx->stop();
    for (auto& t : threads_) {
      BOOST_ASSERT_MSG(t.get_id() != std::this_thread::get_id(),
                       "a connection thread must not destroy its own hub");
      if (t.joinable()) t.join();
    }
  }

  // Round robin: connections are long-lived and alike, so turns balance them.
  asio::any_io_executor next() {
    const auto i = next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size();
    return contexts_[i]->get_executor();
  }

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  std::atomic<std::size_t> next_{0};
};

struct connection_base {
  virtual ~connection_base() = default;
  virtual void close() = 0;
};

// One deadline per connection, kept by a watchdog, instead of Beast's timer
// per operation: that timer is armed and cancelled on every read and write,
// and each cancel runs a handler of its own, a few scheduler rounds per
// request. Arming the watchdog's deadline is a clock read. Everything here
// runs on the connection's executor.
template <class Stream>
struct connection final : connection_base, std::enable_shared_from_this<connection<Stream>> {
  using clock = std::chrono::steady_clock;

  template <class... Args>
  explicit connection(Args&&... args)
      : stream(std::forward<Args>(args)...), watchdog(stream.get_executor()) {}

  void close() override {
    asio::post(stream.get_executor(), [self = this->shared_from_this()] {
      beast::get_lowest_layer(self->stream).close();
    });
  }

  // Bounds the wait that follows; the next arm() or disarm() lifts it.
  void arm(std::chrono::milliseconds timeout) {
    deadline = clock::now() + timeout;
    // The watchdog sleeps until its own expiry; wake it when the new
    // deadline comes sooner (a drain's shorter bound).
    if (deadline < watchdog.expiry()) watchdog.cancel();
  }
  // While the answer is with the route's handler: it has no deadline here,
  // as it had none with Beast's timers.
  void disarm() { deadline = clock::time_point::max(); }

  void end() {
    ended = true;
    watchdog.cancel();
  }

  // Closes the connection when a wait overruns its deadline. Without a
  // deadline it looks again after `period`.
  static asio::awaitable<void> watch(std::shared_ptr<connection> self,
                                     std::chrono::milliseconds period) {
    while (!self->ended) {
      const auto now = clock::now();
      if (self->deadline <= now) {
        beast::get_lowest_layer(self->stream).close();
        co_return;
      }
      self->watchdog.expires_at(self->deadline == clock::time_point::max() ? now + period
                                                                           : self->deadline);
      co_await self->watchdog.async_wait(use_tuple);
    }
  }

  Stream stream;
  asio::steady_timer watchdog;
  clock::time_point deadline = clock::time_point::max();
  bool ended = false;
};

class port_listener : public std::enable_shared_from_this<port_listener> {
 public:
  port_listener(const hub_settings& settings, asio::any_io_executor io,
                std::shared_ptr<asio::thread_pool> pool,
                std::shared_ptr<connection_contexts> contexts)
      : settings_(settings),
        io_(io),
        pool_(std::move(pool)),
        contexts_(contexts),
        own_threads_(contexts != nullptr),
        acceptor_(asio::make_strand(io)) {}

  result<void> open(std::uint16_t port, const std::optional<tls_material>& tls) {
    if (tls) {
      ssl_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      boost::system::error_code ec;
      ssl_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                            ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                            ssl::context::no_tlsv1_1,
                        ec);
      ssl_->use_certificate_chain(asio::buffer(tls->cert_pem), ec);
      if (ec)
        return make_error(errc::invalid_argument, "invalid server certificate: " + ec.message());
      ssl_->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem, ec);
      if (ec) return make_error(errc::invalid_argument, "invalid server key: " + ec.message());
    }
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(settings_.address, ec);
    if (ec)
      return make_error(errc::invalid_argument,
                        "invalid listen address '" + settings_.address + "': " + ec.message());
    const tcp::endpoint endpoint(address, settings_.ephemeral_ports ? 0 : port);
    const std::string where = settings_.address + ":" + std::to_string(port);
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
    bound_ = acceptor_.local_endpoint(ec).port();
    asio::co_spawn(acceptor_.get_executor(), accept_loop(shared_from_this()), asio::detached);
    spdlog::info("event sources: listening on {}:{}{}", settings_.address, bound_,
                 ssl_ ? " (TLS)" : "");
    return {};
  }

  bool tls() const { return ssl_ != nullptr; }
  bool empty() {
    std::lock_guard lock(mutex_);
    return routes_.empty();
  }
  std::uint16_t bound() const { return bound_; }

  result<void> add(std::shared_ptr<const route> r) {
    std::lock_guard lock(mutex_);
    for (const auto& existing : routes_) {
      if (existing->endpoint == r->endpoint && existing->method == r->method)
        return make_error(errc::already_exists, r->method + " " + r->endpoint +
                                                    " is already served by " + existing->owner);
    }
    routes_.push_back(std::move(r));
    return {};
  }

  // True when no route is left.
  bool remove(const route* r) {
    std::lock_guard lock(mutex_);
    routes_.erase(
        std::remove_if(routes_.begin(), routes_.end(), [&](const auto& x) { return x.get() == r; }),
        routes_.end());
    return routes_.empty();
  }

  void close() {
    closed_ = true;
    asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
      boost::system::error_code ec;
      self->acceptor_.close(ec);
    });
    std::lock_guard lock(mutex_);
    for (auto& weak : connections_)
      if (auto c = weak.lock()) c->close();
    connections_.clear();
  }

 private:
  struct match {
    std::shared_ptr<const route> found;
    bool path_known = false;
    std::string allowed;
  };

  match lookup(std::string_view path, std::string_view method) {
    std::lock_guard lock(mutex_);
    match m;
    for (const auto& r : routes_) {
      if (r->endpoint != path) continue;
      m.path_known = true;
      if (r->method == method) m.found = r;
      if (!m.allowed.empty()) m.allowed += ", ";
      m.allowed += r->method;
    }
    return m;
  }

  void track(const std::shared_ptr<connection_base>& c) {
    std::lock_guard lock(mutex_);
    std::erase_if(connections_, [](const auto& w) { return w.expired(); });
    connections_.push_back(c);
  }

  static asio::awaitable<void> accept_loop(std::shared_ptr<port_listener> self) {
    while (!self->closed_) {
      // A connection is serialized by its strand, or by having one thread.
      // The contexts are held across the wait, since the socket is made on
      // one; the hub lets go of them first, so this loop may be the last
      // owner, and it never runs on a connection thread.
      const auto contexts = self->contexts_.lock();
      if (self->own_threads_ && !contexts) break;
      asio::any_io_executor where = contexts ? contexts->next() : asio::make_strand(self->io_);
      auto [ec, socket] = co_await self->acceptor_.async_accept(where, use_tuple);
      if (ec) {
        if (ec == asio::error::operation_aborted || self->closed_) break;
        spdlog::warn("event sources: accept on port {} failed: {}", self->bound_, ec.message());
        asio::steady_timer pause(self->acceptor_.get_executor(), std::chrono::milliseconds(100));
        co_await pause.async_wait(use_tuple);
        continue;
      }
      if (self->ssl_) {
        using stream_t = beast::ssl_stream<beast::tcp_stream>;
        auto c = std::make_shared<connection<stream_t>>(std::move(socket), *self->ssl_);
        self->track(c);
        asio::co_spawn(c->stream.get_executor(), session(self, c), asio::detached);
      } else {
        auto c = std::make_shared<connection<beast::tcp_stream>>(std::move(socket));
        self->track(c);
        asio::co_spawn(c->stream.get_executor(), session(self, c), asio::detached);
      }
    }
  }

  template <class Stream>
  static asio::awaitable<bool> write(port_listener& self, connection<Stream>& conn,
                                     const outbound_response& res, unsigned version,
                                     bool keep_alive) {
    // One buffer, one send: Beast's serializer cost more than the send.
    const std::string out = serialize_response(res, version, keep_alive);
    std::size_t sent = 0;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      // An answer nearly always fits the socket's buffer: sent here, it
      // skips an operation's round through the scheduler. The socket is
      // non-blocking, so only a remainder waits.
      boost::system::error_code ec;
      sent = conn.stream.socket().send(asio::buffer(out), 0, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again)
        sent = 0;
      else if (ec)
        co_return false;
      if (sent == out.size()) co_return true;
    }
    conn.arm(self.settings_.request_timeout);
    auto [ec, n] = co_await asio::async_write(conn.stream, asio::buffer(out) + sent, use_tuple);
    co_return !ec;
  }

  // Lets a client that is still sending an oversized body read our answer
  // instead of a connection reset.
  template <class Stream>
  static asio::awaitable<void> drain(port_listener& self, connection<Stream>& conn) {
    conn.arm(std::min<std::chrono::milliseconds>(self.settings_.request_timeout,
                                                 std::chrono::seconds(5)));
    std::vector<char> sink(64 * 1024);
    std::size_t drained = 0;
    while (drained < max_drain_bytes) {
      auto [e, n] = co_await conn.stream.async_read_some(asio::buffer(sink), use_tuple);
      if (e) break;
      drained += n;
    }
  }

  // The body nearly always came in the header's segment: parsed here, it
  // skips a read operation that would complete at once, through the
  // scheduler. Leaves `parser` not done when more must be read.
  static void parse_buffered(http::request_parser<http::string_body>& parser,
                             beast::flat_buffer& buffer, boost::system::error_code& ec) {
    while (!parser.is_done() && buffer.size() > 0) {
      const std::size_t used = parser.put(buffer.data(), ec);
      buffer.consume(used);
      if (ec == http::error::need_more) {
        ec = {};
        return;
      }
      if (ec || used == 0) return;
    }
  }

  template <class Stream>
  static asio::awaitable<void> session(std::shared_ptr<port_listener> self,
                                       std::shared_ptr<connection<Stream>> conn) {
    auto& stream = conn->stream;
    auto& lowest = beast::get_lowest_layer(stream);
    const auto& settings = self->settings_;
    asio::co_spawn(stream.get_executor(), connection<Stream>::watch(conn, settings.request_timeout),
                   asio::detached);
    try {
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        // For write()'s immediate send; asynchronous operations are unaffected.
        boost::system::error_code ec;
        lowest.socket().non_blocking(true, ec);
        if (ec) throw boost::system::system_error(ec);
      } else {
        conn->arm(settings.request_timeout);
        auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
        if (ec) {
          spdlog::debug("event sources: TLS handshake on port {} failed: {}", self->bound_,
                        ec.message());
          conn->end();
          lowest.close();
          co_return;
        }
      }
      beast::flat_buffer buffer;
      while (!self->closed_) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(settings.max_header_bytes));
        // The route decides the body bound; it is known once the path is.
        parser.body_limit(boost::none);
        conn->arm(settings.request_timeout);
        auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
        if (ec) {
          if (ec == http::error::header_limit) {
            const outbound_response rejection = error_reply(431, "request headers are too large");
            co_await write(*self, *conn, rejection, 11, false);
          } else if (ec.category() == make_error_code(http::error::body_limit).category() &&
                     ec != http::error::end_of_stream && ec != http::error::partial_message) {
            {
              const outbound_response rejection =
                  error_reply(400, "malformed HTTP request: " + ec.message());
              co_await write(*self, *conn, rejection, 11, false);
            }
          }
          break;
        }
        const auto& head = parser.get();
        const unsigned version = head.version();
        const std::string target(head.target());
        const auto qmark = target.find('?');
        const std::string path = target.substr(0, qmark);
        const std::string method(head.method_string());

        std::optional<outbound_response> reply;
        std::shared_ptr<const route> target_route;
        std::size_t limit = settings.default_max_payload;
        if (path == "/health") {
          reply = json_reply(200, {{"status", "ok"}});
        } else {
          auto m = self->lookup(path, method);
          if (!m.path_known) {
            reply = error_reply(404, "no event source listens on " + path);
          } else if (!m.found) {
            reply = error_reply(
                405, "method " + method + " is not allowed on " + path + "; allowed: " + m.allowed);
            reply->headers.emplace_back("Allow", m.allowed);
          } else {
            target_route = m.found;
            limit = target_route->max_payload;
          }
        }

        if (!parser.is_done()) {
          if (auto length = parser.content_length(); length && *length > limit) {
            {
              const outbound_response rejection = error_reply(
                  413, "request body exceeds the limit of " + std::to_string(limit) + " bytes");
              co_await write(*self, *conn, rejection, version, false);
            }
            co_await drain(*self, *conn);
            break;
          }
          if (reply && !target_route) {
            // Answer without reading a body we would throw away.
            co_await write(*self, *conn, *reply, version, false);
            co_await drain(*self, *conn);
            break;
          }
          parser.body_limit(limit);
          parse_buffered(parser, buffer, ec);
          if (!ec && !parser.is_done()) {
            if (beast::iequals(head[http::field::expect], "100-continue")) {
              http::response<http::empty_body> go_on{http::status::continue_, version};
              conn->arm(settings.request_timeout);
              auto [wec, wn] = co_await http::async_write(stream, go_on, use_tuple);
              if (wec) break;
            }
            conn->arm(settings.request_timeout);
            std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_tuple);
          }
          if (ec == http::error::body_limit) {
            {
              const outbound_response rejection = error_reply(
                  413, "request body exceeds the limit of " + std::to_string(limit) + " bytes");
              co_await write(*self, *conn, rejection, version, false);
            }
            co_await drain(*self, *conn);
            break;
          }
          if (ec) break;
        }

        auto req = parser.release();
        if (!reply && target_route->auth_token &&
            !bearer_allows(*target_route->auth_token,
                           req.count(http::field::authorization)
                               ? std::optional<std::string_view>(req[http::field::authorization])
                               : std::nullopt)) {
          reply = error_reply(401, "a valid 'Authorization: Bearer <token>' header is required");
          reply->headers.emplace_back("WWW-Authenticate", "Bearer");
        }
        if (!reply) {
          inbound_request in;
          in.method = method;
          in.path = path;
          if (qmark != std::string::npos) in.query = target.substr(qmark + 1);
          for (const auto& field : req)
            in.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
          in.body = std::move(req.body());
          conn->disarm();
          // Named locals, not temporaries in the co_await expression: GCC 12
          // destroys such temporaries twice.
          if (target_route->async_handler) {
            auto request = std::make_shared<const inbound_request>(std::move(in));
            outbound_response handled = co_await run_async(target_route, request);
            reply = std::move(handled);
          } else {
            auto pool = self->closed_ ? nullptr : self->pool_.lock();
            if (!pool) {
              reply = error_reply(503, "the event sources are stopping");
            } else {
              std::function<outbound_response()> job = make_job(target_route, std::move(in));
              outbound_response handled = co_await run_on(std::move(pool), std::move(job));
              reply = std::move(handled);
            }
          }
        }
        const bool keep_alive = req.keep_alive() && !self->closed_;
        if (!co_await write(*self, *conn, *reply, version, keep_alive) || !keep_alive) break;
      }
    } catch (const std::exception& e) {
      spdlog::debug("event sources: connection on port {} failed: {}", self->bound_, e.what());
    }
    conn->end();
    boost::system::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest.close();
  }

  hub_settings settings_;
  asio::any_io_executor io_;
  std::weak_ptr<asio::thread_pool> pool_;  // owned by the hub's owner; see session()
  // Sessions hold the listener and run on these threads: a strong
  // reference here would let a session's end join its own thread.
  std::weak_ptr<connection_contexts> contexts_;
  bool own_threads_ = false;  // false: strands on io_
  tcp::acceptor acceptor_;
  std::unique_ptr<ssl::context> ssl_;
  std::atomic<bool> closed_{false};
  std::uint16_t bound_ = 0;
  std::mutex mutex_;
  std::vector<std::shared_ptr<const route>> routes_;
  std::vector<std::weak_ptr<connection_base>> connections_;
};

// ---------------------------------------------------------------------------

http_hub::http_hub(hub_settings settings, asio::any_io_executor io,
                   std::shared_ptr<asio::thread_pool> pool)
    : settings_(std::move(settings)), io_(std::move(io)), pool_(std::move(pool)) {
  if (settings_.connection_threads > 0)
    contexts_ = std::make_shared<connection_contexts>(settings_.connection_threads);
}

http_hub::~http_hub() {
  stop_all();
}

result<void> http_hub::add_route(std::uint16_t port, const std::optional<tls_material>& tls,
                                 std::shared_ptr<const route> r) {
  std::lock_guard lock(mutex_);
  auto it = listeners_.find(port);
  if (it == listeners_.end()) {
    auto l = std::make_shared<port_listener>(settings_, io_, pool_, contexts_);
    if (auto opened = l->open(port, tls); !opened) return opened.error();
    it = listeners_.emplace(port, std::move(l)).first;
  } else if (it->second->tls() != tls.has_value()) {
    return make_error(errc::conflict, "port " + std::to_string(port) + " is already served " +
                                          (it->second->tls() ? "with" : "without") +
                                          " TLS; every endpoint of a port must agree");
  }
  return it->second->add(std::move(r));
}

void http_hub::remove_route(std::uint16_t port, const route* r) {
  std::lock_guard lock(mutex_);
  auto it = listeners_.find(port);
  if (it == listeners_.end()) return;
  it->second->remove(r);
}

void http_hub::prune() {
  std::lock_guard lock(mutex_);
  for (auto it = listeners_.begin(); it != listeners_.end();) {
    if (it->second->empty()) {
      it->second->close();
      it = listeners_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<std::uint16_t> http_hub::bound_port(std::uint16_t configured) const {
  std::lock_guard lock(mutex_);
  auto it = listeners_.find(configured);
  if (it == listeners_.end()) return std::nullopt;
  return it->second->bound();
}

void http_hub::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [port, l] : listeners_) l->close();
  listeners_.clear();
}

}  // namespace kairos::eventsources
