#include <gtest/gtest.h>

#include "manager_fixture.hpp"
#include "webhook/webhook_source.hpp"

namespace kairos::testing {
namespace {

const char* const webhook_yaml = R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: hooks
spec:
  webhook:
    example:
      endpoint: /example
      method: POST
      port: "12000"
      metadata:
        team: ci
    query:
      endpoint: /query
      method: GET
      port: "12000"
    small:
      endpoint: /small
      method: POST
      port: "12000"
      maxPayloadSize: 16
    other-port:
      endpoint: /elsewhere
      method: POST
      port: "12001"
)";

using webhook = manager_fixture;

TEST_F(webhook, post_is_journaled_before_the_200) {
  start();
  apply(webhook_yaml);
  auto r = send(port(12000), http::verb::post, "/example", R"({"message":"hi"})",
                {{"Content-Type", "application/json"}, {"X-Custom", "a"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  // The reply came after the append: the event is readable now.
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  const auto& e = events[0];
  EXPECT_EQ(e.namespace_, "default");
  EXPECT_EQ(e.source, "hooks");
  EXPECT_EQ(e.subject, "example");
  EXPECT_EQ(e.type, "webhook");
  EXPECT_EQ(e.body["context"]["specversion"], "1.0");
  EXPECT_EQ(e.body["context"]["id"], e.id);
  EXPECT_EQ(e.body["data"]["body"]["message"], "hi");
  EXPECT_EQ(e.body["data"]["header"]["X-Custom"], nlohmann::json::array({"a"}));
  EXPECT_EQ(e.body["data"]["header"]["Content-Type"], nlohmann::json::array({"application/json"}));
  EXPECT_EQ(e.body["data"]["metadata"]["team"], "ci");
  EXPECT_EQ(committed_.load(), 1);
}

TEST_F(webhook, store_failure_answers_503_with_json_error) {
  start();
  apply(webhook_yaml);
  store_.db->fail_appends = true;
  auto r = send(port(12000), http::verb::post, "/example", "{}");
  EXPECT_EQ(r.status, 503u);
  EXPECT_TRUE(r.json().contains("code"));
  EXPECT_NE(r.json()["message"].get<std::string>().find("disk full"), std::string::npos);
  EXPECT_EQ(committed_.load(), 0);
}

TEST_F(webhook, wrong_method_is_405_with_allow) {
  start();
  apply(webhook_yaml);
  auto r = send(port(12000), http::verb::put, "/example", "{}");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(std::string(r.headers["Allow"]), "POST");
  EXPECT_TRUE(r.json().contains("message"));
  EXPECT_TRUE(store_.events().empty());
}

TEST_F(webhook, unknown_path_is_404) {
  start();
  apply(webhook_yaml);
  EXPECT_EQ(send(port(12000), http::verb::post, "/nope", "{}").status, 404u);
}

TEST_F(webhook, body_over_max_payload_is_413) {
  start();
  apply(webhook_yaml);
  auto r = send(port(12000), http::verb::post, "/small", std::string(17, 'x'));
  EXPECT_EQ(r.status, 413u);
  EXPECT_TRUE(store_.events().empty());
  EXPECT_EQ(send(port(12000), http::verb::post, "/small", std::string(16, ' ')).status, 200u);
}

TEST_F(webhook, every_port_answers_health) {
  start();
  apply(webhook_yaml);
  EXPECT_EQ(send(port(12000), http::verb::get, "/health").status, 200u);
  EXPECT_EQ(send(port(12001), http::verb::get, "/health").status, 200u);
}

TEST_F(webhook, endpoints_share_a_port_and_ports_are_separate) {
  start();
  apply(webhook_yaml);
  EXPECT_EQ(send(port(12000), http::verb::post, "/example", "{}").status, 200u);
  EXPECT_EQ(send(port(12000), http::verb::get, "/query?a=1").status, 200u);
  EXPECT_EQ(send(port(12000), http::verb::post, "/elsewhere", "{}").status, 404u);
  EXPECT_EQ(send(port(12001), http::verb::post, "/elsewhere", "{}").status, 200u);
  EXPECT_EQ(store_.events().size(), 3u);
}

TEST_F(webhook, get_query_becomes_lists_of_values) {
  start();
  apply(webhook_yaml);
  ASSERT_EQ(send(port(12000), http::verb::get, "/query?a=1&a=two+words&b&c=%2F").status, 200u);
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["body"],
            (nlohmann::json{{"a", {"1", "two words"}}, {"b", {""}}, {"c", {"/"}}}));
}

TEST_F(webhook, form_post_becomes_lists_of_values) {
  start();
  apply(webhook_yaml);
  ASSERT_EQ(send(port(12000), http::verb::post, "/example", "x=1&y=2&x=3",
                 {{"Content-Type", "application/x-www-form-urlencoded"}})
                .status,
            200u);
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["body"], (nlohmann::json{{"x", {"1", "3"}}, {"y", {"2"}}}));
}

TEST_F(webhook, bearer_token_is_required_and_masked) {
  store_.write_secret("hook-auth", "token", "s3cret\n");
  start();
  apply(R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: guarded
spec:
  webhook:
    guarded:
      endpoint: /guarded
      method: POST
      port: "12002"
      authSecret:
        name: hook-auth
        key: token
)");
  const auto p = port(12002);
  EXPECT_EQ(send(p, http::verb::post, "/guarded", "{}").status, 401u);
  EXPECT_EQ(send(p, http::verb::post, "/guarded", "{}", {{"Authorization", "Bearer wrong"}}).status,
            401u);
  EXPECT_EQ(send(p, http::verb::post, "/guarded", "{}", {{"Authorization", "s3cret"}}).status,
            401u);
  EXPECT_TRUE(store_.events().empty());
  EXPECT_EQ(
      send(p, http::verb::post, "/guarded", "{}", {{"Authorization", "Bearer s3cret"}}).status,
      200u);
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["header"]["Authorization"][0], "*** Masked Auth Secret ***");
}

TEST_F(webhook, removed_event_source_stops_answering) {
  start();
  apply(webhook_yaml);
  const auto p = port(12001);
  ASSERT_TRUE(store_.db->delete_resource("EventSource", "default", "hooks").ok());
  manager_->resync();
  EXPECT_FALSE(manager_->bound_port(12001).has_value());
  (void)p;
}

TEST_F(webhook, changed_event_source_is_restarted_with_the_new_spec) {
  start();
  apply(webhook_yaml);
  std::string changed = webhook_yaml;
  changed.replace(changed.find("/example"), 8, "/renamed");
  apply(changed);
  const auto p = port(12000);
  EXPECT_EQ(send(p, http::verb::post, "/example", "{}").status, 404u);
  EXPECT_EQ(send(p, http::verb::post, "/renamed", "{}").status, 200u);
}

TEST_F(webhook, a_missing_secret_is_reported_not_fatal) {
  start();
  apply(R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: broken
spec:
  webhook:
    b:
      endpoint: /b
      method: POST
      port: "12003"
      authSecret: {name: absent, key: token}
)");
  auto errors = manager_->errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("authSecret"), std::string::npos);
  EXPECT_FALSE(manager_->bound_port(12003).has_value());
}

TEST_F(webhook, conflicting_route_in_another_event_source_is_an_error) {
  start();
  apply(webhook_yaml);
  std::string other = webhook_yaml;
  other.replace(other.find("name: hooks"), 11, "name: again");
  apply(other);
  auto errors = manager_->errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].find("already served"), std::string::npos);
}

TEST_F(webhook, non_json_body_is_kept_as_a_string) {
  start();
  apply(webhook_yaml);
  ASSERT_EQ(send(port(12000), http::verb::post, "/example", "plain text",
                 {{"Content-Type", "text/plain"}})
                .status,
            200u);
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["body"], "plain text");
}

TEST(webhook_data, header_names_take_go_canonical_form) {
  EXPECT_EQ(eventsources::canonical_header_name("x-github-event"), "X-Github-Event");
  EXPECT_EQ(eventsources::canonical_header_name("CONTENT-TYPE"), "Content-Type");
  EXPECT_EQ(eventsources::canonical_header_name("bad name"), "bad name");
  auto h = eventsources::header_object({{"Host", "x"}, {"accept", "a"}, {"Accept", "b"}});
  EXPECT_FALSE(h.contains("Host"));
  EXPECT_EQ(h["Accept"], nlohmann::json::array({"a", "b"}));
}

// The printed data is the built data: whatever the body and headers, the
// text webhook_data_text prints parses back as exactly webhook_data's tree,
// and the requests it declines are the ones only the tree can carry.
TEST(webhook_data, printed_data_parses_back_as_the_built_data_or_is_declined) {
  const nlohmann::json metadata = {{"team", "ci"}, {"n", 3}};
  const auto metadata_text = metadata.dump();
  const auto request = [](std::string method, std::string body,
                          std::vector<std::pair<std::string, std::string>> headers) {
    eventsources::inbound_request r;
    r.method = std::move(method);
    r.path = "/hook";
    r.body = std::move(body);
    r.headers = std::move(headers);
    return r;
  };
  const std::vector<eventsources::inbound_request> printable = {
      request("POST", R"( { "ref" : "refs/heads/main", "n": 1.50, "z": [1, {"b": null}] } )",
              {{"content-type", "application/json"}, {"Host", "h"}, {"x-a", "1"}, {"X-A", "2"}}),
      request("POST", "plain \"text\"\twith \u00e9 and \x01", {{"Content-Type", "text/plain"}}),
      request("POST", "", {}),
      request("POST", " \r\n\t", {{"Authorization", "Bearer secret"}}),
      request("PUT", "[1,2,3]", {{"odd name", "v"}, {"Transfer-Encoding", "chunked"}}),
      request("POST", "12345678901234567890123", {{"accept", "a"}, {"Accept", "b"}}),
      request("POST", "{\"dup\":1,\"dup\":2}", {{"X-Unicode", "caf\u00e9"}}),
      request("POST", "{not json", {{"Content-Type", "application/json"}}),
      // nlohmann alone would take the JSON before the NUL and drop the rest.
      request("POST", std::string("{\"a\":1}\0{\"b\"", 12), {}),
      request("POST", std::string("\"T),\"\0", 6), {{"Content-Type", "text/plain"}}),
  };
  for (const auto& r : printable) {
    const auto text = eventsources::webhook_data_text(r, metadata_text);
    ASSERT_TRUE(text) << r.body;
    EXPECT_EQ(nlohmann::json::parse(*text), eventsources::webhook_data(r, metadata)) << *text;
    EXPECT_EQ(text->find("secret"), std::string::npos) << "the bearer token is masked";
  }
  EXPECT_EQ(eventsources::webhook_data(printable[8], metadata)["body"],
            std::string("{\"a\":1}\0{\"b\"", 12));

  const std::vector<eventsources::inbound_request> declined = {
      request("GET", "", {}),
      request("POST", "a=1&b=2", {{"Content-Type", "application/x-www-form-urlencoded"}}),
      request("POST", "\xEF\xBB\xBF{\"a\":1}", {}),
      request("POST", "not utf-8 \xff", {}),
      request("POST", "{}", {{"X-Bad", "\xc3"}}),
  };
  for (const auto& r : declined) EXPECT_FALSE(eventsources::webhook_data_text(r, metadata_text));
}

TEST(webhook_data, form_values_skip_bad_escapes_and_semicolons) {
  auto v = eventsources::form_values("a=%zz&b=1;2&&c=%41");
  EXPECT_EQ(v, (nlohmann::json{{"c", {"A"}}}));
}

}  // namespace
}  // namespace kairos::testing
