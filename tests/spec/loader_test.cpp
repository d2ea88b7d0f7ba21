// Document-level loading: apiVersion, kind, metadata, YAML typing and the
// error format every manifest error shares.
#include "kairos/spec/loader.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "kairos/core/text.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::spec {
namespace {

constexpr const char* minimal_template = R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: hello
spec:
  entrypoint: main
  templates:
    - name: main
      container:
        image: busybox
        command: [echo, hi]
)";

std::string first_error(const load_result& r) {
  return r.diagnostics.empty() ? std::string() : r.diagnostics.front().to_string();
}

TEST(loader, resource_without_namespace_lives_in_default) {
  auto r = load_text(minimal_template, "t.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 1u);
  EXPECT_EQ(r.resources[0].kind, kind::workflow_template);
  EXPECT_EQ(r.resources[0].metadata.namespace_, "default");
  EXPECT_EQ(r.resources[0].manifest["metadata"]["namespace"], "default");
  EXPECT_EQ(r.resources[0].manifest["spec"]["entrypoint"], "main");
}

TEST(loader, cluster_scoped_template_has_no_namespace) {
  std::string text = minimal_template;
  text.replace(text.find("kind: WorkflowTemplate"), 22, "kind: ClusterWorkflowTemplate");
  text.replace(text.find("  name: hello"), 13, "  name: hello\n  namespace: ops");
  auto r = load_text(text, "c.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  EXPECT_TRUE(r.resources[0].metadata.namespace_.empty());
  EXPECT_FALSE(r.resources[0].manifest["metadata"].contains("namespace"));
}

TEST(loader, wrong_api_version_is_reported_at_its_value) {
  std::string text = minimal_template;
  text.replace(text.find("argoproj.io/v1alpha1"), 20, "batch/v1");
  auto r = load_text(text, "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(first_error(r),
            "t.yaml:1:13: apiVersion: expected argoproj.io/v1alpha1, got 'batch/v1'");
  EXPECT_TRUE(r.resources.empty());
}

TEST(loader, unknown_kind_names_the_kinds_and_suggests_the_closest) {
  std::string text = minimal_template;
  text.replace(text.find("WorkflowTemplate"), 16, "WorkflowTemplat");
  auto r = load_text(text, "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(first_error(r).find("t.yaml:2:7: kind: unknown kind 'WorkflowTemplat'"),
            std::string::npos)
      << first_error(r);
  EXPECT_NE(first_error(r).find("did you mean WorkflowTemplate?"), std::string::npos);
}

TEST(loader, missing_name_and_invalid_name_are_errors) {
  auto missing = load_text(
      "apiVersion: argoproj.io/v1alpha1\nkind: Sensor\nmetadata:\n  labels: {a: b}\nspec: {}\n",
      "s.yaml");
  ASSERT_FALSE(missing.ok());
  bool found = false;
  for (const auto& d : missing.diagnostics)
    found = found || (d.path == "metadata.name" && d.message == "required field is missing");
  EXPECT_TRUE(found) << to_string(missing.diagnostics);

  std::string text = minimal_template;
  text.replace(text.find("name: hello"), 11, "name: Hello_World");
  auto invalid = load_text(text, "t.yaml");
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(first_error(invalid).find("t.yaml:4:9: metadata.name: invalid name 'Hello_World'"),
            std::string::npos)
      << first_error(invalid);
}

TEST(loader, unknown_top_level_field_gets_a_did_you_mean_hint) {
  std::string text = minimal_template;
  text.replace(text.find("metadata:"), 9, "metdata:");
  auto r = load_text(text, "t.yaml");
  ASSERT_FALSE(r.ok());
  const auto all = to_string(r.diagnostics);
  EXPECT_NE(all.find("t.yaml:3:1: metdata: unknown field 'metdata' (did you mean 'metadata'?)"),
            std::string::npos)
      << all;
}

TEST(loader, yaml_syntax_error_carries_line_and_column) {
  auto r = load_text("apiVersion: argoproj.io/v1alpha1\nkind: [Workflow\n", "bad.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics[0].file, "bad.yaml");
  EXPECT_GT(r.diagnostics[0].line, 0);
  EXPECT_NE(r.diagnostics[0].message.find("invalid YAML"), std::string::npos);
}

// yaml-cpp's LoadAll loops without end (and without bound on memory) on a
// token left over after a document's top-level node; these return at once.
TEST(loader, a_token_after_the_top_level_node_is_an_error_at_its_place_not_a_hang) {
  struct bad_case {
    const char* text;
    int line;
    int column;
  };
  const bad_case cases[] = {
      {",", 1, 1},
      {"[a],\n", 1, 4},
      {"\"a\",\n", 1, 4},
      {"- a\n,\n", 2, 1},
      {"{a: b},\n", 1, 7},
      {"&x\n,\n", 2, 1},
      {"apiVersion: v1\n---\n,\n", 3, 1},
      {"apiVersion: v1\n...\n,\n", 3, 1},
      {"--- [x], y\n", 1, 8},
      // yaml-cpp ends even a block mapping at a `%` in column 0.
      {"apiVersion: v1\n%FOO\n,\n", 3, 1},
      {"apiVersion: v1\n%\n[x],\n", 3, 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto r = load_text(c.text, "t.yaml");
    ASSERT_EQ(r.diagnostics.size(), 1u) << to_string(r.diagnostics);
    EXPECT_EQ(r.diagnostics[0].line, c.line);
    EXPECT_EQ(r.diagnostics[0].column, c.column);
    EXPECT_EQ(r.diagnostics[0].message,
              "invalid YAML: unexpected ',' after the document's top-level node");
  }
}

TEST(loader, documents_that_only_look_unusual_still_load) {
  // Each of these takes the slower, checked path (a first line that is not
  // a plain key at column 0) and must load as before.
  const std::string indented =
      "  apiVersion: argoproj.io/v1alpha1\n  kind: WorkflowTemplate\n"
      "  metadata: {name: hello}\n"
      "  spec: {entrypoint: main, templates: [{name: main, "
      "container: {image: busybox, command: [echo, hi]}}]}\n";
  const std::string flow =
      "{apiVersion: argoproj.io/v1alpha1, kind: WorkflowTemplate, "
      "metadata: {name: hello}, spec: {entrypoint: main, templates: "
      "[{name: main, container: {image: busybox, command: [echo, hi]}}]}}\n";
  const std::string directive = "%YAML 1.2\n---\n" + std::string(minimal_template);
  const std::string bom = "\xEF\xBB\xBF" + std::string(minimal_template);
  for (const auto& text : {indented, flow, directive, bom, "---\n" + flow + "...\n"}) {
    SCOPED_TRACE(text);
    auto r = load_text(text, "t.yaml");
    EXPECT_TRUE(r.ok()) << to_string(r.diagnostics);
    EXPECT_EQ(r.resources.size(), 1u);
  }
}

TEST(loader, text_that_is_not_utf8_is_an_error_at_the_first_bad_byte) {
  std::string text = minimal_template;
  text.replace(text.find("hi]"), 2, "h\xE9");  // Latin-1, as an old editor saves it
  auto r = load_text(text, "t.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u) << to_string(r.diagnostics);
  EXPECT_EQ(r.diagnostics[0].line, 11);
  EXPECT_EQ(r.diagnostics[0].column, 26);
  EXPECT_EQ(r.diagnostics[0].message, "not valid UTF-8 (byte 0xE9)");
  EXPECT_TRUE(r.resources.empty());
}

TEST(loader, a_bad_document_does_not_hide_the_good_ones_or_other_errors) {
  std::string text = std::string(minimal_template) + "---\n" +
                     "apiVersion: argoproj.io/v1alpha1\nkind: Nope\nmetadata: {name: x}\n---\n" +
                     minimal_template + "---\n";
  auto r = load_text(text, "multi.yaml");
  EXPECT_EQ(r.resources.size(), 2u);
  ASSERT_EQ(r.diagnostics.size(), 1u) << to_string(r.diagnostics);
  EXPECT_EQ(r.diagnostics[0].line, 14);
}

TEST(loader, duplicate_keys_are_errors) {
  std::string text = minimal_template;
  text.replace(text.find("  name: hello"), 13, "  name: hello\n  name: again");
  auto r = load_text(text, "t.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(to_string(r.diagnostics).find("metadata.name: duplicate key"), std::string::npos);
}

TEST(loader, json_documents_load_like_yaml) {
  auto doc = nlohmann::json::parse(R"({
    "apiVersion": "argoproj.io/v1alpha1", "kind": "WorkflowTemplate",
    "metadata": {"name": "from-json", "namespace": "ci"},
    "spec": {"entrypoint": "main",
             "templates": [{"name": "main", "container": {"image": "x", "command": ["true"]}}]}})");
  auto r = load_json(doc, "request");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  EXPECT_EQ(r.resources[0].metadata.name, "from-json");
  EXPECT_EQ(r.resources[0].metadata.namespace_, "ci");
}

TEST(loader, json_documents_keep_string_number_and_bool_types) {
  auto doc = nlohmann::json::parse(R"({
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"name": "types"},
    "spec": {"entrypoint": "main", "parallelism": 3,
             "arguments": {"parameters": [{"name": "a", "value": "007"},
                                          {"name": "b", "value": "true"}]},
             "templates": [{"name": "main", "container": {"image": "x", "command": ["true"]}}]}})");
  auto r = load_json(doc, "request");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  const auto& m = r.resources[0].manifest;
  EXPECT_EQ(m["spec"]["arguments"]["parameters"][0]["value"], "007");
  EXPECT_EQ(m["spec"]["arguments"]["parameters"][1]["value"], "true");
  EXPECT_EQ(m["spec"]["parallelism"], 3);
}

TEST(loader, invalid_json_documents_report_the_line_of_the_printed_document) {
  auto doc = nlohmann::json::parse(R"({
    "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
    "metadata": {"name": "bad"},
    "spec": {"entrypoint": "main", "parallelism": "many",
             "templates": [{"name": "main", "container": {"image": "x", "command": ["true"]}}]}})");
  auto r = load_json(doc, "request");
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_GT(r.diagnostics[0].line, 1) << to_string(r.diagnostics);
  EXPECT_NE(to_string(r.diagnostics).find("spec.parallelism"), std::string::npos)
      << to_string(r.diagnostics);
}

TEST(loader, directory_loads_yaml_and_json_files_in_order_and_skips_others) {
  const auto dir = std::filesystem::temp_directory_path() / ("kairos-loader-" + random_suffix(8));
  std::filesystem::create_directories(dir / "sub");
  std::ofstream(dir / "b.yaml") << minimal_template;
  std::string second = minimal_template;
  second.replace(second.find("name: hello"), 11, "name: second");
  std::ofstream(dir / "sub" / "a.yml") << second;
  std::ofstream(dir / "notes.txt") << "not a manifest";
  auto r = load_directory(dir);
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_EQ(r.resources[0].metadata.name, "hello");
  EXPECT_EQ(r.resources[1].metadata.name, "second");
}

TEST(secret_resolver, reads_the_file_under_secrets_and_refuses_traversal) {
  const auto dir = std::filesystem::temp_directory_path() / ("kairos-secrets-" + random_suffix(8));
  std::filesystem::create_directories(dir / "secrets" / "github");
  std::ofstream(dir / "secrets" / "github" / "token") << "s3cr3t";
  secret_resolver resolver(dir);

  auto ok = resolver.resolve({"github", "token"});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->reveal(), "s3cr3t");
  EXPECT_EQ(fmt::format("{}", *ok), "<redacted>");

  auto missing = resolver.resolve({"github", "nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, errc::not_found);
  EXPECT_EQ(missing.error().message.find("s3cr3t"), std::string::npos);

  EXPECT_TRUE(resolver.resolve({"github", "nope", true}).ok());
  EXPECT_EQ(resolver.resolve({"..", "token"}).error().code, errc::invalid_argument);
  EXPECT_EQ(resolver.resolve({"github", "../../etc"}).error().code, errc::invalid_argument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kairos::spec

namespace kairos::spec {
namespace {

TEST(loader, alias_bombs_and_deep_nesting_are_rejected_not_expanded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'h'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", *" : "*") + prev;
    bomb += "]\n";
    prev = c;
  }
  auto r = load_text(bomb, "bomb.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.diagnostics[0].message.find("expands to more than"), std::string::npos);

  auto deep = load_text(std::string(300, '[') + std::string(300, ']'), "deep.yaml");
  ASSERT_FALSE(deep.ok());
}

}  // namespace
}  // namespace kairos::spec
