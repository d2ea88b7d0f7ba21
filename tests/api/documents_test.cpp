#include "documents.hpp"

#include <gtest/gtest.h>

#include "auth.hpp"
#include "router.hpp"

namespace kairos::api {
namespace {

using json = nlohmann::json;

TEST(api_documents, malformed_body_error_names_the_byte_position) {
  auto r = parse_body(R"({"a": })");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_NE(r.error().message.find("byte 7"), std::string::npos) << r.error().message;
}

TEST(api_documents, a_body_with_a_nul_after_its_json_is_refused_not_cut_short) {
  auto r = parse_body(std::string("{\"a\":1}\0{\"b\":2}", 14));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
  EXPECT_NE(r.error().message.find("byte 8"), std::string::npos) << r.error().message;
}

TEST(api_documents, dns1123_rules_reject_uppercase_underscores_edges_and_length) {
  EXPECT_TRUE(check_dns1123_subdomain("build.v2-a").empty());
  EXPECT_FALSE(check_dns1123_subdomain("Build").empty());
  EXPECT_FALSE(check_dns1123_subdomain("a_b").empty());
  EXPECT_FALSE(check_dns1123_subdomain("-a").empty());
  EXPECT_FALSE(check_dns1123_subdomain("a.").empty());
  EXPECT_FALSE(check_dns1123_subdomain("").empty());
  EXPECT_TRUE(check_dns1123_subdomain(std::string(253, 'a')).empty());
  EXPECT_FALSE(check_dns1123_subdomain(std::string(254, 'a')).empty());
  EXPECT_FALSE(check_dns1123_subdomain(std::string(64, 'a'), 63).empty());
  EXPECT_FALSE(check_namespace("a.b").empty());
}

TEST(api_documents, unwrap_takes_the_wrapped_manifest_or_a_bare_one) {
  auto wrapped = unwrap_manifest(json{{"template", {{"kind", "WorkflowTemplate"}}}}, "template");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ((*wrapped)["kind"], "WorkflowTemplate");
  auto bare = unwrap_manifest(json{{"metadata", {{"name", "x"}}}}, "template");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ((*bare)["metadata"]["name"], "x");
  EXPECT_FALSE(unwrap_manifest(json{{"other", 1}}, "template").ok());
  EXPECT_FALSE(unwrap_manifest(json::array(), "template").ok());
}

TEST(api_documents, resource_version_is_read_from_string_or_number_and_rejects_garbage) {
  EXPECT_EQ(*manifest_resource_version(json{{"metadata", {{"resourceVersion", "12"}}}}).value(),
            12);
  EXPECT_EQ(*manifest_resource_version(json{{"metadata", {{"resourceVersion", 7}}}}).value(), 7);
  EXPECT_FALSE(manifest_resource_version(json{{"metadata", json::object()}}).value().has_value());
  EXPECT_FALSE(manifest_resource_version(json{{"metadata", {{"resourceVersion", "v1"}}}}).ok());
}

TEST(api_documents, label_selector_supports_equality_and_inequality) {
  auto sel = parse_label_selector("team=x, tier==ci,env!=prod");
  ASSERT_TRUE(sel.ok());
  ASSERT_EQ(sel->size(), 3u);
  json doc = {{"metadata", {{"labels", {{"team", "x"}, {"tier", "ci"}}}}}};
  EXPECT_TRUE(labels_match(doc, *sel));
  doc["metadata"]["labels"]["env"] = "prod";
  EXPECT_FALSE(labels_match(doc, *sel));
  EXPECT_FALSE(labels_match(json::object(), *parse_label_selector("team=x")));
  EXPECT_FALSE(parse_label_selector("team in (x)").ok());
}

TEST(api_documents, render_writes_store_owned_metadata_into_the_body) {
  store::resource_record r;
  r.kind = "WorkflowTemplate";
  r.namespace_ = "default";
  r.name = "build";
  r.uid = "u1";
  r.resource_version = 42;
  r.created_at = "2024-01-01T00:00:00Z";
  r.body = {{"spec", json::object()}};
  auto out = render(r);
  EXPECT_EQ(out["metadata"]["resourceVersion"], "42");
  EXPECT_EQ(out["metadata"]["uid"], "u1");
  EXPECT_EQ(out["metadata"]["creationTimestamp"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(out["metadata"]["namespace"], "default");
}

TEST(api_router, literal_segments_win_over_parameters_and_wrong_methods_list_allowed) {
  router r;
  auto ok = [](const request&) { return response{}; };
  r.add(http::verb::get, "/api/v1/workflows/{namespace}/{name}", ok);
  r.add(http::verb::delete_, "/api/v1/workflows/{namespace}/{name}", ok);
  r.add(http::verb::post, "/api/v1/workflows/{namespace}/submit", ok);
  auto submit = r.match(http::verb::post, {"api", "v1", "workflows", "ns", "submit"});
  ASSERT_NE(submit.matched, nullptr);
  EXPECT_EQ(submit.matched->pattern, "/api/v1/workflows/{namespace}/submit");
  EXPECT_EQ(submit.params["namespace"], "ns");
  auto item = r.match(http::verb::get, {"api", "v1", "workflows", "ns", "submit"});
  ASSERT_NE(item.matched, nullptr);
  EXPECT_EQ(item.params["name"], "submit");
  auto wrong = r.match(http::verb::put, {"api", "v1", "workflows", "ns", "w"});
  EXPECT_EQ(wrong.matched, nullptr);
  EXPECT_EQ(wrong.allowed.size(), 2u);
  EXPECT_EQ(r.match(http::verb::get, {"api", "v2"}).matched, nullptr);
}

TEST(api_auth, bearer_token_must_match_exactly) {
  bearer_auth auth("tok");
  EXPECT_TRUE(auth.allows(std::string_view("Bearer tok")));
  EXPECT_TRUE(auth.allows(std::string_view("bearer tok")));
  EXPECT_FALSE(auth.allows(std::string_view("Bearer to")));
  EXPECT_FALSE(auth.allows(std::string_view("Bearer tok2")));
  EXPECT_FALSE(auth.allows(std::string_view("Bearer ")));
  EXPECT_FALSE(auth.allows(std::nullopt));
  EXPECT_TRUE(bearer_auth("").allows(std::nullopt));
}

}  // namespace
}  // namespace kairos::api
