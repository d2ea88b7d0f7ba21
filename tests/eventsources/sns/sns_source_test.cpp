#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "http_test_server.hpp"
#include "kairos/core/json_path.hpp"
#include "manager_fixture.hpp"
#include "sns/sns_source.hpp"

namespace {

using kairos::testing::http_test_server;
namespace http = boost::beast::http;

// A self-signed RSA certificate playing SNS's signing certificate.
struct signer {
  signer() {
    key.reset(EVP_RSA_gen(2048));
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key.get());
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("sns.test"), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_sign(x, key.get(), EVP_sha256());
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, x);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    pem.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    X509_free(x);
  }
  std::string sign(const std::string& text, const EVP_MD* md) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, md, nullptr, key.get());
    std::size_t length = 0;
    EVP_DigestSign(ctx, nullptr, &length, reinterpret_cast<const unsigned char*>(text.data()),
                   text.size());
    std::string sig(length, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &length,
                   reinterpret_cast<const unsigned char*>(text.data()), text.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(length);
    std::string b64(4 * ((sig.size() + 2) / 3) + 1, '\0');
    const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                                        reinterpret_cast<const unsigned char*>(sig.data()),
                                        static_cast<int>(sig.size()));
    b64.resize(static_cast<std::size_t>(written));
    return b64;
  }
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr, &EVP_PKEY_free};
  std::string pem;
};

class sns_source : public kairos::testing::manager_fixture {
 protected:
  void SetUp() override {
    manager_fixture::SetUp();
    kairos::eventsources::sns_trust_any_url_for_testing = true;
  }
  void TearDown() override {
    kairos::eventsources::sns_trust_any_url_for_testing = false;
    manager_fixture::TearDown();
  }
  void apply_sns(bool validate) {
    apply(std::string("apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata:\n"
                      "  name: aws\n  namespace: ns\nspec:\n  sns:\n    s3:\n"
                      "      topicArn: arn:aws:sns:us-east-1:123:uploads\n"
                      "      region: us-east-1\n      validateSignature: ") +
          (validate ? "true" : "false") +
          "\n      metadata: {via: sns}\n      webhook:\n        endpoint: /sns\n"
          "        port: \"12000\"\n        method: POST\n");
  }
  nlohmann::json notification(const std::string& id) {
    return {{"Type", "Notification"},
            {"MessageId", id},
            {"TopicArn", "arn:aws:sns:us-east-1:123:uploads"},
            {"Subject", "Amazon S3 Notification"},
            {"Message", "{\"Records\":[{\"s3\":{\"object\":{\"key\":\"a.csv\"}}}]}"},
            {"Timestamp", "2023-11-14T22:13:20.000Z"},
            {"SignatureVersion", "1"},
            {"Signature", "x"},
            {"SigningCertURL", cert_server_.url("/cert.pem")}};
  }
  void sign(nlohmann::json& m, const EVP_MD* md = EVP_sha1()) {
    m["Signature"] = signer_.sign(*kairos::eventsources::sns_string_to_sign(m), md);
  }
  kairos::testing::reply post(const nlohmann::json& m) {
    return kairos::testing::send(port(12000), http::verb::post, "/sns", m.dump(),
                                 {{"x-amz-sns-message-type", m.value("Type", "")}});
  }

  signer signer_;
  std::atomic<int> cert_fetches_{0};
  http_test_server cert_server_{[this](const http_test_server::request&) {
    ++cert_fetches_;
    return http_test_server::make(200, signer_.pem);
  }};
};

TEST_F(sns_source, notification_is_emitted_as_header_body_metadata) {
  start();
  apply_sns(false);
  auto r = post(notification("m-1"));
  EXPECT_EQ(r.status, 200u) << r.body;
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  const auto data = events[0].body["data"];
  EXPECT_EQ(data["body"]["MessageId"], "m-1");
  EXPECT_EQ(data["metadata"]["via"], "sns");
  EXPECT_EQ(data["header"]["X-Amz-Sns-Message-Type"][0], "Notification");
}

TEST_F(sns_source, a_redelivered_message_id_is_a_duplicate) {
  start();
  apply_sns(false);
  EXPECT_EQ(post(notification("m-1")).status, 200u);
  EXPECT_EQ(post(notification("m-1")).status, 200u);
  EXPECT_EQ(store_.events().size(), 1u);
}

TEST_F(sns_source, subscription_confirmation_fetches_the_subscribe_url) {
  std::atomic<int> confirmed{0};
  http_test_server sns([&](const http_test_server::request& req) {
    if (req.target() == "/confirm?Token=t1") ++confirmed;
    return http_test_server::make(200, "<ConfirmSubscriptionResponse/>");
  });
  start();
  apply_sns(false);
  nlohmann::json m = {{"Type", "SubscriptionConfirmation"},
                      {"MessageId", "c-1"},
                      {"Token", "t1"},
                      {"TopicArn", "arn:aws:sns:us-east-1:123:uploads"},
                      {"Message", "You have chosen to subscribe"},
                      {"SubscribeURL", sns.url("/confirm?Token=t1")},
                      {"Timestamp", "2023-11-14T22:13:20.000Z"}};
  EXPECT_EQ(post(m).status, 200u);
  EXPECT_EQ(confirmed, 1);
  EXPECT_TRUE(store_.events().empty());
}

TEST_F(sns_source, a_failed_confirmation_is_not_answered_200_so_sns_retries) {
  http_test_server sns(
      [](const http_test_server::request&) { return http_test_server::make(403, "denied"); });
  start();
  apply_sns(false);
  nlohmann::json m = {{"Type", "SubscriptionConfirmation"}, {"SubscribeURL", sns.url("/c")}};
  EXPECT_EQ(post(m).status, 502u);
}

TEST_F(sns_source, valid_sha1_and_sha256_signatures_are_accepted) {
  start();
  apply_sns(true);
  auto v1 = notification("m-1");
  sign(v1);
  EXPECT_EQ(post(v1).status, 200u);
  auto v2 = notification("m-2");
  v2["SignatureVersion"] = "2";
  sign(v2, EVP_sha256());
  EXPECT_EQ(post(v2).status, 200u);
  EXPECT_EQ(store_.events().size(), 2u);
  EXPECT_EQ(cert_fetches_, 1);  // cached
}

TEST_F(sns_source, a_tampered_message_is_rejected_401_and_not_emitted) {
  start();
  apply_sns(true);
  auto m = notification("m-1");
  sign(m);
  m["Message"] = "something else";
  auto r = post(m);
  EXPECT_EQ(r.status, 401u);
  EXPECT_TRUE(store_.events().empty());
}

TEST_F(sns_source, a_non_sns_certificate_url_is_refused_without_fetching_it) {
  kairos::eventsources::sns_trust_any_url_for_testing = false;
  start();
  apply_sns(true);
  auto m = notification("m-1");
  sign(m);
  EXPECT_EQ(post(m).status, 401u);
  EXPECT_EQ(cert_fetches_, 0);
}

TEST_F(sns_source, a_body_that_is_not_json_is_400) {
  start();
  apply_sns(false);
  auto r = kairos::testing::send(port(12000), http::verb::post, "/sns", "not json");
  EXPECT_EQ(r.status, 400u);
}

TEST(sns_signing, string_to_sign_follows_aws_field_order_and_skips_absent_subject) {
  nlohmann::json m = {{"Type", "Notification"},
                      {"MessageId", "id"},
                      {"TopicArn", "arn"},
                      {"Message", "hello"},
                      {"Timestamp", "ts"}};
  EXPECT_EQ(*kairos::eventsources::sns_string_to_sign(m),
            "Message\nhello\nMessageId\nid\nTimestamp\nts\nTopicArn\narn\nType\nNotification\n");
  m.erase("Timestamp");
  EXPECT_FALSE(kairos::eventsources::sns_string_to_sign(m).has_value());
}

TEST(sns_signing, only_https_sns_hosts_or_the_custom_endpoint_are_trusted) {
  using kairos::eventsources::sns_trusted_url;
  EXPECT_TRUE(
      sns_trusted_url("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-x.pem", ""));
  EXPECT_TRUE(sns_trusted_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem", ""));
  EXPECT_FALSE(sns_trusted_url("http://sns.us-east-1.amazonaws.com/x.pem", ""));
  EXPECT_FALSE(sns_trusted_url("https://sns.us-east-1.amazonaws.com.evil.io/x.pem", ""));
  EXPECT_FALSE(sns_trusted_url("https://evil.io/sns.us-east-1.amazonaws.com", ""));
  EXPECT_TRUE(sns_trusted_url("https://localstack:4566/x.pem", "localstack"));
  EXPECT_FALSE(sns_trusted_url("not a url", ""));
}

// MinIO's webhook target posts the S3 record document itself to a plain
// webhook event source; sensors then filter on body.Records.0.s3.object.key.
TEST_F(sns_source, minio_webhook_target_records_reach_a_plain_webhook_source) {
  start();
  apply(
      "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata:\n  name: minio-push\n"
      "  namespace: ns\nspec:\n  webhook:\n    put:\n      endpoint: /minio\n"
      "      port: \"12001\"\n      method: POST\n");
  const std::string record = R"({"EventName":"s3:ObjectCreated:Put","Key":"data/in/a.csv",
    "Records":[{"eventVersion":"2.0","eventSource":"minio:s3","awsRegion":"",
    "eventTime":"2023-11-14T22:13:20.000Z","eventName":"s3:ObjectCreated:Put",
    "s3":{"s3SchemaVersion":"1.0","configurationId":"Config",
    "bucket":{"name":"data","arn":"arn:aws:s3:::data"},
    "object":{"key":"in%2Fa.csv","size":5,"eTag":"5d41402abc4b2a76b9719d911017c592",
    "sequencer":"179F0B3A4C8E1D2B"}}}]})";
  auto r = kairos::testing::send(port(12001), http::verb::post, "/minio", record,
                                 {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200u);
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  const auto data = events[0].body["data"];
  EXPECT_EQ(kairos::json_path::get_string(data, "body.Records.0.s3.object.key"), "in%2Fa.csv");
  EXPECT_EQ(kairos::json_path::get_string(data, "body.Records.0.eventName"),
            "s3:ObjectCreated:Put");
}

}  // namespace
