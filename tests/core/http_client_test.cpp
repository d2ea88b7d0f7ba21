#include "kairos/core/http_client.hpp"

#include <string>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>

#include "http_test_server.hpp"

namespace kairos::http_client {
namespace {

using kairos::testing::http_test_server;

std::string header(const response& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

request get(std::string url, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  request r;
  r.url = std::move(url);
  r.timeout = timeout;
  return r;
}

http_test_server::handler routes() {
  return [](const http_test_server::request& req) -> std::optional<http_test_server::response> {
    const std::string target(req.target());
    if (target == "/hello") {
      auto res = http_test_server::make(200, "hello " + std::string(req.method_string()));
      res.set("X-Reply", "yes");
      return res;
    }
    if (target == "/echo") {
      auto res = http_test_server::make(201, req.body());
      res.set("X-Seen", std::string(req["X-Test"]));
      res.set("X-Method", std::string(req.method_string()));
      return res;
    }
    if (target == "/query?a=1&b=two") return http_test_server::make(200, "query ok");
    if (target == "/big") return http_test_server::make(200, std::string(4096, 'x'));
    if (target == "/never") return std::nullopt;
    return http_test_server::make(404, "no such page");
  };
}

TEST(http_client, get_returns_status_headers_and_body) {
  http_test_server server(routes());
  auto res = perform(get(server.url("/hello")));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "hello GET");
  EXPECT_EQ(header(*res, "X-Reply"), "yes");
}

TEST(http_client, post_sends_body_and_custom_headers) {
  http_test_server server(routes());
  request r;
  r.method = "POST";
  r.url = server.url("/echo");
  r.headers = {{"X-Test", "abc"}, {"Content-Type", "application/json"}};
  r.body = R"({"k":1})";
  auto res = perform(r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->body, R"({"k":1})");
  EXPECT_EQ(header(*res, "X-Seen"), "abc");
  EXPECT_EQ(header(*res, "X-Method"), "POST");
}

TEST(http_client, query_string_is_sent_in_the_target) {
  http_test_server server(routes());
  auto res = perform(get(server.url("/query?a=1&b=two")));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->body, "query ok");
}

TEST(http_client, error_status_is_a_response_not_an_error) {
  http_test_server server(routes());
  auto res = perform(get(server.url("/nothing-here")));
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->body, "no such page");
}

TEST(http_client, unanswered_request_times_out_with_an_error) {
  http_test_server server(routes());
  request r;
  r.url = server.url("/never");
  r.timeout = std::chrono::milliseconds(200);
  auto res = perform(r);
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.error().message.find("timed out"), std::string::npos) << res.error().message;
}

TEST(http_client, body_over_the_limit_is_an_error) {
  http_test_server server(routes());
  request r;
  r.url = server.url("/big");
  r.max_response_bytes = 1000;
  auto res = perform(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, errc::payload_too_large);
  r.max_response_bytes = 4096;
  auto fits = perform(r);
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->body.size(), 4096u);
}

TEST(http_client, malformed_or_unsupported_urls_are_rejected) {
  for (const char* url : {"", "not a url", "ftp://example.com/x", "http://", "http://:80/x",
                          "http://127.0.0.1:99999/"}) {
    auto res = perform(get(url));
    ASSERT_FALSE(res.ok()) << url;
    EXPECT_EQ(res.error().code, errc::invalid_argument) << url << ": " << res.error().message;
  }
}

TEST(http_client, refused_connection_is_an_error) {
  // Bound but not listening: connecting is refused, and no test running
  // beside this one can take the port meanwhile (as it could a closed one).
  boost::asio::io_context context;
  boost::asio::ip::tcp::acceptor held(context);
  held.open(boost::asio::ip::tcp::v4());
  held.bind({boost::asio::ip::address_v4::loopback(), 0});
  const auto port = held.local_endpoint().port();
  auto res = perform(
      get("http://127.0.0.1:" + std::to_string(port) + "/hello", std::chrono::milliseconds(2000)));
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, errc::unavailable);
}

TEST(http_client, awaitable_form_runs_on_the_callers_io_context) {
  http_test_server server(routes());
  boost::asio::io_context context;
  auto future = boost::asio::co_spawn(
      context,
      [&]() -> boost::asio::awaitable<int> {
        auto res = co_await async_perform(get(server.url("/hello")));
        co_return res.ok() ? res->status : -1;
      },
      boost::asio::use_future);
  context.run();
  EXPECT_EQ(future.get(), 200);
}

}  // namespace
}  // namespace kairos::http_client
