#pragma once

// A tiny HTTP/1.1 server for tests: binds 127.0.0.1 on port 0, runs its own
// io_context on a thread and answers each request with a handler. A handler
// returning nullopt never answers (the connection stays open until the client
// gives up), which is how tests provoke client timeouts without sleeping.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace kairos::testing {

class http_test_server {
 public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;
  using response = boost::beast::http::response<boost::beast::http::string_body>;
  using handler = std::function<std::optional<response>(const request&)>;

  explicit http_test_server(handler h)
      : handler_(std::move(h)),
        acceptor_(context_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    boost::asio::co_spawn(context_, accept_loop(), boost::asio::detached);
    thread_ = std::thread([this] { context_.run(); });
  }

  ~http_test_server() {
    context_.stop();
    thread_.join();
  }

  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }

  static response make(int status, std::string body) {
    response res{static_cast<boost::beast::http::status>(status), 11};
    res.body() = std::move(body);
    res.prepare_payload();
    return res;
  }

 private:
  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor_.async_accept(
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;
      boost::asio::co_spawn(context_, serve(std::move(socket)), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket) {
    namespace http = boost::beast::http;
    boost::beast::flat_buffer buffer;
    for (;;) {
      boost::system::error_code ec;
      request req;
      co_await http::async_read(socket, buffer, req,
                                boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;
      auto res = handler_(req);
      if (!res) continue;  // never answer; the next read ends when the client closes
      res->keep_alive(false);
      co_await http::async_write(socket, *res,
                                 boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      co_return;
    }
  }

  handler handler_;
  boost::asio::io_context context_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace kairos::testing
