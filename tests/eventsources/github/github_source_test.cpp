#include <gtest/gtest.h>

#include "github/github_source.hpp"
#include "manager_fixture.hpp"

namespace kairos::testing {
namespace {

const char* const github_yaml = R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: github
spec:
  github:
    ci:
      webhook:
        endpoint: /push
        method: POST
        port: "13000"
      events: [push]
      webhookSecret: {name: github, key: secret}
      metadata:
        repo: kairos
)";

const std::string push_body = R"({"ref":"refs/heads/main","after":"abc123"})";

class github : public manager_fixture {
 protected:
  void SetUp() override {
    manager_fixture::SetUp();
    store_.write_secret("github", "secret", "hush\n");
    start();
    apply(github_yaml);
    ASSERT_TRUE(manager_->errors().empty());
  }
  reply deliver(const std::string& body, header_list headers) {
    headers.emplace_back("Content-Type", "application/json");
    return send(port(13000), http::verb::post, "/push", body, headers);
  }
};

TEST_F(github, good_sha256_signature_is_journaled_with_argo_shape) {
  auto r =
      deliver(push_body,
              {{"X-GitHub-Event", "push"},
               {"X-GitHub-Delivery", "d-1"},
               {"X-Hub-Signature-256", eventsources::github_signature_sha256("hush", push_body)}});
  ASSERT_EQ(r.status, 200u) << r.body;
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  const auto& data = events[0].body["data"];
  EXPECT_EQ(events[0].type, "github");
  EXPECT_EQ(events[0].subject, "ci");
  EXPECT_EQ(data["body"]["ref"], "refs/heads/main");
  EXPECT_EQ(data["body"]["X-GitHub-Event"], "push");
  EXPECT_EQ(data["body"]["X-GitHub-Delivery"], "d-1");
  EXPECT_EQ(data["headers"]["X-Github-Event"], nlohmann::json::array({"push"}));
  EXPECT_EQ(data["metadata"]["repo"], "kairos");
  EXPECT_NE(events[0].id.find("d-1"), std::string::npos);
}

TEST_F(github, bad_signature_is_401_and_not_journaled) {
  auto r =
      deliver(push_body,
              {{"X-GitHub-Event", "push"},
               {"X-GitHub-Delivery", "d-2"},
               {"X-Hub-Signature-256", eventsources::github_signature_sha256("wrong", push_body)}});
  EXPECT_EQ(r.status, 401u);
  EXPECT_TRUE(store_.events().empty());
}

TEST_F(github, missing_signature_is_401_when_a_secret_is_set) {
  auto r = deliver(push_body, {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "d-3"}});
  EXPECT_EQ(r.status, 401u);
  EXPECT_TRUE(store_.events().empty());
}

TEST_F(github, sha1_signature_is_the_fallback) {
  auto r = deliver(push_body,
                   {{"X-GitHub-Event", "push"},
                    {"X-GitHub-Delivery", "d-4"},
                    {"X-Hub-Signature", eventsources::github_signature_sha1("hush", push_body)}});
  EXPECT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(store_.events().size(), 1u);
}

TEST_F(github, redelivery_is_answered_200_and_journaled_once) {
  const header_list headers = {
      {"X-GitHub-Event", "push"},
      {"X-GitHub-Delivery", "same"},
      {"X-Hub-Signature-256", eventsources::github_signature_sha256("hush", push_body)}};
  EXPECT_EQ(deliver(push_body, headers).status, 200u);
  EXPECT_EQ(deliver(push_body, headers).status, 200u);
  EXPECT_EQ(store_.events().size(), 1u);
  EXPECT_EQ(committed_.load(), 1);
}

TEST_F(github, event_type_outside_events_is_200_but_not_journaled) {
  const std::string body = R"({"zen":"hi"})";
  auto r =
      deliver(body, {{"X-GitHub-Event", "ping"},
                     {"X-GitHub-Delivery", "d-5"},
                     {"X-Hub-Signature-256", eventsources::github_signature_sha256("hush", body)}});
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(store_.events().empty());
}

TEST_F(github, form_encoded_delivery_reads_the_payload_field) {
  const std::string body = "payload=%7B%22ref%22%3A%22refs%2Fheads%2Fdev%22%7D";
  auto r = send(port(13000), http::verb::post, "/push", body,
                {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"X-GitHub-Event", "push"},
                 {"X-GitHub-Delivery", "d-6"},
                 {"X-Hub-Signature-256", eventsources::github_signature_sha256("hush", body)}});
  ASSERT_EQ(r.status, 200u) << r.body;
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["body"]["ref"], "refs/heads/dev");
}

TEST_F(github, store_failure_is_503) {
  store_.db->fail_appends = true;
  auto r =
      deliver(push_body,
              {{"X-GitHub-Event", "push"},
               {"X-GitHub-Delivery", "d-7"},
               {"X-Hub-Signature-256", eventsources::github_signature_sha256("hush", push_body)}});
  EXPECT_EQ(r.status, 503u);
}

TEST(github_signature, prefix_and_case_are_checked) {
  const std::string body = "{}";
  auto good = eventsources::github_signature_sha256("k", body);
  using eventsources::signature_check;
  EXPECT_EQ(eventsources::verify_github_signature("k", body, good, std::nullopt),
            signature_check::ok);
  std::string upper = good;
  for (std::size_t i = 7; i < upper.size(); ++i)
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  EXPECT_EQ(eventsources::verify_github_signature("k", body, upper, std::nullopt),
            signature_check::ok);
  EXPECT_EQ(eventsources::verify_github_signature("k", body, good.substr(7), std::nullopt),
            signature_check::invalid);
  EXPECT_EQ(eventsources::verify_github_signature("k", body, good.substr(0, 20), std::nullopt),
            signature_check::invalid);
  EXPECT_EQ(eventsources::verify_github_signature("k", body, std::nullopt, std::nullopt),
            signature_check::missing);
  // A present but wrong sha256 is not rescued by a right sha1.
  EXPECT_EQ(eventsources::verify_github_signature("k", body, "sha256=00",
                                                  eventsources::github_signature_sha1("k", body)),
            signature_check::invalid);
}

}  // namespace
}  // namespace kairos::testing
