#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "manager_fixture.hpp"

namespace kairos::testing {
namespace {

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A throwaway self-signed P-256 certificate for 127.0.0.1.
std::pair<std::string, std::string> self_signed() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  auto out = std::make_pair(bio_text(cert_bio), bio_text(key_bio));
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

using webhook_tls = manager_fixture;

TEST_F(webhook_tls, serves_https_with_the_secret_certificate) {
  auto [cert, key] = self_signed();
  store_.write_secret("tls", "crt", cert);
  store_.write_secret("tls", "key", key);
  start();
  apply(R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: secure
spec:
  webhook:
    secure:
      endpoint: /secure
      method: POST
      port: "12443"
      serverCertSecret: {name: tls, key: crt}
      serverKeySecret: {name: tls, key: key}
)");
  ASSERT_TRUE(manager_->errors().empty()) << manager_->errors()[0];
  const auto p = port(12443);
  auto r = send_tls(p, http::verb::post, "/secure", R"({"x":1})");
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(send_tls(p, http::verb::get, "/health").status, 200u);
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["body"]["x"], 1);
}

}  // namespace
}  // namespace kairos::testing
