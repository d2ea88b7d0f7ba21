#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kairos/core/expr.hpp"

namespace kairos::expr {
namespace {

using nlohmann::json;

json eval_ok(std::string_view src, const json& env = json::object()) {
  auto r = evaluate(src, env);
  EXPECT_TRUE(r.ok()) << src << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : json("<error>");
}

std::string eval_error(std::string_view src, const json& env = json::object()) {
  auto r = evaluate(src, env);
  EXPECT_FALSE(r.ok()) << src << " unexpectedly gave " << (r.ok() ? r->dump() : "");
  return r.ok() ? "" : r.error().message;
}

TEST(expr_lang, integer_arithmetic_stays_integer_and_division_is_float) {
  EXPECT_EQ(eval_ok("1 + 2 * 3"), json(7));
  EXPECT_TRUE(eval_ok("7 - 10").is_number_integer());
  EXPECT_EQ(eval_ok("7 / 2"), json(3.5));
  EXPECT_TRUE(eval_ok("4 / 2").is_number_float());
  EXPECT_EQ(eval_ok("7 % 3"), json(1));
  EXPECT_EQ(eval_ok("2 ** 10"), json(1024.0));
  EXPECT_EQ(eval_ok("(1 + 2) * 3"), json(9));
}

TEST(expr_lang, power_is_right_associative_and_binds_tighter_than_unary_minus) {
  EXPECT_EQ(eval_ok("2 ** 3 ** 2"), json(512.0));
  EXPECT_EQ(eval_ok("-2 ** 2"), json(-4.0));
}

TEST(expr_lang, mixed_int_and_float_compare_numerically) {
  EXPECT_EQ(eval_ok("1 == 1.0"), json(true));
  EXPECT_EQ(eval_ok("2 > 1.5"), json(true));
  EXPECT_EQ(eval_ok("1.5 + 1"), json(2.5));
  EXPECT_EQ(eval_ok("x < 10", {{"x", 3u}}), json(true));
}

TEST(expr_lang, modulo_by_zero_is_an_error_with_a_column) {
  auto msg = eval_error("5 % 0");
  EXPECT_NE(msg.find("divide by zero"), std::string::npos) << msg;
  EXPECT_NE(msg.find("column 3"), std::string::npos) << msg;
}

TEST(expr_lang, type_errors_report_the_operator_column) {
  auto msg = eval_error("1 + 'a'");
  EXPECT_NE(msg.find("int + string"), std::string::npos) << msg;
  EXPECT_NE(msg.find("column 3"), std::string::npos) << msg;
  EXPECT_NE(eval_error("'a' < 1").find("string < int"), std::string::npos);
}

TEST(expr_lang, strings_concatenate_and_compare) {
  EXPECT_EQ(eval_ok("'foo' + \"bar\""), json("foobar"));
  EXPECT_EQ(eval_ok("'abc' < 'abd'"), json(true));
  EXPECT_EQ(eval_ok("'a\\tb\\u00e9'"), json("a\tb\xc3\xa9"));
  EXPECT_EQ(eval_ok("`raw\\n`"), json("raw\\n"));
}

TEST(expr_lang, boolean_operators_short_circuit_and_require_booleans) {
  EXPECT_EQ(eval_ok("true && !false"), json(true));
  EXPECT_EQ(eval_ok("false and (1 % 0 == 1)"), json(false));
  EXPECT_EQ(eval_ok("true or missing.deep"), json(true));
  EXPECT_EQ(eval_ok("not true || true"), json(true));
  EXPECT_FALSE(evaluate("1 && true", {}).ok());
}

TEST(expr_lang, in_and_not_in_search_arrays_and_map_keys) {
  EXPECT_EQ(eval_ok("2 in [1, 2, 3]"), json(true));
  EXPECT_EQ(eval_ok("2.0 in [1, 2]"), json(true));
  EXPECT_EQ(eval_ok("'x' not in [\"a\"]"), json(true));
  EXPECT_EQ(eval_ok("'k' in {k: 1}"), json(true));
  EXPECT_EQ(eval_ok("'z' in m", {{"m", {{"a", 1}}}}), json(false));
}

TEST(expr_lang, ternary_and_nil_coalescing) {
  EXPECT_EQ(eval_ok("x > 1 ? 'big' : 'small'", {{"x", 5}}), json("big"));
  EXPECT_EQ(eval_ok("missing ?? 'default'"), json("default"));
  EXPECT_EQ(eval_ok("a.b.c ?? 'default'", {{"a", json::object()}}), json("default"));
  EXPECT_EQ(eval_ok("x ?? 'default'", {{"x", 0}}), json(0));
  EXPECT_EQ(eval_ok("1 < 2 ? 3 > 4 ? 'a' : 'b' : 'c'"), json("b"));
}

TEST(expr_lang, member_and_index_access_into_the_environment) {
  const json env = {{"inputs", {{"parameters", {{"my-param", "v"}, {"n", "3"}}}}},
                    {"list", {10, 20, 30}}};
  EXPECT_EQ(eval_ok("inputs.parameters['my-param']", env), json("v"));
  EXPECT_EQ(eval_ok("inputs[\"parameters\"].n", env), json("3"));
  EXPECT_EQ(eval_ok("list[0] + list[-1]", env), json(40));
  EXPECT_EQ(eval_ok("$env.list[1]", env), json(20));
}

TEST(expr_lang, missing_key_is_nil_but_fetching_from_nil_is_an_error) {
  EXPECT_EQ(eval_ok("a.missing", {{"a", json::object()}}), json(nullptr));
  EXPECT_EQ(eval_ok("nothing"), json(nullptr));
  auto msg = eval_error("nothing.x");
  EXPECT_NE(msg.find("from nil"), std::string::npos) << msg;
}

TEST(expr_lang, optional_chaining_turns_nil_into_nil) {
  EXPECT_EQ(eval_ok("a?.b.c"), json(nullptr));
  EXPECT_EQ(eval_ok("a?.b", {{"a", {{"b", 2}}}}), json(2));
  EXPECT_EQ(eval_ok("a?.[0]"), json(nullptr));
  EXPECT_EQ(eval_ok("(a?.b ?? 5) + 1"), json(6));
}

TEST(expr_lang, index_out_of_range_is_an_error) {
  auto msg = eval_error("[1, 2][5]");
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
}

TEST(expr_lang, slices_clamp_and_accept_open_ends) {
  const json env = {{"a", {1, 2, 3, 4, 5}}};
  EXPECT_EQ(eval_ok("a[1:3]", env), json({2, 3}));
  EXPECT_EQ(eval_ok("a[:2]", env), json({1, 2}));
  EXPECT_EQ(eval_ok("a[3:]", env), json({4, 5}));
  EXPECT_EQ(eval_ok("a[-2:]", env), json({4, 5}));
  EXPECT_EQ(eval_ok("a[2:100]", env), json({3, 4, 5}));
  EXPECT_EQ(eval_ok("'hello'[1:3]"), json("el"));
}

TEST(expr_lang, string_operators) {
  EXPECT_EQ(eval_ok("'foobar' contains 'oba'"), json(true));
  EXPECT_EQ(eval_ok("'foobar' startsWith 'foo'"), json(true));
  EXPECT_EQ(eval_ok("'foobar' endsWith 'bar'"), json(true));
  EXPECT_EQ(eval_ok("'foobar' matches '^f.+r$'"), json(true));
  EXPECT_EQ(eval_ok("'foobar' not matches 'x'"), json(true));
  EXPECT_FALSE(evaluate("'a' matches '('", {}).ok());
}

TEST(expr_lang, regex_on_a_huge_subject_or_a_backtracking_pattern_gets_its_answer) {
  const json env = {{"s", std::string(100000, 'a')}};
  EXPECT_EQ(eval_ok("s matches '(a|b)*$'", env), json(true));
  EXPECT_EQ(eval_ok("(s + 'b') matches '^(a+)+$'", env), json(false));
  EXPECT_EQ(eval_ok("s[:1000] matches '^(a|b)*$'", env), json(true));
}

TEST(expr_lang, array_and_map_literals) {
  EXPECT_EQ(eval_ok("[1, 'a', true, nil]"), json({1, "a", true, nullptr}));
  EXPECT_EQ(eval_ok("{a: 1, 'b c': [2], (\"d\" + \"e\"): 3}"),
            json({{"a", 1}, {"b c", {2}}, {"de", 3}}));
  EXPECT_EQ(eval_ok("{a: 1}.a"), json(1));
  EXPECT_EQ(eval_ok("1..4"), json({1, 2, 3, 4}));
}

TEST(expr_lang, number_literals_in_several_forms) {
  EXPECT_EQ(eval_ok("1_000 + 0x10"), json(1016));
  EXPECT_EQ(eval_ok("1e3"), json(1000.0));
  EXPECT_EQ(eval_ok(".5 + 0.5"), json(1.0));
}

TEST(expr_lang, conversion_builtins_parse_strings_like_argo) {
  EXPECT_EQ(eval_ok("asInt('42') + 1"), json(43));
  EXPECT_EQ(eval_ok("asFloat('1.5') * 2"), json(3.0));
  EXPECT_EQ(eval_ok("int(3.9)"), json(3));
  EXPECT_EQ(eval_ok("float(2)"), json(2.0));
  EXPECT_EQ(eval_ok("string(12) + string(1.5) + string(true)"), json("121.5true"));
  EXPECT_FALSE(evaluate("asInt('x1')", {}).ok());
}

TEST(expr_lang, string_builtins) {
  EXPECT_EQ(eval_ok("lower('AbC') + upper('x')"), json("abcX"));
  EXPECT_EQ(eval_ok("trim('  hi \\n')"), json("hi"));
  EXPECT_EQ(eval_ok("trim('xxhixx', 'x')"), json("hi"));
  EXPECT_EQ(eval_ok("split('a,b,c', ',')"), json({"a", "b", "c"}));
  EXPECT_EQ(eval_ok("join(['a', 'b'], '-')"), json("a-b"));
  EXPECT_EQ(eval_ok("replace('aXbX', 'X', '.')"), json("a.b."));
  EXPECT_EQ(eval_ok("len('héllo')"), json(5));
  EXPECT_EQ(eval_ok("indexOf('abcabc', 'c')"), json(2));
}

TEST(expr_lang, len_of_collections_and_abs) {
  EXPECT_EQ(eval_ok("len([1,2,3]) + len({a: 1})"), json(4));
  EXPECT_EQ(eval_ok("abs(-3) + abs(-1.5)"), json(4.5));
  EXPECT_FALSE(evaluate("len(1)", {}).ok());
}

TEST(expr_lang, predicates_with_pointer) {
  const json env = {{"xs", {1, 2, 3, 4}},
                    {"users", {{{"name", "a"}, {"age", 20}}, {{"name", "b"}, {"age", 10}}}}};
  EXPECT_EQ(eval_ok("filter(xs, # > 2)", env), json({3, 4}));
  EXPECT_EQ(eval_ok("map(xs, # * 10)", env), json({10, 20, 30, 40}));
  EXPECT_EQ(eval_ok("all(xs, {# > 0})", env), json(true));
  EXPECT_EQ(eval_ok("any(xs, # == 3)", env), json(true));
  EXPECT_EQ(eval_ok("none(xs, # > 10)", env), json(true));
  EXPECT_EQ(eval_ok("one(xs, # == 1)", env), json(true));
  EXPECT_EQ(eval_ok("count(xs, # % 2 == 0)", env), json(2));
  EXPECT_EQ(eval_ok("map(filter(users, .age > 15), .name)", env), json({"a"}));
  EXPECT_EQ(eval_ok("find(users, #.age < 15).name", env), json("b"));
  EXPECT_EQ(eval_ok("map(xs, #index)", env), json({0, 1, 2, 3}));
}

TEST(expr_lang, predicate_must_return_boolean) {
  EXPECT_FALSE(evaluate("filter([1], 1)", {}).ok());
  EXPECT_FALSE(evaluate("#", {}).ok());
}

TEST(expr_lang, pipes_pass_the_value_as_first_argument) {
  EXPECT_EQ(eval_ok("[1, 2, 3] | filter(# > 1) | map(# * 2)"), json({4, 6}));
  EXPECT_EQ(eval_ok("'a,b' | split(',') | join('+')"), json("a+b"));
}

TEST(expr_lang, to_json_is_compact_with_go_number_formatting) {
  EXPECT_EQ(eval_ok("toJson({a: [1, 2.0, 'x'], b: nil})"), json(R"({"a":[1,2,"x"],"b":null})"));
  EXPECT_EQ(eval_ok("toJson(x)", {{"x", 1.5}}), json("1.5"));
  EXPECT_EQ(eval_ok("fromJSON('{\"a\": 2}').a"), json(2));
}

TEST(expr_lang, jsonpath_reads_strings_and_values) {
  const json env = {{"doc", R"({"a": {"b": [1, 2, {"c": "x"}]}})"}};
  EXPECT_EQ(eval_ok("jsonpath(doc, '$.a.b[2].c')", env), json("x"));
  EXPECT_EQ(eval_ok("jsonpath(doc, '$.a.b[0]')", env), json(1));
  EXPECT_EQ(eval_ok("jsonpath({k: [{v: 1}, {v: 2}]}, '$.k[*].v')"), json({1, 2}));
  EXPECT_EQ(eval_ok("jsonpath(doc, \"$['a']['b'][-1].c\")", env), json("x"));
  EXPECT_FALSE(evaluate("jsonpath(doc, '$.zz')", env).ok());
  EXPECT_FALSE(evaluate("jsonpath('{bad', '$.a')", {}).ok());
}

TEST(expr_lang, sprig_functions_are_called_with_go_argument_order) {
  EXPECT_EQ(eval_ok("sprig.trim('  x  ')"), json("x"));
  EXPECT_EQ(eval_ok("sprig.replace('a', 'b', 'banana')"), json("bbnbnb"));
  EXPECT_EQ(eval_ok("sprig.join(',', ['a', 'b'])"), json("a,b"));
  EXPECT_EQ(eval_ok("sprig.int('7') + 1"), json(8));
  auto msg = eval_error("sprig.nope(1)");
  EXPECT_NE(msg.find("sprig.nope"), std::string::npos) << msg;
}

TEST(expr_lang, unknown_function_is_an_error_at_check_and_evaluate) {
  EXPECT_FALSE(evaluate("frobnicate(1)", {}).ok());
  auto c = check("1 + frobnicate(1)");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("column 5"), std::string::npos) << c.error().message;
}

TEST(expr_lang, check_reports_syntax_errors_with_column) {
  EXPECT_TRUE(check("a.b + 1 > 2 ? 'x' : 'y'").ok());
  auto c = check("1 + * 2");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("column 5"), std::string::npos) << c.error().message;
  EXPECT_FALSE(check("'unterminated").ok());
  EXPECT_FALSE(check("(1 + 2").ok());
  EXPECT_FALSE(check("a.b(").ok());
  EXPECT_FALSE(check("").ok());
}

TEST(expr_lang, deep_nesting_is_rejected_not_crashing) {
  std::string deep(5000, '(');
  deep += "1";
  deep += std::string(5000, ')');
  auto r = evaluate(deep, {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("nested too deeply"), std::string::npos);
  EXPECT_FALSE(evaluate(std::string(5000, '!') + "true", {}).ok());
  EXPECT_FALSE(evaluate(std::string(5000, '['), {}).ok());
}

TEST(expr_lang, runaway_evaluation_hits_the_budget) {
  auto r = evaluate("map(1..10000, map(1..10000, #))", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("budget"), std::string::npos) << r.error().message;
  EXPECT_FALSE(evaluate("1..100000000", {}).ok());
}

TEST(expr_lang, evaluate_bool_requires_a_boolean) {
  auto yes = evaluate_bool("retries < 3", {{"retries", 1}});
  ASSERT_TRUE(yes.ok());
  EXPECT_TRUE(*yes);
  auto bad = evaluate_bool("1 + 1", {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("boolean"), std::string::npos);
}

TEST(expr_lang, retry_expression_over_last_result) {
  const json env = {{"lastRetry", {{"exitCode", "1"}, {"status", "Failed"}, {"duration", "12"}}},
                    {"retries", 2}};
  auto r = evaluate_bool(
      "asInt(lastRetry.exitCode) == 1 && lastRetry.status != 'Error' && asInt(lastRetry.duration) "
      "< 60 && retries < 3",
      env);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r);
}

TEST(expr_lang, quote_round_trips_through_the_lexer) {
  const std::string nasty = "a\"b\\c\nd\te'\x01";
  auto r = evaluate(quote(nasty), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, json(nasty));
  EXPECT_EQ(quote("x"), "\"x\"");
}

TEST(expr_lang, comments_are_ignored) {
  EXPECT_EQ(eval_ok("1 /* two */ + // rest\n 2"), json(3));
}

}  // namespace
}  // namespace kairos::expr
