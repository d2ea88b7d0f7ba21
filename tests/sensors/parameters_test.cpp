#include "kairos/sensors/parameters.hpp"

#include <gtest/gtest.h>

#include "support.hpp"

namespace kairos::sensors {
namespace {

using nlohmann::json;
using testing::make_event;

event_map events() {
  event_map m;
  m["push"] = make_event("evt-1", json::parse(R"({"body": {"ref": "refs/heads/main",
      "after": "abc123", "repository": {"name": "kairos"}, "commits": [{"id": "c1"}, {"id": "c2"}]}})"));
  return m;
}

spec::trigger_parameter_source src() {
  spec::trigger_parameter_source s;
  s.dependency_name = "push";
  return s;
}

TEST(parameters, data_key_is_a_gjson_path) {
  auto s = src();
  s.data_key = "body.ref";
  EXPECT_EQ(resolve_parameter(s, events())->text, "refs/heads/main");
  s.data_key = "body.commits.#.id";
  EXPECT_EQ(resolve_parameter(s, events())->text, R"(["c1","c2"])");
}

TEST(parameters, context_key_reads_the_event_context) {
  auto s = src();
  s.context_key = "source";
  EXPECT_EQ(resolve_parameter(s, events())->text, "ci");
  s.context_key = "id";
  EXPECT_EQ(resolve_parameter(s, events())->text, "evt-1");
}

TEST(parameters, data_template_renders_over_input) {
  auto s = src();
  s.data_template = R"({{ .Input.body.repository.name }}@{{ .Input.body.after | trunc 3 }})";
  EXPECT_EQ(resolve_parameter(s, events())->text, "kairos@abc");
}

TEST(parameters, context_template_renders_over_context) {
  auto s = src();
  s.context_template = "{{ .Input.source }}/{{ .Input.subject }}";
  EXPECT_EQ(resolve_parameter(s, events())->text, "ci/push");
}

TEST(parameters, template_without_value_falls_back_to_key_then_default) {
  auto s = src();
  s.data_template = "{{ .Input.body.missing }}";
  s.data_key = "body.after";
  EXPECT_EQ(resolve_parameter(s, events())->text, "abc123");
  s.data_key = "body.nope";
  s.value = "fallback";
  EXPECT_EQ(resolve_parameter(s, events())->text, "fallback");
}

TEST(parameters, default_value_when_key_or_event_is_missing) {
  auto s = src();
  s.data_key = "body.nope";
  s.value = "dflt";
  EXPECT_EQ(resolve_parameter(s, events())->text, "dflt");
  s.dependency_name = "other";
  EXPECT_EQ(resolve_parameter(s, events())->text, "dflt");
}

TEST(parameters, unresolvable_without_default_is_an_error) {
  auto s = src();
  s.data_key = "body.nope";
  auto r = resolve_parameter(s, events());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("body.nope"), std::string::npos);
}

TEST(parameters, use_raw_data_inserts_json_not_a_string) {
  auto s = src();
  s.data_key = "body.repository";
  s.use_raw_data = true;
  json doc = json::object();
  spec::trigger_parameter p{s, "spec.repo", spec::trigger_parameter_operation::overwrite};
  ASSERT_TRUE(apply_parameters(doc, {p}, events()).ok());
  EXPECT_EQ(doc["spec"]["repo"], json::parse(R"({"name":"kairos"})"));
  p.src.use_raw_data = false;
  ASSERT_TRUE(apply_parameters(doc, {p}, events()).ok());
  EXPECT_EQ(doc["spec"]["repo"], R"({"name":"kairos"})");
}

TEST(parameters, without_key_the_whole_event_is_used) {
  auto r = resolve_parameter(src(), events());
  ASSERT_TRUE(r.ok());
  const auto whole = json::parse(r->text);
  EXPECT_EQ(whole["context"]["id"], "evt-1");
  EXPECT_EQ(whole["data"]["body"]["after"], "abc123");
}

TEST(parameters, operations_overwrite_append_and_prepend) {
  auto s = src();
  s.data_key = "body.after";
  json doc = json::parse(R"({"name": "build-"})");
  ASSERT_TRUE(
      apply_parameters(doc, {{s, "name", spec::trigger_parameter_operation::append}}, events())
          .ok());
  EXPECT_EQ(doc["name"], "build-abc123");
  ASSERT_TRUE(
      apply_parameters(doc, {{s, "name", spec::trigger_parameter_operation::prepend}}, events())
          .ok());
  EXPECT_EQ(doc["name"], "abc123build-abc123");
  ASSERT_TRUE(
      apply_parameters(doc, {{s, "name", spec::trigger_parameter_operation::overwrite}}, events())
          .ok());
  EXPECT_EQ(doc["name"], "abc123");
}

TEST(parameters, dest_minus_one_appends_to_a_list) {
  auto s = src();
  s.data_key = "body.ref";
  json doc = json::parse(R"({"args": ["a"]})");
  ASSERT_TRUE(apply_parameters(doc, {{s, "args.-1", {}}}, events()).ok());
  EXPECT_EQ(doc["args"], json({"a", "refs/heads/main"}));
}

TEST(parameters, payload_is_built_from_parameters) {
  auto a = src();
  a.data_key = "body.ref";
  auto b = src();
  b.context_key = "id";
  auto payload = build_payload({{a, "ref", {}}, {b, "meta.event", {}}}, events());
  ASSERT_TRUE(payload.ok());
  EXPECT_EQ(*payload, json::parse(R"({"ref":"refs/heads/main","meta":{"event":"evt-1"}})"));
  EXPECT_TRUE(build_payload({}, events())->is_null());
}

}  // namespace
}  // namespace kairos::sensors
