#include "kairos/engine/pending_workflow_service.hpp"

#include <gtest/gtest.h>

#include "fake_store.hpp"

namespace kairos::engine {
namespace {

using json = nlohmann::json;

spec::resource workflow(const std::string& name, const std::string& generate_name = {}) {
  spec::resource r;
  r.kind = spec::kind::workflow;
  r.metadata.name = name;
  r.metadata.generate_name = generate_name;
  r.metadata.namespace_ = "default";
  r.manifest = {{"apiVersion", "argoproj.io/v1alpha1"},
                {"kind", "Workflow"},
                {"metadata", {{"namespace", "default"}}},
                {"spec",
                 {{"entrypoint", "main"},
                  {"arguments", {{"parameters", {{{"name", "branch"}, {"value", "dev"}}}}}}}}};
  if (!name.empty()) r.manifest["metadata"]["name"] = name;
  if (!generate_name.empty()) r.manifest["metadata"]["generateName"] = generate_name;
  return r;
}

class pending_service : public ::testing::Test {
 protected:
  testing::fake_store db_;
  manual_clock clock_{std::chrono::system_clock::time_point{std::chrono::seconds{1700000000}}};
  pending_workflow_service service_{db_, clock_};
};

TEST_F(pending_service, submit_stores_a_pending_workflow_with_uid_and_clock_timestamp) {
  auto r = service_.submit(workflow("w1"), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->name, "w1");
  EXPECT_EQ(r->phase, "Pending");
  EXPECT_EQ(r->created_at, "2023-11-14T22:13:20Z");
  EXPECT_EQ(r->uid.size(), 36u);
  EXPECT_EQ(r->body["status"]["phase"], "Pending");
  EXPECT_TRUE(db_.get_workflow("default", "w1").ok());
}

TEST_F(pending_service, generate_name_gets_a_five_character_suffix) {
  auto r = service_.submit(workflow("", "ci-"), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->name.size(), 8u);
  EXPECT_EQ(r->name.rfind("ci-", 0), 0u);
}

TEST_F(pending_service, neither_name_nor_generate_name_is_invalid) {
  auto r = service_.submit(workflow(""), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::invalid_argument);
}

TEST_F(pending_service, same_name_twice_is_already_exists) {
  ASSERT_TRUE(service_.submit(workflow("w1"), {}).ok());
  auto again = service_.submit(workflow("w1"), {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::already_exists);
}

TEST_F(pending_service, options_override_parameters_and_add_labels) {
  submit_options opts;
  opts.parameters = {{"branch", "main"}, {"sha", "abc"}};
  opts.labels = {{"trigger", "sensor"}};
  auto r = service_.submit(workflow("w1"), opts);
  ASSERT_TRUE(r.ok());
  const auto& params = r->body["spec"]["arguments"]["parameters"];
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0]["value"], "main");
  EXPECT_EQ(params[1]["name"], "sha");
  EXPECT_EQ(r->body["metadata"]["labels"]["trigger"], "sensor");
}

TEST_F(pending_service, missing_referenced_template_is_not_found_naming_it) {
  auto w = workflow("w1");
  w.manifest["spec"]["workflowTemplateRef"] = {{"name", "build"}};
  auto r = service_.submit(w, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::not_found);
  EXPECT_NE(r.error().message.find("build"), std::string::npos);

  store::resource_record t;
  t.kind = "WorkflowTemplate";
  t.namespace_ = "default";
  t.name = "build";
  t.body = json::object();
  ASSERT_TRUE(db_.create_resource(t).ok());
  EXPECT_TRUE(service_.submit(w, {}).ok());
}

TEST_F(pending_service, act_is_not_found_for_unknown_and_unavailable_for_known) {
  EXPECT_EQ(service_.act("default", "ghost", workflow_action::stop).error().code, errc::not_found);
  ASSERT_TRUE(service_.submit(workflow("w1"), {}).ok());
  EXPECT_EQ(service_.act("default", "w1", workflow_action::stop).error().code, errc::unavailable);
  EXPECT_EQ(service_.logs("default", "ghost", "").error().code, errc::not_found);
  EXPECT_EQ(service_.logs("default", "w1", "").value(), "");
}

}  // namespace
}  // namespace kairos::engine
