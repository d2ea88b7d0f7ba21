#include "parameters.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "listen_address.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

TEST(parameters, splits_at_the_first_equals_sign) {
  auto p = parse_parameter("message=a=b");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first, "message");
  EXPECT_EQ(p->second, "a=b");
}

TEST(parameters, double_equals_gives_a_value_starting_with_equals) {
  auto p = parse_parameter("k==v");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->first, "k");
  EXPECT_EQ(p->second, "=v");
}

TEST(parameters, empty_value_is_allowed) {
  auto p = parse_parameter("k=");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->second, "");
}

TEST(parameters, missing_equals_or_empty_name_is_an_error) {
  auto no_eq = parse_parameter("novalue");
  ASSERT_FALSE(no_eq.ok());
  EXPECT_EQ(no_eq.error().code, errc::invalid_argument);
  EXPECT_NE(no_eq.error().message.find("name=value"), std::string::npos);
  auto no_name = parse_parameter("=v");
  ASSERT_FALSE(no_name.ok());
  EXPECT_NE(no_name.error().message.find("empty name"), std::string::npos);
}

TEST(parameters, file_scalars_keep_text_and_structures_become_json) {
  auto params = parse_parameter_text("a: 1\nb: [1, two]\nc: hello world\nd: \"007\"\n", "p.yaml");
  ASSERT_TRUE(params.ok()) << params.error().message;
  ASSERT_EQ(params->size(), 4u);
  EXPECT_EQ((*params)[0], (std::pair<std::string, std::string>{"a", "1"}));
  EXPECT_EQ((*params)[1].second, R"([1,"two"])");
  EXPECT_EQ((*params)[2].second, "hello world");
  EXPECT_EQ((*params)[3].second, "007");
}

TEST(parameters, json_file_is_accepted) {
  auto params = parse_parameter_text(R"({"x": "y", "n": 2})", "p.json");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->size(), 2u);
}

TEST(parameters, file_that_is_not_a_map_is_rejected_with_its_name) {
  auto params = parse_parameter_text("- a\n- b\n", "list.yaml");
  ASSERT_FALSE(params.ok());
  EXPECT_NE(params.error().message.find("list.yaml"), std::string::npos);
  auto broken = parse_parameter_text("a: [1,\n", "broken.yaml");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("broken.yaml:"), std::string::npos);
}

TEST(parameters, flags_override_the_parameter_file) {
  auto dir =
      std::filesystem::temp_directory_path() / ("kairos-params-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto file = dir / "params.yaml";
  std::ofstream(file) << "a: from-file\nb: kept\n";
  auto params = collect_parameters({"a=from-flag", "c=new"}, file);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(params.ok()) << params.error().message;
  parameter_list expected{{"a", "from-flag"}, {"b", "kept"}, {"c", "new"}};
  EXPECT_EQ(*params, expected);
}

TEST(parameters, unreadable_parameter_file_is_an_error) {
  auto params = collect_parameters({}, std::filesystem::path("/nonexistent/params.yaml"));
  ASSERT_FALSE(params.ok());
  EXPECT_NE(params.error().message.find("/nonexistent/params.yaml"), std::string::npos);
}

TEST(parameters, apply_replaces_declared_values_and_appends_new_ones) {
  json wf = {{"spec", {{"arguments", {{"parameters", {{{"name", "a"}, {"value", "old"}}}}}}}}};
  apply_parameters(wf, {{"a", "new"}, {"b", "added"}});
  auto& list = wf["spec"]["arguments"]["parameters"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["value"], "new");
  EXPECT_EQ(list[1], (json{{"name", "b"}, {"value", "added"}}));
}

TEST(parameters, apply_creates_arguments_when_missing) {
  json wf = {{"metadata", {{"name", "w"}}}};
  apply_parameters(wf, {{"a", "1"}});
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "1");
}

TEST(listen_address, parses_host_and_port_including_zero_and_ipv6) {
  auto a = parse_listen_address("127.0.0.1:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  auto b = parse_listen_address("[::1]:2746");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 2746);
}

TEST(listen_address, rejects_missing_or_out_of_range_ports) {
  EXPECT_FALSE(parse_listen_address("localhost").ok());
  EXPECT_FALSE(parse_listen_address("localhost:").ok());
  EXPECT_FALSE(parse_listen_address("localhost:65536").ok());
  EXPECT_FALSE(parse_listen_address("localhost:12ab").ok());
  EXPECT_FALSE(parse_listen_address(":80").ok());
}

}  // namespace
}  // namespace kairos::cli
