#include "http/listener.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

namespace kairos::eventsources {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST(http_listener, responses_carry_length_and_the_connection_header_the_version_needs) {
  outbound_response res = success_reply();
  EXPECT_EQ(serialize_response(res, 11, true),
            "HTTP/1.1 200 OK\r\nServer: kairos\r\nContent-Type: application/json\r\n"
            "Content-Length: 20\r\n\r\n{\"status\":\"success\"}");
  const auto closing = serialize_response(res, 11, false);
  EXPECT_NE(closing.find("\r\nConnection: close\r\n"), std::string::npos);
  const auto old_kept = serialize_response(res, 10, true);
  EXPECT_EQ(old_kept.rfind("HTTP/1.0 200 OK\r\n", 0), 0u);
  EXPECT_NE(old_kept.find("\r\nConnection: keep-alive\r\n"), std::string::npos);
  EXPECT_EQ(serialize_response(res, 10, false).find("Connection:"), std::string::npos);

  auto denied = error_reply(405, "no");
  denied.headers.emplace_back("Allow", "POST");
  denied.headers.emplace_back("X-Injected", "a\r\nSet-Cookie: b");
  const auto text = serialize_response(denied, 11, true);
  EXPECT_EQ(text.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u);
  EXPECT_NE(text.find("\r\nAllow: POST\r\n"), std::string::npos);
  // A header value with a line break is dropped, not sent as two headers.
  EXPECT_EQ(text.find("Set-Cookie"), std::string::npos);
  EXPECT_NE(text.find("\r\nContent-Length: " + std::to_string(denied.body.size()) + "\r\n\r\n"),
            std::string::npos);
}

// POST /hook, answered 200 by a blocking handler (run on the pool).
std::shared_ptr<route> hook_route() {
  auto r = std::make_shared<route>();
  r->endpoint = "/hook";
  r->method = "POST";
  r->owner = "test/hook";
  r->handler = [](const inbound_request&) { return success_reply(); };
  return r;
}

TEST(http_listener, a_port_already_taken_is_an_error_that_says_so) {
  asio::io_context io;
  asio::ip::tcp::acceptor taken(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = taken.local_endpoint().port();
  auto pool = std::make_shared<asio::thread_pool>(1);
  auto hub = std::make_shared<http_hub>(hub_settings{}, io.get_executor(), pool);
  auto r = hook_route();
  auto added = hub->add_route(port, std::nullopt, r);
  ASSERT_FALSE(added.ok());
  EXPECT_EQ(added.error().message,
            "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
  hub->stop_all();
  pool->join();
}

// A request whose blocking handler was queued on a pool its owner had
// already joined must not keep the listener, and through it the pool,
// alive: once the pool's owner lets go, the queued job and the request's
// coroutine are freed (a cycle here leaked all three at shutdown).
TEST(http_listener, a_job_queued_on_a_joined_pool_is_freed_with_the_pool) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });

  auto pool = std::make_shared<asio::thread_pool>(1);
  hub_settings settings;
  settings.ephemeral_ports = true;
  auto hub = std::make_shared<http_hub>(settings, io.get_executor(), pool);
  auto r = hook_route();
  ASSERT_TRUE(hub->add_route(1, std::nullopt, r));
  const auto port = hub->bound_port(1);
  ASSERT_TRUE(port);

  pool->join();  // the owner stops; no thread will run what comes next

  asio::io_context client_io;
  asio::ip::tcp::socket client(client_io);
  client.connect({asio::ip::make_address("127.0.0.1"), *port});
  const std::string request = "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
  asio::write(client, asio::buffer(request));

  // The request's coroutine holds the route, and so does the job it made
  // for the pool.
  for (int i = 0; i < 6000 && r.use_count() < 3; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GE(r.use_count(), 3);

  // As the server stops: listeners closed, then the I/O threads (the job is
  // queued by then: it is made and queued in one handler), then the owners.
  hub->stop_all();
  guard.reset();
  io.stop();
  io_thread.join();
  hub.reset();
  std::weak_ptr<asio::thread_pool> watched = pool;
  pool.reset();  // the last owner: the queued job goes with the pool
  EXPECT_TRUE(watched.expired());
  // asio unwinds a dropped coroutine through its own executor.
  io.restart();
  while (io.poll() > 0) {
  }
  EXPECT_EQ(r.use_count(), 1);
}

// Reads a response whose body is Content-Length long; "" on a closed socket.
std::string read_response(asio::ip::tcp::socket& s, asio::streambuf& buf) {
  boost::system::error_code ec;
  asio::read_until(s, buf, "\r\n\r\n", ec);
  if (ec) return "";
  std::string text(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  const auto end = text.find("\r\n\r\n") + 4;
  const auto at = text.find("Content-Length: ");
  const std::size_t body = at < end ? std::stoul(text.substr(at + 16)) : 0;
  if (text.size() < end + body) {
    asio::read(s, buf, asio::transfer_exactly(end + body - text.size()), ec);
    if (ec) return "";
    text.assign(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  }
  buf.consume(end + body);
  return text.substr(0, end + body);
}

// With threads of its own, the hub serves each connection on one of them:
// requests are answered there (not on the shared I/O thread), the answer of
// an asynchronous route may come from any thread, connections are spread
// over every thread, and destroying the hub with a connection still open
// returns and frees what the sessions held.
TEST(http_listener, connections_on_the_hubs_own_threads_are_served_there_and_end_with_the_hub) {
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread io_thread([&] { io.run(); });
  auto pool = std::make_shared<asio::thread_pool>(1);
  asio::thread_pool answerer(1);  // stands in for the journal's writer

  std::mutex mutex;
  std::set<std::thread::id> handled_on;
  auto r = std::make_shared<route>();
  r->endpoint = "/hook";
  r->method = "POST";
  r->owner = "test/hook";
  r->async_handler = [&](const inbound_request&, route::done_fn done) {
    {
      std::lock_guard lock(mutex);
      handled_on.insert(std::this_thread::get_id());
    }
    asio::post(answerer, [done = std::move(done)] { done(success_reply()); });
  };

  hub_settings settings;
  settings.ephemeral_ports = true;
  settings.connection_threads = 2;
  auto hub = std::make_shared<http_hub>(settings, io.get_executor(), pool);
  ASSERT_TRUE(hub->add_route(1, std::nullopt, r));
  const auto port = hub->bound_port(1);
  ASSERT_TRUE(port);

  asio::io_context client_io;
  std::vector<asio::ip::tcp::socket> clients;
  std::vector<asio::streambuf> buffers(4);
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back(client_io);
    clients.back().connect({asio::ip::make_address("127.0.0.1"), *port});
  }
  const std::string request = "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
  for (int round = 0; round < 3; ++round) {
    for (auto& c : clients) asio::write(c, asio::buffer(request));
    for (std::size_t c = 0; c < clients.size(); ++c) {
      const auto response = read_response(clients[c], buffers[c]);
      EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
      EXPECT_NE(response.find("{\"status\":\"success\"}"), std::string::npos) << response;
    }
  }
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(handled_on.size(), 2u);  // four connections, two threads, taking turns
    EXPECT_EQ(handled_on.count(io_thread.get_id()), 0u);
  }

  // The connections are still open, idle between requests.
  hub.reset();
  for (auto& c : clients) {
    boost::system::error_code ec;
    asio::streambuf rest;
    asio::read(c, rest, ec);
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  }
  // The accept loop ends on the shared thread, which then runs out of work.
  guard.reset();
  io_thread.join();
  EXPECT_EQ(r.use_count(), 1);
  answerer.join();
  pool->join();
}

// The shared I/O thread and the blocking pool a hub is given, for one test;
// hubs must be gone before it ends.
struct hub_threads {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::thread thread{[this] { io.run(); }};
  std::shared_ptr<asio::thread_pool> pool = std::make_shared<asio::thread_pool>(1);
  ~hub_threads() {
    guard.reset();
    thread.join();
    pool->join();
  }

  // A hub on these threads serving `r` on an ephemeral port, and that port
  // (empty when the route could not be added).
  std::pair<std::shared_ptr<http_hub>, std::optional<std::uint16_t>> serve(
      hub_settings settings, std::shared_ptr<const route> r) {
    settings.ephemeral_ports = true;
    auto hub = std::make_shared<http_hub>(settings, io.get_executor(), pool);
    if (!hub->add_route(1, std::nullopt, std::move(r))) return {hub, std::nullopt};
    return {hub, hub->bound_port(1)};
  }
};

// The answer is sent at once when the socket takes it, and the rest is
// written as the client reads; a body that follows its header later (after
// 100 Continue) is read rather than taken from the header's segment.
TEST(http_listener, a_late_body_and_an_answer_larger_than_the_socket_buffer_arrive_whole) {
  hub_threads threads;

  // Bytes that differ along the whole answer, so a resumed write that
  // started at the wrong place shows.
  std::string big(6 << 20, ' ');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i / 7) % 26);
  auto r = std::make_shared<route>();
  r->endpoint = "/hook";
  r->method = "POST";
  r->owner = "test/hook";
  r->handler = [&big](const inbound_request& in) {
    outbound_response res;
    res.status = 200;
    res.content_type = "text/plain";
    res.body = in.body == "large" ? big : "got " + in.body;
    return res;
  };

  hub_settings settings;
  settings.connection_threads = 1;
  auto [hub, port] = threads.serve(settings, r);
  ASSERT_TRUE(port);

  asio::io_context client_io;
  asio::ip::tcp::socket client(client_io);
  client.connect({asio::ip::make_address("127.0.0.1"), *port});
  asio::streambuf buf;

  asio::write(client,
              asio::buffer(std::string("POST /hook HTTP/1.1\r\nHost: x\r\n"
                                       "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n")));
  asio::read_until(client, buf, "\r\n\r\n");
  std::string interim(asio::buffers_begin(buf.data()), asio::buffers_end(buf.data()));
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  buf.consume(interim.find("\r\n\r\n") + 4);
  asio::write(client, asio::buffer(std::string("hello")));
  const auto small = read_response(client, buf);
  EXPECT_EQ(small.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << small;
  EXPECT_EQ(small.substr(small.find("\r\n\r\n") + 4), "got hello");

  // Kept alive: the next request, with its body in the same segment.
  asio::write(client,
              asio::buffer(std::string("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                       "\r\nlarge")));
  const auto large = read_response(client, buf);
  ASSERT_EQ(large.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << large.substr(0, 200);
  EXPECT_TRUE(large.substr(large.find("\r\n\r\n") + 4) == big);

  hub.reset();
}

// request_timeout bounds each wait on the client: a request that stops
// halfway, and a kept-alive connection that sends nothing more, are both
// closed by the server.
TEST(http_listener, a_stalled_request_and_an_idle_connection_are_closed_at_the_request_timeout) {
  hub_threads threads;
  auto r = hook_route();

  for (const std::size_t own : {0, 2}) {
    hub_settings settings;
    settings.connection_threads = own;
    settings.request_timeout = 100ms;
    auto [hub, port] = threads.serve(settings, r);
    ASSERT_TRUE(port);

    asio::io_context client_io;
    asio::ip::tcp::socket stalled(client_io);
    asio::ip::tcp::socket idle(client_io);
    stalled.connect({asio::ip::make_address("127.0.0.1"), *port});
    idle.connect({asio::ip::make_address("127.0.0.1"), *port});
    asio::write(stalled, asio::buffer(std::string("POST /hook HTTP/1.1\r\nHost: x\r\n")));
    asio::write(
        idle,
        asio::buffer(std::string("POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")));
    asio::streambuf buf;
    const auto answered = read_response(idle, buf);
    EXPECT_EQ(answered.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answered;

    // Both reads end when the server closes; the client gives up long after.
    std::vector<boost::system::error_code> ended;
    std::array<char, 64> sink{};
    for (auto* s : {&stalled, &idle})
      s->async_read_some(asio::buffer(sink),
                         [&](boost::system::error_code ec, std::size_t) { ended.push_back(ec); });
    client_io.run_for(30s);
    ASSERT_EQ(ended.size(), 2u) << "with " << own << " threads";
    for (const auto& ec : ended)
      EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    hub.reset();
  }
}

}  // namespace
}  // namespace kairos::eventsources
