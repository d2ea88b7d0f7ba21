#include "submit_prep.hpp"

#include <gtest/gtest.h>

namespace kairos::engine::detail {
namespace {

using json = nlohmann::json;

TEST(submit_prep, the_workflow_spec_wins_over_the_template_and_templates_merge_by_name) {
  auto tmpl = json::parse(R"({"entrypoint":"main","parallelism":2,
    "templates":[{"name":"main","container":{"image":"a"}},{"name":"other"}]})");
  auto wf = json::parse(R"({"workflowTemplateRef":{"name":"t"},"parallelism":5,
    "templates":[{"name":"main","container":{"image":"b"}}]})");
  auto merged = merge_template_spec(wf, tmpl);
  EXPECT_EQ(merged["parallelism"], 5);
  EXPECT_EQ(merged["entrypoint"], "main");
  EXPECT_EQ(merged["templates"].size(), 2u);
  EXPECT_EQ(merged["templates"][0]["container"]["image"], "b");
  EXPECT_TRUE(merged.contains("workflowTemplateRef"));
}

TEST(submit_prep, submit_parameters_replace_by_name_and_add_new_ones) {
  json manifest = {{"spec", {{"arguments", {{"parameters", {{{"name", "x"}, {"value", "1"}}}}}}}}};
  apply_parameters(manifest, {{"x", "2"}, {"y", "3"}});
  EXPECT_EQ(manifest["spec"]["arguments"]["parameters"],
            json::parse(R"([{"name":"x","value":"2"},{"name":"y","value":"3"}])"));
}

TEST(submit_prep, an_undefined_input_parameter_names_its_template) {
  auto spec = json::parse(R"({"templates":[{"name":"t","inputs":{"parameters":[{"name":"a"}]},
    "container":{"args":["{{inputs.parameters.a}}","{{ inputs.parameters.b }}"]}}]})");
  auto r = check_parameters_defined(spec);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "templates.t: undefined parameter {{inputs.parameters.b}}: inputs.parameters has no b");
}

TEST(submit_prep, defined_parameters_expressions_and_other_tags_pass) {
  auto spec = json::parse(R"({"arguments":{"parameters":[{"name":"g"}]},
    "templates":[{"name":"t","inputs":{"parameters":[{"name":"a"}]},
    "container":{"args":["{{inputs.parameters.a}}","{{workflow.parameters.g}}",
      "{{=inputs.parameters.zzz}}","{{tasks.x.outputs.result}}","{{item}}","{{ unterminated"]}}]})");
  EXPECT_TRUE(check_parameters_defined(spec));
}

}  // namespace
}  // namespace kairos::engine::detail
