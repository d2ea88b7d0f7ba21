// Dependency filters with Argo Events' semantics.
#include "kairos/sensors/filter.hpp"

#include <gtest/gtest.h>

#include "support.hpp"

namespace kairos::sensors {
namespace {

using nlohmann::json;
using testing::make_event;

const json& payload() {
  static const json data = json::parse(R"({
    "header": {"X-Github-Event": ["push"]},
    "body": {"ref": "refs/heads/release-1.2", "count": 5, "draft": false, "size": "12",
             "commits": [{"id": "a"}, {"id": "b"}]}
  })");
  return data;
}

spec::data_filter data(std::string path, spec::json_type type, std::vector<std::string> values,
                       spec::comparator c = spec::comparator::equal) {
  spec::data_filter f;
  f.path = std::move(path);
  f.type = type;
  f.value = std::move(values);
  f.comparator_ = c;
  return f;
}

bool passes(const std::vector<spec::data_filter>& filters,
            spec::logical_operator op = spec::logical_operator::and_) {
  auto r = filter_data(filters, op, make_event("e1", payload()));
  return r.ok() && *r;
}

TEST(data_filter, string_values_are_unanchored_regular_expressions) {
  EXPECT_TRUE(passes({data("body.ref", spec::json_type::string, {"release-.*"})}));
  EXPECT_TRUE(passes({data("body.ref", spec::json_type::string, {"^refs/heads/main$", "heads"})}));
  EXPECT_FALSE(passes({data("body.ref", spec::json_type::string, {"^main$"})}));
  // A list value is matched through its compact JSON form.
  EXPECT_TRUE(passes({data("header.X-Github-Event", spec::json_type::string, {"push"})}));
}

TEST(data_filter, string_not_equal_passes_when_a_value_does_not_match) {
  EXPECT_TRUE(passes({data("body.ref", spec::json_type::string, {"^refs/heads/main$"},
                           spec::comparator::not_equal)}));
  EXPECT_FALSE(passes(
      {data("body.ref", spec::json_type::string, {"release"}, spec::comparator::not_equal)}));
}

TEST(data_filter, number_comparators_compare_as_floats) {
  using C = spec::comparator;
  const auto n = spec::json_type::number;
  EXPECT_TRUE(passes({data("body.count", n, {"5"}, C::equal)}));
  EXPECT_TRUE(passes({data("body.count", n, {"5.0"}, C::equal)}));
  EXPECT_TRUE(passes({data("body.count", n, {"4"}, C::not_equal)}));
  EXPECT_TRUE(passes({data("body.count", n, {"4"}, C::greater)}));
  EXPECT_FALSE(passes({data("body.count", n, {"5"}, C::greater)}));
  EXPECT_TRUE(passes({data("body.count", n, {"5"}, C::greater_or_equal)}));
  EXPECT_TRUE(passes({data("body.count", n, {"6"}, C::less)}));
  EXPECT_FALSE(passes({data("body.count", n, {"5"}, C::less)}));
  EXPECT_TRUE(passes({data("body.count", n, {"5"}, C::less_or_equal)}));
  // A numeric string in the event compares as a number too.
  EXPECT_TRUE(passes({data("body.size", n, {"10"}, C::greater)}));
  // Any one value of the list suffices.
  EXPECT_TRUE(passes({data("body.count", n, {"1", "2", "5"})}));
}

TEST(data_filter, bool_values_compare_with_strconv_spellings) {
  EXPECT_TRUE(passes({data("body.draft", spec::json_type::boolean, {"false"})}));
  EXPECT_TRUE(passes({data("body.draft", spec::json_type::boolean, {"F"})}));
  EXPECT_FALSE(passes({data("body.draft", spec::json_type::boolean, {"true"})}));
  auto bad = filter_data({data("body.draft", spec::json_type::boolean, {"nope"})},
                         spec::logical_operator::and_, make_event("e", payload()));
  EXPECT_FALSE(bad.ok());
}

TEST(data_filter, template_transforms_value_before_comparing) {
  auto f = data("body.ref", spec::json_type::string, {"^release-1\\.2$"});
  f.template_ = R"({{ .Input | trimPrefix "refs/heads/" }})";
  EXPECT_TRUE(passes({f}));
  auto n = data("body.count", spec::json_type::number, {"10"});
  n.template_ = "{{ .Input }}0";  // "50"
  n.comparator_ = spec::comparator::greater;
  EXPECT_TRUE(passes({n}));
}

TEST(data_filter, missing_path_fails_under_and_but_not_under_or) {
  auto missing = data("body.nope", spec::json_type::string, {".*"});
  auto ok = data("body.ref", spec::json_type::string, {"release"});
  auto r = filter_data({missing, ok}, spec::logical_operator::and_, make_event("e", payload()));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not exist"), std::string::npos);
  EXPECT_TRUE(passes({missing, ok}, spec::logical_operator::or_));
}

TEST(data_filter, data_logical_operator_or_needs_one_match) {
  auto a = data("body.ref", spec::json_type::string, {"^main$"});
  auto b = data("body.count", spec::json_type::number, {"5"});
  EXPECT_FALSE(passes({a, b}));
  EXPECT_TRUE(passes({a, b}, spec::logical_operator::or_));
  auto c = data("body.count", spec::json_type::number, {"6"});
  EXPECT_FALSE(passes({a, c}, spec::logical_operator::or_));
}

TEST(data_filter, invalid_regex_is_an_error_not_a_crash) {
  auto r = filter_data({data("body.ref", spec::json_type::string, {"(unclosed"})},
                       spec::logical_operator::and_, make_event("e", payload()));
  EXPECT_FALSE(r.ok());
}

spec::expr_filter expr(std::string e, std::vector<std::pair<std::string, std::string>> fields) {
  spec::expr_filter f;
  f.expr = std::move(e);
  for (auto& [path, name] : fields) f.fields.push_back({path, name});
  return f;
}

TEST(expr_filter, evaluates_govaluate_over_named_fields) {
  const auto e = make_event("e", payload());
  auto r = filter_exprs(
      {expr("count > 3 && ref =~ 'release'", {{"body.count", "count"}, {"body.ref", "ref"}})},
      spec::logical_operator::and_, e);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(*r);
  auto no = filter_exprs({expr("count > 30", {{"body.count", "count"}})},
                         spec::logical_operator::and_, e);
  ASSERT_TRUE(no.ok());
  EXPECT_FALSE(*no);
}

TEST(expr_filter, expr_logical_operator_combines_expressions) {
  const auto e = make_event("e", payload());
  const auto yes = expr("count == 5", {{"body.count", "count"}});
  const auto no = expr("count == 6", {{"body.count", "count"}});
  EXPECT_FALSE(*filter_exprs({yes, no}, spec::logical_operator::and_, e));
  EXPECT_TRUE(*filter_exprs({yes, no}, spec::logical_operator::or_, e));
  // A field path that does not exist fails the filter.
  EXPECT_FALSE(
      filter_exprs({expr("x == 1", {{"body.nope", "x"}})}, spec::logical_operator::and_, e).ok());
}

TEST(context_filter, compares_type_subject_source_and_content_type_exactly) {
  const auto e = make_event("e", payload());
  spec::event_context_filter f;
  EXPECT_TRUE(filter_context(f, e));
  f.source = "ci";
  f.type = "webhook";
  EXPECT_TRUE(filter_context(f, e));
  f.subject = "pus";
  EXPECT_FALSE(filter_context(f, e));
  f.subject = "push";
  f.datacontenttype = "text/plain";
  EXPECT_FALSE(filter_context(f, e));
}

spec::time_filter window(int start_h, int stop_h, std::string tz = "") {
  spec::time_filter t;
  t.start_of_day = std::chrono::hours(start_h);
  t.stop_of_day = std::chrono::hours(stop_h);
  t.timezone = std::move(tz);
  return t;
}

bool in_window(const spec::time_filter& w, const std::string& time) {
  kairos::manual_clock clock;
  auto r = filter_time(w, make_event("e", payload(), "ci", "push", time), clock);
  EXPECT_TRUE(r.ok());
  return r.ok() && *r;
}

TEST(time_filter, start_inclusive_stop_exclusive) {
  EXPECT_TRUE(in_window(window(9, 17), "2024-05-01T09:00:00Z"));
  EXPECT_TRUE(in_window(window(9, 17), "2024-05-01T16:59:59Z"));
  EXPECT_FALSE(in_window(window(9, 17), "2024-05-01T17:00:00Z"));
  EXPECT_FALSE(in_window(window(9, 17), "2024-05-01T08:59:59Z"));
}

TEST(time_filter, window_wraps_past_midnight) {
  EXPECT_TRUE(in_window(window(22, 6), "2024-05-01T23:30:00Z"));
  EXPECT_TRUE(in_window(window(22, 6), "2024-05-01T05:00:00Z"));
  EXPECT_FALSE(in_window(window(22, 6), "2024-05-01T12:00:00Z"));
}

TEST(time_filter, uses_the_timezone_wall_clock) {
  // 10:00 UTC is 12:00 in Berlin (CEST) in May.
  EXPECT_TRUE(in_window(window(11, 13, "Europe/Berlin"), "2024-05-01T10:00:00Z"));
  EXPECT_FALSE(in_window(window(9, 11, "Europe/Berlin"), "2024-05-01T10:00:00Z"));
}

TEST(time_filter, event_without_time_uses_the_clock) {
  kairos::manual_clock clock(std::chrono::sys_days(std::chrono::year(2024) / 5 / 1) +
                             std::chrono::hours(3));
  auto e = make_event("e", payload());
  e.mutable_context().erase("time");
  EXPECT_TRUE(*filter_time(window(2, 4), e, clock));
  EXPECT_FALSE(*filter_time(window(5, 6), e, clock));
}

TEST(filters, logical_operator_or_passes_when_any_filter_type_passes) {
  spec::event_dependency d = testing::dependency("push", "ci", "push");
  d.filters.emplace();
  d.filters->data.push_back(data("body.ref", spec::json_type::string, {"^main$"}));
  d.filters->context.emplace();
  d.filters->context->type = "webhook";
  kairos::manual_clock clock;
  const auto e = make_event("e", payload());
  const auto and_outcome = apply_filters(d, e, clock);
  EXPECT_FALSE(and_outcome.pass);
  EXPECT_NE(and_outcome.reason.find("data"), std::string::npos);
  d.filters_logical_operator = spec::logical_operator::or_;
  EXPECT_TRUE(apply_filters(d, e, clock).pass);
}

TEST(filters, dependency_without_filters_passes_everything) {
  kairos::manual_clock clock;
  EXPECT_TRUE(
      apply_filters(testing::dependency("d", "ci", "push"), make_event("e", payload()), clock)
          .pass);
}

}  // namespace
}  // namespace kairos::sensors
