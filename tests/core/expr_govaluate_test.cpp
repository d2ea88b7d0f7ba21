#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kairos/core/expr.hpp"

namespace kairos::expr {
namespace {

using nlohmann::json;

bool gv(std::string_view src, const json& params = json::object()) {
  auto r = evaluate_govaluate(src, params);
  EXPECT_TRUE(r.ok()) << src << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() && *r;
}

TEST(govaluate, bare_words_compare_as_strings) {
  EXPECT_TRUE(gv("heads == heads"));
  EXPECT_FALSE(gv("tails == heads"));
  EXPECT_TRUE(gv("tails != heads && 2 < 10"));
}

TEST(govaluate, hyphenated_words_are_one_string) {
  EXPECT_TRUE(gv("hello-world == hello-world"));
  EXPECT_TRUE(gv("hello-world == \"hello-world\""));
  EXPECT_FALSE(gv("my-step-1 == my-step-2"));
}

TEST(govaluate, quoted_strings_and_numbers) {
  EXPECT_TRUE(gv("\"a\" == 'a'"));
  EXPECT_TRUE(gv("5 > 3"));
  EXPECT_TRUE(gv("10 > 9"));  // numeric, not lexicographic
  EXPECT_TRUE(gv("1.0 == 1"));
  EXPECT_FALSE(gv("\"5\" == 5"));
}

TEST(govaluate, regex_operators) {
  EXPECT_TRUE(gv("foo =~ \"^f\""));
  EXPECT_TRUE(gv("foo !~ \"^b\""));
  EXPECT_FALSE(gv("foo =~ 'x$'"));
  EXPECT_FALSE(evaluate_govaluate("foo =~ '('").ok());
}

TEST(govaluate, logic_and_parentheses) {
  EXPECT_TRUE(gv("(true || false) && !false"));
  EXPECT_FALSE(gv("!(1 < 2)"));
  EXPECT_TRUE(gv("(a == a || b == c) && !(x == y)"));
}

TEST(govaluate, in_with_a_parenthesised_list) {
  EXPECT_TRUE(gv("1 in (1, 2)"));
  EXPECT_TRUE(gv("b in (a, b, c)"));
  EXPECT_FALSE(gv("3 in (1,2)"));
}

TEST(govaluate, arithmetic_on_numbers) {
  EXPECT_TRUE(gv("2 + 3 * 4 == 14"));
  EXPECT_TRUE(gv("2 ** 3 == 8"));
  EXPECT_TRUE(gv("7 % 4 == 3"));
  EXPECT_TRUE(gv("-1 < 0"));
}

TEST(govaluate, parameters_supply_typed_values) {
  const json params = {{"a", 5}, {"name", "x"}, {"body", {{"n", 3}}}, {"flag", true}};
  EXPECT_TRUE(gv("a > 4 && name == \"x\"", params));
  EXPECT_TRUE(gv("body.n == 3", params));
  EXPECT_TRUE(gv("flag", params));
  EXPECT_TRUE(gv("[a] == 5", params));
}

TEST(govaluate, non_boolean_result_is_an_error) {
  auto r = evaluate_govaluate("1 + 2");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("boolean"), std::string::npos);
}

TEST(govaluate, errors_carry_a_column) {
  auto r = evaluate_govaluate("a == {b}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("column 6"), std::string::npos) << r.error().message;
  EXPECT_FALSE(evaluate_govaluate("(a == b").ok());
  EXPECT_FALSE(evaluate_govaluate("1 && true").ok());
  EXPECT_FALSE(evaluate_govaluate("a > 1").ok());
}

TEST(govaluate, deep_nesting_is_rejected) {
  std::string deep(3000, '(');
  deep += "true";
  deep += std::string(3000, ')');
  EXPECT_FALSE(evaluate_govaluate(deep).ok());
}

}  // namespace
}  // namespace kairos::expr
