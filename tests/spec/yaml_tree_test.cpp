// The YAML tree the spec readers walk: libyaml builds it, yaml-cpp takes
// over for text libyaml refuses, and both must give the same tree.
#include "yaml_tree.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "yaml_reader.hpp"

namespace kairos::spec {
namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Walks two trees side by side and names the first difference.
void expect_same(const yaml_node& a, const yaml_node& b, const std::string& where) {
  ASSERT_EQ(a.type(), b.type()) << where;
  ASSERT_EQ(a.scalar(), b.scalar()) << where;
  if (!a.is_null()) ASSERT_EQ(a.tag(), b.tag()) << where;
  // Where yaml-cpp puts an empty value's mark is its own choice; the
  // readers never cite a null node.
  if (!a.is_null()) {
    ASSERT_EQ(a.mark().line, b.mark().line) << where;
    ASSERT_EQ(a.mark().column, b.mark().column) << where;
  }
  ASSERT_EQ(a.size(), b.size()) << where;
  for (std::size_t i = 0; i < a.items().size(); ++i)
    expect_same(*a.items()[i], *b.items()[i], where + "[" + std::to_string(i) + "]");
  for (std::size_t i = 0; i < a.entries().size(); ++i) {
    const std::string at = where + "." + a.entries()[i].key->scalar();
    expect_same(*a.entries()[i].key, *b.entries()[i].key, at + " (key)");
    expect_same(*a.entries()[i].value, *b.entries()[i].value, at);
  }
}

void expect_same_documents(std::string_view text, const std::string& name) {
  yaml_stream fast;
  ASSERT_TRUE(parse_with_libyaml(text, fast)) << name;
  const auto reference = parse_with_yaml_cpp(text);
  ASSERT_FALSE(reference.error) << name << ": " << reference.error->message;
  ASSERT_EQ(fast.documents().size(), reference.stream.documents().size()) << name;
  for (std::size_t d = 0; d < fast.documents().size(); ++d)
    expect_same(*fast.documents()[d], *reference.stream.documents()[d],
                name + " document " + std::to_string(d));
}

TEST(yaml_tree, libyaml_and_yaml_cpp_give_the_same_tree_for_every_shipped_manifest) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(KAIROS_MANIFESTS_DIR)) {
    if (entry.path().extension() != ".yaml") continue;
    ++files;
    expect_same_documents(read_text(entry.path()), entry.path().string());
  }
  EXPECT_GE(files, 20u);
}

TEST(yaml_tree, libyaml_and_yaml_cpp_agree_on_scalar_styles_tags_and_flow_collections) {
  expect_same_documents(R"(plain: 1
single: '1'
double: "two\tthree"
tagged: !!str 5
local: !thing x
empty:
tilde: ~
nulls: [null, Null, NULL, '']
flow: {a: [1, 2], b: {c: d}}
literal: |
  line one
  line two
folded: >-
  folded
  text
nested:
  - name: a
    value: |
      x
  -   - deep
      - er
---
second: document
...
)",
                        "styles");
}

TEST(yaml_tree, an_alias_is_the_anchored_node_itself) {
  yaml_stream s;
  ASSERT_TRUE(parse_with_libyaml("a: &shared {k: v}\nb: *shared\n", s));
  const yaml_node& doc = *s.documents().front();
  EXPECT_EQ(&doc["a"], &doc["b"]);
  EXPECT_EQ(doc["b"]["k"].scalar(), "v");
}

TEST(yaml_tree, an_anchor_used_again_names_the_later_node) {
  const auto loaded = load_yaml("a: &x 1\nb: &x 2\nc: *x\n");
  ASSERT_FALSE(loaded.error);
  EXPECT_EQ((*loaded.stream.documents().front())["c"].scalar(), "2");
}

void expect_outside_the_bounds_on_both_paths(std::string_view text) {
  yaml_stream fast;
  ASSERT_TRUE(parse_with_libyaml(text, fast));
  EXPECT_FALSE(within_yaml_bounds(*fast.documents().front()));
  const auto reference = parse_with_yaml_cpp(text);
  ASSERT_FALSE(reference.error);
  EXPECT_FALSE(within_yaml_bounds(*reference.stream.documents().front()));
}

TEST(yaml_tree, an_alias_cycle_fails_the_bounds_on_both_paths) {
  expect_outside_the_bounds_on_both_paths("&loop [*loop]\n");
}

std::string laughs() {
  std::string text = "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 8; ++i) {
    const std::string prev = "*l" + std::to_string(i - 1);
    text += "l" + std::to_string(i) + ": &l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) text += (k ? ", " : "") + prev;
    text += "]\n";
  }
  return text;
}

TEST(yaml_tree, a_document_that_expands_past_the_budget_fails_the_bounds_on_both_paths) {
  expect_outside_the_bounds_on_both_paths(laughs());
}

TEST(yaml_tree, a_document_nested_past_the_depth_bound_fails_the_bounds_on_both_paths) {
  expect_outside_the_bounds_on_both_paths(std::string(max_yaml_depth + 2, '[') +
                                          std::string(max_yaml_depth + 2, ']') + "\n");
}

TEST(yaml_tree, embedded_yaml_that_expands_past_the_budget_is_an_error_not_a_hang) {
  const auto parsed = load_embedded_yaml(laughs());
  EXPECT_EQ(parsed.root, nullptr);
  EXPECT_EQ(parsed.error, yaml_bounds_message());
}

TEST(yaml_tree, text_libyaml_refuses_is_reported_in_yaml_cpps_words) {
  constexpr std::string_view text = "a: [1, 2\nb: c\n";
  yaml_stream fast;
  EXPECT_FALSE(parse_with_libyaml(text, fast));
  const auto loaded = load_yaml(text);
  const auto reference = parse_with_yaml_cpp(text);
  ASSERT_TRUE(loaded.error);
  ASSERT_TRUE(reference.error);
  EXPECT_EQ(loaded.error->message, reference.error->message);
  EXPECT_EQ(loaded.error->mark.line, reference.error->mark.line);
}

TEST(yaml_tree, an_alias_to_an_unknown_anchor_is_yaml_cpps_error) {
  const auto loaded = load_yaml("a: *nowhere\n");
  ASSERT_TRUE(loaded.error);
  EXPECT_NE(loaded.error->message.find("anchor"), std::string::npos) << loaded.error->message;
}

TEST(yaml_tree, a_token_after_the_top_level_node_is_an_error_instead_of_endless_documents) {
  const auto loaded = load_yaml("[a],\n");
  ASSERT_TRUE(loaded.error);
  EXPECT_EQ(loaded.error->message, "unexpected ',' after the document's top-level node");
}

TEST(yaml_tree, utf16_text_is_read_through_yaml_cpp) {
  const std::string text(
      "\xFF\xFE"
      "a\0:\0 \0b\0\n\0",
      12);
  const auto loaded = load_yaml(text);
  ASSERT_FALSE(loaded.error) << loaded.error->message;
  ASSERT_EQ(loaded.stream.documents().size(), 1u);
  EXPECT_EQ((*loaded.stream.documents().front())["a"].scalar(), "b");
}

TEST(yaml_tree, lookups_of_a_missing_key_or_index_or_the_wrong_shape_are_undefined) {
  const auto loaded = load_yaml("m: {k: v}\ns: [1]\n");
  const yaml_node& doc = *loaded.stream.documents().front();
  EXPECT_FALSE(doc["absent"]);
  EXPECT_FALSE(doc["s"][1]);
  EXPECT_FALSE(doc["m"][0]);
  EXPECT_FALSE(doc["s"]["k"]);
  EXPECT_TRUE(doc["s"][0]);
}

TEST(yaml_tree, json_becomes_a_tree_whose_strings_stay_strings) {
  yaml_stream s;
  const auto j = nlohmann::json::parse(R"({"n": 1, "s": "1", "b": true, "z": null, "l": [1.5]})");
  const yaml_node* root = json_to_yaml(j, s);
  ASSERT_NE(root, nullptr);
  EXPECT_EQ(yaml_to_json(*root), j);
}

TEST(yaml_tree, json_nested_past_the_depth_bound_is_refused) {
  nlohmann::json j = 1;
  for (std::size_t i = 0; i <= max_yaml_depth + 1; ++i) j = nlohmann::json::array({j});
  yaml_stream s;
  EXPECT_EQ(json_to_yaml(j, s), nullptr);
}

TEST(yaml_to_json, types_plain_scalars_and_keeps_quoted_ones_as_strings) {
  constexpr std::string_view text =
      "a: 1\nb: '1'\nc: true\nd: 'true'\ne: 1.5\nf: ~\ng: hello\nh: 0x1f\ni: [1, two]\nj: 1e3\n";
  for (bool fast : {true, false}) {
    SCOPED_TRACE(fast ? "libyaml" : "yaml-cpp");
    yaml_load_result loaded;
    if (fast) {
      ASSERT_TRUE(parse_with_libyaml(text, loaded.stream));
    } else {
      loaded = parse_with_yaml_cpp(text);
    }
    const auto j = yaml_to_json(*loaded.stream.documents().front());
    EXPECT_EQ(j["a"], 1);
    EXPECT_EQ(j["b"], "1");
    EXPECT_EQ(j["c"], true);
    EXPECT_EQ(j["d"], "true");
    EXPECT_EQ(j["e"], 1.5);
    EXPECT_TRUE(j["f"].is_null());
    EXPECT_EQ(j["g"], "hello");
    EXPECT_EQ(j["h"], 31);
    EXPECT_EQ(j["i"], nlohmann::json::parse(R"([1, "two"])"));
    EXPECT_EQ(j["j"], 1000.0);
  }
}

}  // namespace
}  // namespace kairos::spec
