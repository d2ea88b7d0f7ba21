#include "http/listener.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

namespace kairos::eventsources {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

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
  auto r = std::make_shared<route>();
  r->endpoint = "/hook";
  r->method = "POST";
  r->owner = "test/hook";
  r->handler = [](const inbound_request&) { return success_reply(); };
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

}  // namespace
}  // namespace kairos::eventsources
