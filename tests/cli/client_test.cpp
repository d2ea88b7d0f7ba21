#include "kairos/api/client.hpp"

#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace kairos::api {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// Answers exactly one request with a canned response and keeps what it got.
class one_shot_server {
 public:
  one_shot_server(unsigned status, std::string body)
      : acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this, status, body = std::move(body)] {
      boost::system::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec) return;
      boost::beast::flat_buffer buffer;
      http::read(socket, buffer, request_, ec);
      if (ec) return;
      http::response<http::string_body> res{static_cast<http::status>(status), 11};
      res.set(http::field::content_type, "application/json");
      res.body() = body;
      res.prepare_payload();
      http::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    });
  }
  ~one_shot_server() {
    if (thread_.joinable()) thread_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  // Valid once the client call has returned.
  const http::request<http::string_body>& request() {
    thread_.join();
    return request_;
  }

 private:
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  http::request<http::string_body> request_;
  std::thread thread_;
};

client make_client(const std::string& url, std::string token = "") {
  client_settings s;
  s.server = url;
  s.token = std::move(token);
  s.timeout = std::chrono::seconds(10);
  return client(s);
}

TEST(client, success_returns_the_json_body_and_sends_method_path_and_bearer_token) {
  one_shot_server server(200, R"({"metadata":{"name":"wf-1"}})");
  auto c = make_client(server.url(), "s3cret");
  nlohmann::json body = {{"workflow", {{"kind", "Workflow"}}}};
  auto res = c.request("POST", "/api/v1/workflows/default", &body);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ((*res)["metadata"]["name"], "wf-1");
  const auto& req = server.request();
  EXPECT_EQ(req.method(), http::verb::post);
  EXPECT_EQ(req.target(), "/api/v1/workflows/default");
  EXPECT_EQ(req[http::field::authorization], "Bearer s3cret");
  EXPECT_EQ(nlohmann::json::parse(req.body()), body);
}

TEST(client, no_token_sends_no_authorization_header) {
  one_shot_server server(200, "{}");
  ASSERT_TRUE(make_client(server.url()).version().ok());
  EXPECT_EQ(server.request().count(http::field::authorization), 0u);
}

TEST(client, http_errors_map_to_error_codes_with_the_server_message) {
  struct expectation {
    unsigned status;
    errc code;
  };
  for (auto [status, code] :
       {expectation{400, errc::invalid_argument}, expectation{401, errc::unauthenticated},
        expectation{404, errc::not_found}, expectation{409, errc::already_exists},
        expectation{413, errc::payload_too_large}, expectation{503, errc::unavailable},
        expectation{500, errc::internal}}) {
    one_shot_server server(status, R"({"code":5,"message":"workflow \"x\" not found"})");
    auto res = make_client(server.url()).get("workflows", "default", "x");
    ASSERT_FALSE(res.ok()) << status;
    EXPECT_EQ(res.error().code, code) << status;
    EXPECT_EQ(res.error().message, "workflow \"x\" not found");
  }
}

TEST(client, error_without_json_message_falls_back_to_the_status_line) {
  auto e = error_from_response(502, "Bad Gateway", "<html>oops</html>");
  EXPECT_EQ(e.code, errc::internal);
  EXPECT_EQ(e.message, "502 Bad Gateway");
}

TEST(client, conflict_with_aborted_code_is_a_conflict_not_already_exists) {
  EXPECT_EQ(error_from_response(409, "Conflict", R"({"code":10,"message":"stale"})").code,
            errc::conflict);
  EXPECT_EQ(error_from_response(409, "Conflict", R"({"code":6,"message":"exists"})").code,
            errc::already_exists);
}

TEST(client, refused_connection_is_unavailable_and_names_the_server) {
  // Bound but not listening: connecting is refused, and no test running
  // beside this one can take the port meanwhile (as it could a closed one).
  asio::io_context ioc;
  tcp::acceptor held(ioc);
  held.open(tcp::v4());
  held.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::string url = "http://127.0.0.1:" + std::to_string(held.local_endpoint().port());
  auto res = make_client(url, "s3cret").list("workflows", "default");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, errc::unavailable);
  EXPECT_NE(res.error().message.find("cannot reach the kairos server at " + url), std::string::npos)
      << res.error().message;
  EXPECT_EQ(res.error().message.find("s3cret"), std::string::npos);
}

TEST(client, invalid_server_urls_are_rejected_before_connecting) {
  for (const char* url : {"not a url", "https://example.com", "ftp://host/"}) {
    auto res = make_client(url).version();
    ASSERT_FALSE(res.ok()) << url;
    EXPECT_EQ(res.error().code, errc::invalid_argument) << url;
  }
}

TEST(client, path_segments_are_percent_encoded_and_cluster_kinds_have_no_namespace) {
  EXPECT_EQ(client::item_path("workflows", "default", "a b/c"),
            "/api/v1/workflows/default/a%20b%2Fc");
  EXPECT_EQ(client::collection_path("cluster-workflow-templates", "ignored"),
            "/api/v1/cluster-workflow-templates");
  EXPECT_EQ(client::body_key("cron-workflows"), "cronWorkflow");
  EXPECT_EQ(client::body_key("cluster-workflow-templates"), "template");
}

TEST(client, server_url_path_prefix_is_kept) {
  one_shot_server server(200, "{}");
  ASSERT_TRUE(make_client(server.url() + "/kairos/").version().ok());
  EXPECT_EQ(server.request().target(), "/kairos/api/v1/version");
}

}  // namespace
}  // namespace kairos::api
