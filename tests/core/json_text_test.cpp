#include "kairos/core/json_text.hpp"

#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kairos {
namespace {

using json = nlohmann::json;

std::string nlohmann_dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::strict);
}

TEST(dump_json, prints_what_nlohmann_prints_for_every_kind_of_value) {
  const json cases[] = {
      nullptr,
      true,
      false,
      0,
      -1,
      std::numeric_limits<std::int64_t>::min(),
      std::numeric_limits<std::int64_t>::max(),
      std::numeric_limits<std::uint64_t>::max(),
      1.0,
      -0.0,
      0.1,
      1e100,
      std::numeric_limits<double>::quiet_NaN(),
      std::numeric_limits<double>::infinity(),
      "",
      "plain ascii ~ with DEL \x7f",
      "quote \" backslash \\ slash /",
      "controls \b\f\n\r\t \x01 \x1f",
      std::string("nul \0 inside", 12),
      "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 and a \"quote\"",
      json::object(),
      json::array(),
      json::binary({1, 2, 3}),
      {{"b", 1}, {"a", {1, "x", nullptr}}, {"key \"quoted\"\n", {{"nested", json::object()}}}},
  };
  for (const auto& c : cases) EXPECT_EQ(dump_json(c), nlohmann_dump(c)) << nlohmann_dump(c);
}

TEST(dump_json, throws_on_invalid_utf8_as_a_strict_dump_does) {
  const json bad = {{"ok", "fine"}, {"bad", "lone \xff byte"}};
  EXPECT_THROW(nlohmann_dump(bad), json::type_error);
  EXPECT_THROW(dump_json(bad), json::type_error);
  // An overlong encoding of '/' and a UTF-16 surrogate are not UTF-8 either.
  EXPECT_THROW(dump_json(json("\xc0\xaf")), json::type_error);
  EXPECT_THROW(dump_json(json("\xed\xa0\x80")), json::type_error);
}

TEST(dump_json, appends_to_what_is_already_there) {
  std::string out = "prefix:";
  dump_json(json{{"a", 1}}, out);
  EXPECT_EQ(out, "prefix:{\"a\":1}");
}

// Random trees of every kind, with strings drawn from bytes that need
// escaping, multi-byte UTF-8 and plain text, against nlohmann.
json random_value(std::mt19937& rng, int depth) {
  const int kind = static_cast<int>(rng() % (depth > 3 ? 6 : 8));
  auto random_string = [&] {
    static const std::string pieces[] = {"a",  "Z",    " ",    "\"",       "\\",
                                         "\n", "\x01", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
                                         "/",  "\t",   "0"};
    std::string s;
    const auto n = rng() % 12;
    for (std::size_t i = 0; i < n; ++i) s += pieces[rng() % std::size(pieces)];
    return s;
  };
  switch (kind) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<std::int64_t>(rng()) - (1LL << 31);
    case 3:
      return static_cast<double>(rng()) / 7.0;
    case 4:
    case 5:
      return random_string();
    case 6: {
      json o = json::object();
      const auto n = rng() % 5;
      for (std::size_t i = 0; i < n; ++i) o[random_string()] = random_value(rng, depth + 1);
      return o;
    }
    default: {
      json a = json::array();
      const auto n = rng() % 5;
      for (std::size_t i = 0; i < n; ++i) a.push_back(random_value(rng, depth + 1));
      return a;
    }
  }
}

TEST(dump_json, random_documents_print_byte_for_byte_as_nlohmann_prints_them) {
  std::mt19937 rng(20261204);
  for (int i = 0; i < 2000; ++i) {
    const json j = random_value(rng, 0);
    ASSERT_EQ(dump_json(j), nlohmann_dump(j));
  }
}

TEST(dump_json_indented, random_documents_print_byte_for_byte_as_nlohmann_indents_them) {
  std::mt19937 rng(20261206);
  for (int i = 0; i < 2000; ++i) {
    const json j = random_value(rng, 0);
    for (int indent : {2, 0, 4}) {
      ASSERT_EQ(dump_json_indented(j, indent), j.dump(indent)) << j.dump(indent);
    }
  }
  const json flat = {{"a", json::array()}, {"b", json::object()}, {"c", {1, {{"d", nullptr}}}}};
  EXPECT_EQ(dump_json_indented(flat, -1), flat.dump());
}

TEST(dump_json_indented, a_binary_value_inside_prints_as_nlohmann_prints_it) {
  const json j = {{"name", "x"}, {"data", {json::binary({1, 2, 3}), 4.5}}};
  EXPECT_EQ(dump_json_indented(j, 2), j.dump(2));
}

TEST(dump_json_indented, throws_on_invalid_utf8_as_nlohmann_dump_does) {
  const json bad = {{"ok", {"fine"}}, {"bad", {{"deep", "lone \xff byte"}}}};
  EXPECT_THROW(bad.dump(2), json::type_error);
  EXPECT_THROW(dump_json_indented(bad, 2), json::type_error);
}

// nlohmann's accept, except that it takes a NUL between tokens for the end
// of the text; a NUL anywhere makes text not JSON.
bool reference_verdict(const std::string& text) {
  return text.find('\0') == std::string::npos && json::accept(text);
}

TEST(is_json, decides_as_nlohmann_accept_decides_on_the_edge_cases) {
  const std::string cases[] = {
      "{}",
      "  [1, 2.5e3, -0, true, null]  ",
      "\"\\u0000\"",
      "\"\\ud83d\\ude00\"",
      "123456789012345678901234567890",  // past 64 bits: nlohmann takes it as a double
      "\xEF\xBB\xBF{\"bom\":1}",         // a byte order mark: nlohmann skips it
      "1e400",
      "1.5e-400",
      "",
      " ",
      "{",
      "[1,]",
      "{\"a\" 1}",
      "01",
      "1.",
      "-",
      "nul",
      "[] x",
      "\"\\ud800\"",
      "{\"a\":\"\xff\"}",
      "\"\xc3\xa9\"",
      "\"\x01\"",
      "{\"a\":1,\"a\":2}",
      std::string(2000, '[') + std::string(2000, ']'),  // deeper than simdjson goes
      std::string("\"a\0b\"", 5),
      std::string("[1]\0", 4),
      std::string("{\"a\":1}\0junk", 12)};
  for (const auto& c : cases) EXPECT_EQ(is_json(c), reference_verdict(c)) << c.substr(0, 40);
}

TEST(parse_json, text_with_a_nul_is_not_json_though_nlohmann_would_stop_there) {
  const std::string tail("[1]\0,2]", 7);
  ASSERT_FALSE(json::parse(tail, nullptr, false).is_discarded());  // nlohmann's [1]
  EXPECT_TRUE(parse_json(tail).is_discarded());
  EXPECT_FALSE(is_json(tail));
  EXPECT_TRUE(parse_json(std::string("\0", 1)).is_discarded());
  EXPECT_EQ(parse_json(" {\"a\": [1, \"\\u0000\"]} "), json::parse(R"({"a":[1,"\u0000"]})"));
  EXPECT_TRUE(parse_json("{").is_discarded());
}

TEST(is_json, random_documents_and_their_truncations_are_judged_as_nlohmann_judges_them) {
  std::mt19937 rng(20261205);
  for (int i = 0; i < 2000; ++i) {
    const auto text = nlohmann_dump(random_value(rng, 0));
    ASSERT_TRUE(is_json(text)) << text;
    // Cut short or with a byte changed, most are no longer JSON.
    auto cut = text.substr(0, rng() % (text.size() + 1));
    ASSERT_EQ(is_json(cut), reference_verdict(cut)) << cut;
    auto changed = text;
    changed[rng() % changed.size()] = "{}[],:\"\\x0 \xff"[rng() % 13];
    ASSERT_EQ(is_json(changed), reference_verdict(changed)) << changed;
  }
}

// The same tree, kinds of number included, as json::parse builds.
void expect_same_tree(const json& got, const json& want, const std::string& text) {
  ASSERT_EQ(got.type(), want.type()) << text;
  ASSERT_EQ(got, want) << text;
  if (got.is_structured()) {
    auto g = got.begin();
    for (auto w = want.begin(); w != want.end(); ++w, ++g) expect_same_tree(*g, *w, text);
  }
}

TEST(parse_printed_json, builds_the_tree_json_parse_builds_on_the_edge_cases) {
  const std::string cases[] = {
      "null",
      "0",
      "7",
      "-7",
      "9223372036854775807",
      "-9223372036854775808",
      "9223372036854775808",
      "18446744073709551615",
      "18446744073709551616",
      "1.5",
      "-0.0",
      "1e300",
      "2.5E-3",
      R"("esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00")",
      R"({"b":1,"a":[true,false,null,{}],"c":{"z":[],"y":"x"}})",
      R"({"k":1,"k":2})",
      "\xEF\xBB\xBF{\"bom\":1}",
      " [ 1 , 2 ] ",
  };
  for (const auto& text : cases) {
    SCOPED_TRACE(text);
    expect_same_tree(parse_printed_json(text), json::parse(text), text);
  }
}

TEST(parse_printed_json, random_documents_read_back_as_json_parse_reads_them) {
  std::mt19937 rng(20261206);
  for (int i = 0; i < 2000; ++i) {
    const auto text = nlohmann_dump(random_value(rng, 0));
    expect_same_tree(parse_printed_json(text), json::parse(text), text);
  }
}

TEST(parse_printed_json, text_that_is_not_json_throws_as_json_parse_throws) {
  for (const std::string text : {"", "{", "[1,]", "{\"a\" 1}", "\"bad \xff\"", "1 2"}) {
    SCOPED_TRACE(text);
    EXPECT_THROW(parse_printed_json(text), json::parse_error);
  }
}

}  // namespace
}  // namespace kairos
