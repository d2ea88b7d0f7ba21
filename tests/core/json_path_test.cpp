#include "kairos/core/json_path.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;
namespace jp = kairos::json_path;

const json& sample() {
  static const json doc = json::parse(R"({
    "name": {"first": "Tom", "last": "Anderson"},
    "age": 37,
    "ratio": 1.5,
    "whole": 2.0,
    "active": true,
    "nothing": null,
    "children": ["Sara", "Alex", "Jack"],
    "fav.movie": "Deer Hunter",
    "friends": [
      {"first": "Dale", "last": "Murphy", "age": 44, "nets": ["ig", "fb", "tw"]},
      {"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]},
      {"first": "Jane", "last": "Murphy", "age": 47, "nets": ["ig", "tw"]}
    ],
    "body": {"ref": "refs/heads/main", "commits": [{"id": "a1"}, {"id": "b2"}, {"x": 1}]}
  })");
  return doc;
}

TEST(json_path, dotted_keys_reach_nested_values) {
  EXPECT_EQ(jp::get(sample(), "name.last"), json("Anderson"));
  EXPECT_EQ(jp::get_string(sample(), "body.ref"), "refs/heads/main");
}

TEST(json_path, missing_path_is_nullopt_and_empty_string) {
  EXPECT_FALSE(jp::get(sample(), "name.middle").has_value());
  EXPECT_FALSE(jp::get(sample(), "age.x").has_value());
  EXPECT_EQ(jp::get_string(sample(), "nope"), "");
  EXPECT_FALSE(jp::get(sample(), "").has_value());
}

TEST(json_path, escaped_dot_is_part_of_the_key) {
  EXPECT_EQ(jp::get_string(sample(), "fav\\.movie"), "Deer Hunter");
}

TEST(json_path, array_index_selects_element) {
  EXPECT_EQ(jp::get_string(sample(), "children.1"), "Alex");
  EXPECT_EQ(jp::get_string(sample(), "friends.1.last"), "Craig");
  EXPECT_FALSE(jp::get(sample(), "children.9").has_value());
  EXPECT_FALSE(jp::get(sample(), "children.x").has_value());
}

TEST(json_path, hash_is_array_length) {
  EXPECT_EQ(jp::get(sample(), "children.#"), json(3));
  EXPECT_FALSE(jp::get(sample(), "name.#").has_value());
}

TEST(json_path, hash_collects_field_of_every_element) {
  EXPECT_EQ(jp::get(sample(), "friends.#.first"), json({"Dale", "Roger", "Jane"}));
  // Elements without the field are skipped.
  EXPECT_EQ(jp::get(sample(), "body.commits.#.id"), json({"a1", "b2"}));
  EXPECT_EQ(jp::get_string(sample(), "body.commits.#.id"), R"(["a1","b2"])");
}

TEST(json_path, nested_hash_collects_nested_arrays) {
  EXPECT_EQ(jp::get(sample(), "friends.#.nets.#"), json({3, 2, 2}));
}

TEST(json_path, query_returns_first_match) {
  EXPECT_EQ(jp::get_string(sample(), R"(friends.#(last=="Murphy").first)"), "Dale");
  EXPECT_EQ(jp::get_string(sample(), R"(friends.#(age>45).first)"), "Roger");
  EXPECT_FALSE(jp::get(sample(), R"(friends.#(last=="Nobody"))").has_value());
}

TEST(json_path, query_with_hash_suffix_returns_all_matches) {
  EXPECT_EQ(jp::get(sample(), R"(friends.#(last=="Murphy")#.first)"), json({"Dale", "Jane"}));
  EXPECT_EQ(jp::get(sample(), R"(friends.#(age>=47)#.first)"), json({"Roger", "Jane"}));
  EXPECT_EQ(jp::get(sample(), R"(friends.#(age<45)#.first)"), json({"Dale"}));
  EXPECT_EQ(jp::get(sample(), R"(friends.#(age<=44)#.first)"), json({"Dale"}));
  EXPECT_EQ(jp::get(sample(), R"(friends.#(last!="Murphy")#.first)"), json({"Roger"}));
}

TEST(json_path, like_and_not_like_use_glob_patterns) {
  EXPECT_EQ(jp::get(sample(), R"(friends.#(first%"D*")#.last)"), json({"Murphy"}));
  EXPECT_EQ(jp::get(sample(), R"(friends.#(first!%"D*")#.first)"), json({"Roger", "Jane"}));
  EXPECT_EQ(jp::get(sample(), R"(friends.#(first%"J?ne").age)"), json(47));
}

TEST(json_path, nested_query_on_element_arrays) {
  EXPECT_EQ(jp::get(sample(), R"(friends.#(nets.#(=="fb"))#.first)"), json({"Dale", "Roger"}));
}

TEST(json_path, query_literal_compares_only_with_same_type) {
  // "44" is a string literal; age is a number.
  EXPECT_FALSE(jp::get(sample(), R"(friends.#(age=="44"))").has_value());
  EXPECT_EQ(jp::get_string(sample(), R"(friends.#(age==44).first)"), "Dale");
}

TEST(json_path, wildcards_match_keys) {
  EXPECT_EQ(jp::get_string(sample(), "name.fi*"), "Tom");
  EXPECT_EQ(jp::get_string(sample(), "name.l?st"), "Anderson");
  EXPECT_EQ(jp::get_string(sample(), "a?e"), "37");
}

TEST(json_path, pipe_applies_to_collected_result) {
  EXPECT_EQ(jp::get(sample(), R"(friends.#(last=="Murphy")#|#)"), json(2));
  EXPECT_EQ(jp::get_string(sample(), R"(friends.#(last=="Murphy")#|0.first)"), "Dale");
}

TEST(json_path, string_form_follows_gjson) {
  EXPECT_EQ(jp::get_string(sample(), "age"), "37");
  EXPECT_EQ(jp::get_string(sample(), "ratio"), "1.5");
  EXPECT_EQ(jp::get_string(sample(), "whole"), "2");
  EXPECT_EQ(jp::get_string(sample(), "active"), "true");
  EXPECT_EQ(jp::get_string(sample(), "nothing"), "");
  EXPECT_EQ(jp::get_string(sample(), "name"), R"({"first":"Tom","last":"Anderson"})");
}

TEST(json_path, malformed_queries_find_nothing_and_do_not_crash) {
  for (const char* p : {"friends.#(", "friends.#(age>", "friends.#(age==1)x", "#((((", "\\",
                        "friends.#(\"", "..", "a..b"}) {
    EXPECT_FALSE(jp::get(sample(), p).has_value()) << p;
  }
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "#(";
  EXPECT_FALSE(jp::get(sample(), deep).has_value());
}

TEST(sjson, set_creates_nested_objects) {
  json doc;
  ASSERT_TRUE(jp::set(doc, "name.last", "Anderson").ok());
  EXPECT_EQ(doc, json::parse(R"({"name":{"last":"Anderson"}})"));
  ASSERT_TRUE(jp::set(doc, "name.first", "Sara").ok());
  EXPECT_EQ(doc["name"]["first"], "Sara");
}

TEST(sjson, set_replaces_existing_value) {
  json doc = json::parse(R"({"spec":{"arguments":{"parameters":[{"name":"ref","value":"x"}]}}})");
  ASSERT_TRUE(jp::set(doc, "spec.arguments.parameters.0.value", "refs/heads/main").ok());
  EXPECT_EQ(doc["spec"]["arguments"]["parameters"][0]["value"], "refs/heads/main");
}

TEST(sjson, minus_one_appends_to_array) {
  json doc = json::parse(R"({"friends":["Andy","Carol"]})");
  ASSERT_TRUE(jp::set(doc, "friends.-1", "Sara").ok());
  EXPECT_EQ(doc["friends"], json({"Andy", "Carol", "Sara"}));
  json empty;
  ASSERT_TRUE(jp::set(empty, "list.-1", 1).ok());
  EXPECT_EQ(empty, json::parse(R"({"list":[1]})"));
}

TEST(sjson, index_past_end_pads_with_null) {
  json doc = json::parse(R"({"friends":["Andy","Carol"]})");
  ASSERT_TRUE(jp::set(doc, "friends.4", "Sara").ok());
  EXPECT_EQ(doc["friends"], json::parse(R"(["Andy","Carol",null,null,"Sara"])"));
}

TEST(sjson, colon_forces_numeric_object_key_and_escape_keeps_dot) {
  json doc;
  ASSERT_TRUE(jp::set(doc, "users.:2313.name", "Sara").ok());
  EXPECT_EQ(doc, json::parse(R"({"users":{"2313":{"name":"Sara"}}})"));
  json d2;
  ASSERT_TRUE(jp::set(d2, "fav\\.movie", "Heat").ok());
  EXPECT_EQ(d2, json::parse(R"({"fav.movie":"Heat"})"));
}

TEST(sjson, set_rejects_malformed_paths) {
  json doc = json::object();
  EXPECT_FALSE(jp::set(doc, "", 1).ok());
  EXPECT_FALSE(jp::set(doc, "a..b", 1).ok());
  EXPECT_FALSE(jp::set(doc, "a.*", 1).ok());
  EXPECT_FALSE(jp::set(doc, "a.#", 1).ok());
  EXPECT_FALSE(jp::set(doc, "a.99999999", 1).ok());
  json arr = json::parse(R"({"a":[1]})");
  EXPECT_EQ(jp::set(arr, "a.b", 1).error().code, kairos::errc::invalid_argument);
}

}  // namespace
