#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "kairos/core/http_client.hpp"

namespace kairos::http_client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

// A self-signed certificate for 127.0.0.1, made in memory: no CA trusts it,
// which is what the verification tests need.
struct self_signed {
  self_signed() {
    key = EVP_EC_gen("P-256");
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* san =
        X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");
    X509_add_ext(cert, san, -1);
    X509_EXTENSION_free(san);
    X509_sign(cert, key, EVP_sha256());
  }
  ~self_signed() {
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
};

class tls_server {
 public:
  tls_server()
      : tls_(asio::ssl::context::tls_server),
        acceptor_(context_, {asio::ip::make_address("127.0.0.1"), 0}) {
    SSL_CTX_use_certificate(tls_.native_handle(), cert_.cert);
    SSL_CTX_use_PrivateKey(tls_.native_handle(), cert_.key);
    asio::co_spawn(context_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { context_.run(); });
  }
  ~tls_server() {
    context_.stop();
    thread_.join();
  }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(context_, serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    boost::system::error_code ec;
    beast::ssl_stream<asio::ip::tcp::socket> stream(std::move(socket), tls_);
    co_await stream.async_handshake(asio::ssl::stream_base::server,
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.body() = "secure " + std::string(req.target());
    res.keep_alive(false);
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_await stream.async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }

  self_signed cert_;
  asio::ssl::context tls_;
  asio::io_context context_;
  asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST(http_client_tls, https_works_when_verification_is_skipped) {
  tls_server server;
  request r;
  r.url = server.url("/path?q=1");
  r.insecure_skip_verify = true;
  r.timeout = std::chrono::milliseconds(10000);
  auto res = perform(r);
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "secure /path?q=1");
}

TEST(http_client_tls, untrusted_certificate_is_rejected_by_default) {
  tls_server server;
  request r;
  r.url = server.url("/");
  r.timeout = std::chrono::milliseconds(10000);
  auto res = perform(r);
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.error().code, errc::unavailable);
  EXPECT_NE(res.error().message.find("TLS handshake"), std::string::npos) << res.error().message;
}

}  // namespace
}  // namespace kairos::http_client
