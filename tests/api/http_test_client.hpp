#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace kairos::testing {

namespace http = boost::beast::http;

struct reply {
  unsigned status = 0;
  std::string body;
  http::fields headers;

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(http::field f) const { return std::string(headers[f]); }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

// A blocking HTTP/1.1 client over one connection, for driving the server in
// tests. Several requests may go over the same connection (keep-alive).
class http_test_client {
 public:
  explicit http_test_client(std::uint16_t port) : socket_(ioc_) {
    boost::asio::ip::tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
    socket_.connect(ep);
  }

  reply send(http::verb method, const std::string& target, const std::string& body = {},
             const header_list& headers = {}) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) req.set(name, value);
    if (!body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    boost::system::error_code ec;
    // A rejected body may make the write fail; the response still counts.
    http::write(socket_, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::read(socket_, buffer_, parser, ec);
    reply r;
    if (ec && !parser.is_header_done()) return r;
    auto res = parser.release();
    r.status = res.result_int();
    r.body = res.body();
    r.headers = res.base();
    return r;
  }

  // True when the server closed the connection (reads EOF).
  bool closed_by_server() {
    boost::system::error_code ec;
    char c;
    socket_.read_some(boost::asio::buffer(&c, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

inline reply send_once(std::uint16_t port, http::verb method, const std::string& target,
                       const std::string& body = {}, const header_list& headers = {}) {
  http_test_client client(port);
  return client.send(method, target, body, headers);
}

}  // namespace kairos::testing
