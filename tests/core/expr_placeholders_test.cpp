#include <map>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kairos/core/placeholders.hpp"

namespace kairos::placeholders {
namespace {

using nlohmann::json;

lookup_fn from(std::map<std::string, std::string, std::less<>> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(placeholders, substitutes_names_with_whitespace_trimmed) {
  auto r = substitute("echo {{inputs.parameters.x}} and {{ workflow.name }}",
                      from({{"inputs.parameters.x", "hi"}, {"workflow.name", "wf-1"}}), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "echo hi and wf-1");
}

TEST(placeholders, unresolved_name_is_an_error_naming_it) {
  auto r = substitute("a {{steps.x.outputs.result}} b", from({}), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("steps.x.outputs.result"), std::string::npos);
}

TEST(placeholders, keep_unresolved_leaves_the_tag) {
  auto r = substitute("a {{ later }} {{known}}", from({{"known", "k"}}), {}, {true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "a {{ later }} k");
}

TEST(placeholders, expression_tags_are_evaluated_over_the_env) {
  const json env = {{"inputs", {{"parameters", {{"n", "4"}}}}}};
  auto r = substitute("n+1={{=asInt(inputs.parameters.n) + 1}} s={{= 'x' + 'y' }}", from({}), env);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, "n+1=5 s=xy");
}

TEST(placeholders, non_string_expression_results_are_compact_json) {
  auto r = substitute("{{=[1, 2]}} {{={a: true}}} {{=1.0 * 3}} {{=1 == 1}}", from({}), {});
  // `{{={a: true}}}`: the first `}}` closes the tag, as in Argo.
  ASSERT_FALSE(r.ok());
  auto ok = substitute("{{=[1, 2]}} {{=toJson({a: true})}} {{=1.0 * 3}} {{=1 == 1}}", from({}), {});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(*ok, "[1,2] {\"a\":true} 3 true");
}

TEST(placeholders, failing_expression_is_an_error_unless_kept) {
  auto r = substitute("{{=1 + 'a'}}", from({}), {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("{{=1 + 'a'}}"), std::string::npos) << r.error().message;
  auto nil = substitute("{{=missing}}", from({}), {});
  EXPECT_FALSE(nil.ok());
  auto kept = substitute("x {{=missing.deep}}", from({}), {}, {true});
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, "x {{=missing.deep}}");
}

TEST(placeholders, unclosed_braces_are_plain_text) {
  auto r = substitute("a {{ b", from({}), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "a {{ b");
  auto r2 = substitute("{{x}} then {{", from({{"x", "1"}}), {});
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(*r2, "1 then {{");
}

TEST(placeholders, substituted_values_are_not_rescanned) {
  auto r = substitute("{{a}}", from({{"a", "{{b}}"}}), {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "{{b}}");
}

TEST(placeholders, references_lists_names_in_order_without_expressions) {
  auto names = references("{{ a.b }} {{=x + 1}} {{c}} {{a.b}} {{ unclosed");
  EXPECT_EQ(names, (std::vector<std::string>{"a.b", "c", "a.b"}));
  EXPECT_TRUE(references("no tags").empty());
}

}  // namespace
}  // namespace kairos::placeholders
