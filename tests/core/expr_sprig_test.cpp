#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kairos/core/sprig.hpp"

namespace kairos::sprig {
namespace {

using nlohmann::json;

json call_ok(std::string_view name, std::vector<json> args) {
  auto r = call(name, args);
  EXPECT_TRUE(r.has_value()) << name;
  if (!r) return json("<unknown>");
  EXPECT_TRUE(r->ok()) << name << ": " << (r->ok() ? "" : r->error().message);
  return r->ok() ? **r : json("<error>");
}

TEST(sprig, unknown_function_is_nullopt) {
  EXPECT_FALSE(has("nope"));
  EXPECT_FALSE(call("nope", {}).has_value());
  EXPECT_TRUE(has("upper"));
}

TEST(sprig, string_functions_take_the_piped_value_last) {
  EXPECT_EQ(call_ok("upper", {"abc"}), json("ABC"));
  EXPECT_EQ(call_ok("title", {"hello wide world"}), json("Hello Wide World"));
  EXPECT_EQ(call_ok("trimAll", {"$", "$5.00$"}), json("5.00"));
  EXPECT_EQ(call_ok("trimPrefix", {"pre-", "pre-x"}), json("x"));
  EXPECT_EQ(call_ok("trimSuffix", {".txt", "a.txt"}), json("a"));
  EXPECT_EQ(call_ok("replace", {" ", "-", "a b c"}), json("a-b-c"));
  EXPECT_EQ(call_ok("contains", {"cat", "catch"}), json(true));
  EXPECT_EQ(call_ok("hasPrefix", {"ca", "catch"}), json(true));
  EXPECT_EQ(call_ok("hasSuffix", {"ch", "catch"}), json(true));
  EXPECT_EQ(call_ok("repeat", {3, "ab"}), json("ababab"));
}

TEST(sprig, quoting_and_cat) {
  EXPECT_EQ(call_ok("quote", {"a\"b", 1}), json("\"a\\\"b\" \"1\""));
  EXPECT_EQ(call_ok("squote", {"x"}), json("'x'"));
  EXPECT_EQ(call_ok("cat", {"a", nullptr, 2}), json("a 2"));
}

TEST(sprig, default_empty_and_coalesce) {
  EXPECT_EQ(call_ok("default", {"d", ""}), json("d"));
  EXPECT_EQ(call_ok("default", {"d", "v"}), json("v"));
  EXPECT_EQ(call_ok("default", {"d"}), json("d"));
  EXPECT_EQ(call_ok("empty", {0}), json(true));
  EXPECT_EQ(call_ok("empty", {json::array()}), json(true));
  EXPECT_EQ(call_ok("empty", {"x"}), json(false));
  EXPECT_EQ(call_ok("coalesce", {nullptr, "", "z"}), json("z"));
}

TEST(sprig, json_round_trip) {
  EXPECT_EQ(call_ok("toJson", {json{{"a", {1, 2}}}}), json(R"({"a":[1,2]})"));
  EXPECT_EQ(call_ok("toPrettyJson", {json{{"a", 1}}}), json("{\n  \"a\": 1\n}"));
  EXPECT_EQ(call_ok("fromJson", {R"({"k":"v"})"}), json({{"k", "v"}}));
}

TEST(sprig, encodings_and_digests) {
  EXPECT_EQ(call_ok("b64enc", {"hello"}), json("aGVsbG8="));
  EXPECT_EQ(call_ok("b64dec", {"aGVsbG8="}), json("hello"));
  EXPECT_EQ(call_ok("sha256sum", {"hello world"}),
            json("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"));
  EXPECT_EQ(call_ok("sha1sum", {"abc"}), json("a9993e364706816aba3e25717850c26c9cd0d89d"));
  EXPECT_EQ(call_ok("sha256sum", {""}),
            json("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
}

TEST(sprig, substr_and_trunc) {
  EXPECT_EQ(call_ok("substr", {0, 5, "hello world"}), json("hello"));
  EXPECT_EQ(call_ok("substr", {6, -1, "hello world"}), json("world"));
  EXPECT_EQ(call_ok("substr", {50, 60, "short"}), json(""));
  EXPECT_EQ(call_ok("trunc", {5, "hello world"}), json("hello"));
  EXPECT_EQ(call_ok("trunc", {-5, "hello world"}), json("world"));
}

TEST(sprig, split_join_and_lists) {
  EXPECT_EQ(call_ok("split", {"$", "foo$bar"}), json({{"_0", "foo"}, {"_1", "bar"}}));
  EXPECT_EQ(call_ok("splitList", {",", "a,b"}), json({"a", "b"}));
  EXPECT_EQ(call_ok("join", {"-", json{"a", 1, true}}), json("a-1-true"));
  EXPECT_EQ(call_ok("list", {1, "a"}), json({1, "a"}));
  EXPECT_EQ(call_ok("first", {json{3, 4}}), json(3));
  EXPECT_EQ(call_ok("uniq", {json{1, 1, 2}}), json({1, 2}));
  EXPECT_EQ(call_ok("has", {2, json{1, 2}}), json(true));
}

TEST(sprig, dicts) {
  const json d = call_ok("dict", {"a", 1, "b", "x"});
  EXPECT_EQ(d, json({{"a", 1}, {"b", "x"}}));
  EXPECT_EQ(call_ok("get", {d, "b"}), json("x"));
  EXPECT_EQ(call_ok("get", {d, "zz"}), json(""));
  EXPECT_EQ(call_ok("hasKey", {d, "a"}), json(true));
  EXPECT_EQ(call_ok("keys", {d}), json({"a", "b"}));
}

TEST(sprig, conversions_are_lenient_like_cast) {
  EXPECT_EQ(call_ok("atoi", {"12"}), json(12));
  EXPECT_EQ(call_ok("atoi", {"x"}), json(0));
  EXPECT_EQ(call_ok("int", {"0x10"}), json(16));
  EXPECT_EQ(call_ok("int", {3.7}), json(3));
  EXPECT_EQ(call_ok("float64", {"2.5"}), json(2.5));
  EXPECT_EQ(call_ok("toString", {1.5}), json("1.5"));
  EXPECT_EQ(call_ok("toString", {json{{"a", 1}}}), json("map[a:1]"));
}

TEST(sprig, integer_math) {
  EXPECT_EQ(call_ok("add", {1, "2", 3.9}), json(6));
  EXPECT_EQ(call_ok("sub", {10, 4}), json(6));
  EXPECT_EQ(call_ok("mul", {2, 3, 4}), json(24));
  EXPECT_EQ(call_ok("div", {7, 2}), json(3));
  EXPECT_EQ(call_ok("mod", {7, 2}), json(1));
  auto r = call("div", {1, 0});
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->ok());
}

TEST(sprig, indentation) {
  EXPECT_EQ(call_ok("indent", {2, "a\nb"}), json("  a\n  b"));
  EXPECT_EQ(call_ok("nindent", {2, "a"}), json("\n  a"));
}

TEST(sprig, regular_expressions) {
  EXPECT_EQ(call_ok("regexMatch", {"^[a-z]+\\d$", "abc1"}), json(true));
  EXPECT_EQ(call_ok("regexReplaceAll", {"a(x*)b", "-ab-axxb-", "${1}W"}), json("-W-xxW-"));
  EXPECT_EQ(call_ok("regexFindAll", {"[0-9]", "a1b2c3", 2}), json({"1", "2"}));
  auto bad = call("regexMatch", {"(", "x"});
  ASSERT_TRUE(bad.has_value());
  EXPECT_FALSE(bad->ok());
}

TEST(sprig, wrong_argument_count_is_an_error) {
  auto r = call("trimPrefix", {"only-one"});
  ASSERT_TRUE(r.has_value());
  ASSERT_FALSE(r->ok());
  EXPECT_NE(r->error().message.find("arguments"), std::string::npos);
}

TEST(sprig, snakecase) {
  EXPECT_EQ(call_ok("snakecase", {"FirstName"}), json("first_name"));
}

}  // namespace
}  // namespace kairos::sprig
