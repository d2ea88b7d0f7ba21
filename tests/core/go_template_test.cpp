#include "kairos/core/go_template.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;
using testing::HasSubstr;
namespace gt = kairos::go_template;

const json& input() {
  static const json data = json::parse(R"({
    "Input": {
      "body": {
        "ref": "refs/heads/main",
        "after": "0123456789abcdef",
        "count": 3,
        "ratio": 0.5,
        "big": 1000000,
        "draft": false,
        "labels": ["ci", "fast"],
        "commits": [{"id": "a1", "msg": "one"}, {"id": "b2", "msg": "two"}],
        "repo": {"name": "kairos", "owner": "acme"},
        "nothing": null
      },
      "header": {"X-Github-Event": ["push"]}
    }
  })");
  return data;
}

std::string render_ok(std::string_view src, const json& data = input()) {
  auto r = gt::render(src, data);
  EXPECT_TRUE(r.ok()) << src << ": " << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::string("<error>");
}

std::string render_error(std::string_view src, const json& data = input()) {
  auto r = gt::render(src, data);
  EXPECT_FALSE(r.ok()) << src << " rendered " << (r.ok() ? *r : "");
  return r.ok() ? std::string() : r.error().message;
}

TEST(go_template, plain_text_passes_through) {
  EXPECT_EQ(render_ok("no actions here"), "no actions here");
  EXPECT_EQ(render_ok(""), "");
}

TEST(go_template, fields_reach_nested_values) {
  EXPECT_EQ(render_ok("{{ .Input.body.ref }}"), "refs/heads/main");
  EXPECT_EQ(render_ok("{{.Input.body.repo.owner}}/{{.Input.body.repo.name}}"), "acme/kairos");
}

TEST(go_template, values_print_as_go_does) {
  EXPECT_EQ(render_ok("{{ .Input.body.count }}"), "3");
  EXPECT_EQ(render_ok("{{ .Input.body.ratio }}"), "0.5");
  EXPECT_EQ(render_ok("{{ .Input.body.big }}"), "1000000");
  EXPECT_EQ(render_ok("{{ .Input.body.draft }}"), "false");
  EXPECT_EQ(render_ok("{{ .Input.body.labels }}"), "[ci fast]");
  EXPECT_EQ(render_ok("{{ .Input.body.repo }}"), "map[name:kairos owner:acme]");
}

TEST(go_template, missing_key_prints_no_value_and_missing_parent_is_an_error) {
  EXPECT_EQ(render_ok("{{ .Input.body.absent }}"), "<no value>");
  EXPECT_EQ(render_ok("{{ .Input.body.nothing }}"), "<no value>");
  EXPECT_THAT(render_error("{{ .Input.absent.deeper }}"), HasSubstr("nil pointer"));
  EXPECT_THAT(render_error("{{ .Input.body.ref.x }}"), HasSubstr("can't evaluate field x"));
}

TEST(go_template, trim_markers_remove_surrounding_whitespace) {
  EXPECT_EQ(render_ok("a  \n {{- .Input.body.count -}} \n  b"), "a3b");
  EXPECT_EQ(render_ok("a {{- /* a comment */ -}} b"), "ab");
  EXPECT_EQ(render_ok("x{{/* comment */}}y"), "xy");
  // `{{-3}}` is the number -3, not a trim marker.
  EXPECT_EQ(render_ok("{{-3}}"), "-3");
}

TEST(go_template, pipelines_pass_value_as_last_argument) {
  EXPECT_EQ(render_ok(R"({{ .Input.body.ref | printf "%s!" }})"), "refs/heads/main!");
  EXPECT_EQ(render_ok(R"({{ "abc" | printf "%s-%s" "x" }})"), "x-abc");
}

TEST(go_template, sprig_string_functions_are_available) {
  EXPECT_EQ(render_ok("{{ .Input.body.repo.name | upper }}"), "KAIROS");
  EXPECT_EQ(render_ok(R"({{ .Input.body.ref | replace "refs/heads/" "" }})"), "main");
  EXPECT_EQ(render_ok(R"({{ trimPrefix "refs/heads/" .Input.body.ref }})"), "main");
  EXPECT_EQ(render_ok(R"({{ .Input.body.after | trunc 7 }})"), "0123456");
  EXPECT_EQ(render_ok(R"({{ .Input.body.absent | default "none" }})"), "none");
  EXPECT_EQ(render_ok(R"({{ .Input.body.labels | join "," }})"), "ci,fast");
}

TEST(go_template, sprig_encoding_functions_are_available) {
  EXPECT_EQ(render_ok(R"({{ "hello" | b64enc }})"), "aGVsbG8=");
  EXPECT_EQ(render_ok(R"({{ "aGVsbG8=" | b64dec }})"), "hello");
  EXPECT_EQ(render_ok("{{ .Input.body.repo | toJson }}"), R"({"name":"kairos","owner":"acme"})");
  EXPECT_EQ(render_ok(R"({{ "abc" | sha256sum }})"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(go_template, if_else_if_else_chooses_branch) {
  const std::string t =
      "{{ if eq .Input.body.count 1 }}one{{ else if gt .Input.body.count 2 }}many{{ else "
      "}}two{{ end }}";
  EXPECT_EQ(render_ok(t), "many");
  EXPECT_EQ(render_ok("{{ if .Input.body.draft }}draft{{ else }}ready{{ end }}"), "ready");
  EXPECT_EQ(render_ok("{{ if .Input.body.absent }}x{{ end }}"), "");
  EXPECT_EQ(render_ok("{{ if and .Input.body.count (not .Input.body.draft) }}go{{ end }}"), "go");
  EXPECT_EQ(render_ok("{{ if or .Input.body.draft .Input.body.labels }}yes{{ end }}"), "yes");
}

TEST(go_template, comparisons_cover_all_functions) {
  EXPECT_EQ(render_ok(R"({{ eq .Input.body.ref "x" "refs/heads/main" }})"), "true");
  EXPECT_EQ(render_ok(R"({{ ne .Input.body.ref "x" }})"), "true");
  EXPECT_EQ(render_ok("{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1 2 }} {{ ge 1.5 1 }}"),
            "true true false true");
  EXPECT_THAT(render_error(R"({{ lt "a" 1 }})"), HasSubstr("incompatible types"));
}

TEST(go_template, range_iterates_arrays_and_maps_with_variables) {
  EXPECT_EQ(render_ok("{{ range .Input.body.commits }}{{ .id }};{{ end }}"), "a1;b2;");
  EXPECT_EQ(render_ok("{{ range $i, $c := .Input.body.commits }}{{ $i }}={{ $c.msg }} {{ end }}"),
            "0=one 1=two ");
  EXPECT_EQ(render_ok("{{ range $k, $v := .Input.body.repo }}{{ $k }}:{{ $v }},{{ end }}"),
            "name:kairos,owner:acme,");
  EXPECT_EQ(render_ok("{{ range .Input.body.absent }}x{{ else }}empty{{ end }}"), "empty");
}

TEST(go_template, variables_and_with_rebind_dot) {
  EXPECT_EQ(render_ok("{{ $r := .Input.body.repo }}{{ $r.name }}"), "kairos");
  EXPECT_EQ(render_ok("{{ with .Input.body.repo }}{{ .owner }}{{ end }}"), "acme");
  EXPECT_EQ(render_ok("{{ with .Input.body.absent }}x{{ else }}none{{ end }}"), "none");
  EXPECT_EQ(render_ok("{{ range .Input.body.labels }}{{ $.Input.body.count }}{{ end }}"), "33");
  EXPECT_EQ(render_ok("{{ $x := 1 }}{{ $x = 2 }}{{ $x }}"), "2");
}

TEST(go_template, builtins_len_index_print_and_escapes) {
  EXPECT_EQ(render_ok("{{ len .Input.body.labels }} {{ len .Input.body.ref }}"), "2 15");
  EXPECT_EQ(render_ok("{{ index .Input.body.labels 1 }}"), "fast");
  EXPECT_EQ(render_ok(R"({{ index .Input.header "X-Github-Event" 0 }})"), "push");
  EXPECT_EQ(render_ok(R"({{ print "a" 1 2 "b" }})"), "a1 2b");
  EXPECT_EQ(render_ok(R"({{ printf "%05d|%-4s|%.2f|%q|%v" 42 "ab" 3.14159 "x" true }})"),
            R"(00042|ab  |3.14|"x"|true)");
  EXPECT_EQ(render_ok(R"({{ html "<a&b>" }} {{ urlquery "a b&c" }})"), "&lt;a&amp;b&gt; a+b%26c");
  EXPECT_THAT(render_error("{{ index .Input.body.labels 5 }}"), HasSubstr("out of range"));
}

TEST(go_template, parenthesised_pipelines_and_fields_of_results) {
  EXPECT_EQ(render_ok(R"({{ printf "%s-%s" (.Input.body.repo.name | upper) "x" }})"), "KAIROS-x");
  EXPECT_EQ(render_ok("{{ (index .Input.body.commits 1).msg }}"), "two");
}

TEST(go_template, parse_errors_name_line_and_column) {
  EXPECT_THAT(render_error("abc {{ .x "), HasSubstr("1:"));
  EXPECT_THAT(render_error("abc\n  {{ nosuchfunc .x }}"), HasSubstr("2:6"));
  EXPECT_THAT(render_error("abc\n  {{ nosuchfunc .x }}"), HasSubstr("not defined"));
  EXPECT_THAT(render_error("{{ if .x }}no end"), HasSubstr("end"));
  EXPECT_THAT(render_error("{{ end }}"), HasSubstr("unexpected"));
  EXPECT_THAT(render_error(R"({{ "unterminated }})"), HasSubstr("unterminated"));
  EXPECT_THAT(render_error("{{ 1 2 }}"), HasSubstr("non-function"));
  EXPECT_THAT(render_error("{{ $nope }}"), HasSubstr("undefined variable"));
  EXPECT_THAT(render_error("{{ define \"x\" }}{{ end }}"), HasSubstr("not supported"));
}

TEST(go_template, execution_is_bounded) {
  // 2^20 iterations of nested ranges exceed the step budget instead of
  // running for long.
  json data;
  data["a"] = json::array();
  for (int i = 0; i < 128; ++i) data["a"].push_back(i);
  const std::string nested =
      "{{ range .a }}{{ range $.a }}{{ range $.a }}{{ range $.a }}x{{ end }}{{ end }}{{ end "
      "}}{{ end }}";
  EXPECT_THAT(render_error(nested, data), HasSubstr("budget"));
  // Output is capped.
  json big;
  big["s"] = std::string(1 << 16, 'y');
  big["a"] = json::array();
  for (int i = 0; i < 64; ++i) big["a"].push_back(i);
  EXPECT_THAT(render_error("{{ range .a }}{{ $.s }}{{ end }}", big), HasSubstr("exceeds"));
  // Deep nesting is refused, not recursed into.
  std::string deep;
  for (int i = 0; i < 500; ++i) deep += "{{ if 1 }}";
  EXPECT_THAT(render_error(deep), HasSubstr("deeply"));
  std::string parens = "{{ ";
  for (int i = 0; i < 500; ++i) parens += "(";
  EXPECT_FALSE(gt::render(parens, json::object()).ok());
}

}  // namespace
