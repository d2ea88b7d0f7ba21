#include "output.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace kairos::cli {
namespace {

using json = nlohmann::json;

TEST(output, yaml_round_trips_types_that_look_alike) {
  json v = {{"flag", "true"}, {"real", true},    {"count", 3},       {"text", "3"},
            {"empty", ""},    {"none", nullptr}, {"list", {1, "x"}}, {"nested", {{"k", "v"}}}};
  auto text = to_yaml(v);
  auto y = YAML::Load(text);
  EXPECT_EQ(y["flag"].Tag(), "!") << text;  // quoted: stays a string
  EXPECT_EQ(y["flag"].as<std::string>(), "true");
  EXPECT_TRUE(y["real"].as<bool>());
  EXPECT_EQ(y["count"].as<int>(), 3);
  EXPECT_EQ(y["text"].Tag(), "!");
  EXPECT_EQ(y["empty"].as<std::string>(), "");
  EXPECT_TRUE(y["none"].IsNull());
  EXPECT_EQ(y["list"][1].as<std::string>(), "x");
  EXPECT_EQ(y["nested"]["k"].as<std::string>(), "v");
}

TEST(output, multi_line_strings_are_literal_blocks) {
  auto text = to_yaml(json{{"script", "echo one\necho two\n"}});
  EXPECT_NE(text.find("script: |"), std::string::npos) << text;
  EXPECT_EQ(YAML::Load(text)["script"].as<std::string>(), "echo one\necho two\n");
}

TEST(output, empty_collections_are_flow_style) {
  EXPECT_EQ(to_yaml(json::object()), "{}\n");
  EXPECT_EQ(to_yaml(json::array()), "[]\n");
  EXPECT_EQ(to_yaml(json{{"spec", json::object()}, {"items", json::array()}}),
            "items: []\nspec: {}\n");
}

TEST(output, render_object_rejects_unknown_formats) {
  EXPECT_TRUE(render_object(json{{"a", 1}}, "json").ok());
  auto bad = render_object(json{{"a", 1}}, "xml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("xml"), std::string::npos);
}

}  // namespace
}  // namespace kairos::cli
