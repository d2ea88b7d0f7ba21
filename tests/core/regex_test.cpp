#include "kairos/core/regex.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kairos::regex {
namespace {

using strings = std::vector<std::string>;

std::string replaced(std::string_view pattern, std::string_view subject, std::string_view repl) {
  auto r = replace_all(pattern, subject, repl);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : std::string();
}

strings found(std::string_view pattern, std::string_view subject, std::int64_t limit = -1) {
  auto r = find_all(pattern, subject, limit);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : strings();
}

TEST(regex, search_is_unanchored_and_dollar_means_only_the_end_of_the_text) {
  EXPECT_TRUE(*search("b+", "abbc"));
  EXPECT_FALSE(*search("^b", "abbc"));
  // Perl and Boost let `$` match before a final newline; Go does not.
  EXPECT_FALSE(*search("a$", "a\n"));
  EXPECT_TRUE(*search("(?m)a$", "a\n"));
  EXPECT_TRUE(*search(R"(\d+\s\w)", "12 x"));
}

TEST(regex, go_syntax_is_accepted_and_what_go_rejects_is_an_error_naming_the_pattern) {
  EXPECT_TRUE(*search("(?P<year>[0-9]{4})", "in 2026"));
  EXPECT_TRUE(*search("(?i)RELEASE", "release-1.2"));
  // A large program: a Unicode class repeated 200 times fits RE2's budget.
  EXPECT_TRUE(*search(R"(^[\p{L}\d_-]{1,200}$)", "caf\xc3\xa9_42"));
  auto backref = search(R"((a)\1)", "aa");
  ASSERT_FALSE(backref.ok());
  EXPECT_NE(backref.error().message.find(R"((a)\1)"), std::string::npos) << backref.error().message;
  EXPECT_FALSE(search("(?=a)", "a").ok());  // no lookahead in Go
  EXPECT_FALSE(search("(", "x").ok());
  EXPECT_FALSE(search("a{1001}", "a").ok());  // Go's repeat limit
  EXPECT_FALSE(search("caf\xe9", "x").ok());  // a pattern must be UTF-8
}

TEST(regex, go_1_22_angle_bracket_named_groups_work_where_they_are_syntax) {
  EXPECT_EQ(replaced(R"((?<y>\d{4})-(?<m>\d\d))", "on 2026-12", "$m/$y"), "on 12/2026");
  EXPECT_TRUE(*search(R"(^(?<ref>refs/heads/.+)$)", "refs/heads/main"));
  // Inside a class, escaped or quoted, `(?<` is literal text and stays so.
  EXPECT_TRUE(*search(R"([(?<]x)", "<x"));
  EXPECT_TRUE(*search(R"([]?(<]+a)", "(?<a"));
  EXPECT_TRUE(*search(R"([[:alpha:]](?<n>\d))", "a1"));
  EXPECT_TRUE(*search(R"(\(?<)", "<"));
  EXPECT_TRUE(*search(R"(\Q(?<x>\E)", "(?<x>"));
  EXPECT_FALSE(*search(R"(\Q(?<x>\E)", "x"));
  // Lookbehind is still refused, as Go refuses it.
  EXPECT_FALSE(search("(?<=a)b", "ab").ok());
  EXPECT_FALSE(search("(?<!a)b", "cb").ok());
}

TEST(regex, patterns_that_backtrack_exponentially_elsewhere_finish_with_the_right_answer) {
  const std::string subject = std::string(100000, 'a') + "b";
  EXPECT_FALSE(*search("^(a+)+$", subject));
  EXPECT_FALSE(*search("(a|aa)*c", subject));
  EXPECT_TRUE(*search("(a|b)*$", subject));
  EXPECT_EQ(found("(a*)*b", subject, 1), strings{subject});
}

TEST(regex, replace_expands_numbered_and_named_groups_as_go_does) {
  EXPECT_EQ(replaced("a(x*)b", "-ab-axxb-", "${1}W"), "-W-xxW-");
  // `$1W` names the group "1W", which does not exist: Go inserts nothing.
  EXPECT_EQ(replaced("a(x*)b", "-ab-axxb-", "$1W"), "---");
  EXPECT_EQ(replaced(R"((?P<y>\d{4})-(?P<m>\d\d))", "on 2026-12", "$m/$y"), "on 12/2026");
  // A name runs over letters and digits of any script, as in Go: `$1é` is
  // the group "1é", which does not exist, not group 1 then "é".
  EXPECT_EQ(replaced("a(x*)b", "-axxb-", "$1\xc3\xa9"), "--");
  EXPECT_EQ(replaced("a(x*)b", "-axxb-",
                     "${gr\xc3\xb6\xc3\x9f"
                     "e}!"),
            "-!-");
  EXPECT_EQ(replaced("a(x*)b", "-axxb-", "$1\xe2\x82\xac"), "-xx\xe2\x82\xac-");  // € ends it
  EXPECT_EQ(replaced("(b)", "abc", "$$1"), "a$1c");
  EXPECT_EQ(replaced("(b)", "abc", "${1"), "a${1c");      // malformed: kept as text
  EXPECT_EQ(replaced("(b)|(z)", "abc", "[$2]"), "a[]c");  // group not taken part
  EXPECT_EQ(replaced("(b)", "abc", "$01"), "ac");         // a leading zero is a name
}

TEST(regex, literal_replacement_keeps_dollars) {
  auto r = replace_all_literal("a(x*)b", "-axb-", "$1${1}$$");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "-$1${1}$$-");
}

TEST(regex, empty_matches_follow_go_and_never_split_a_character) {
  EXPECT_EQ(replaced("a*", "baaac", "x"), "xbxcx");
  EXPECT_EQ(found("a*", "baaac"), (strings{"", "aaa", ""}));
  EXPECT_EQ(replaced("", "\xc3\xa9t\xc3\xa9", "-"), "-\xc3\xa9-t-\xc3\xa9-");
  EXPECT_EQ(replaced("x*", "", "y"), "y");
  // Each search restarts inside the whole text, so `\b` and `^` see what came before.
  EXPECT_EQ(replaced(R"(\bx)", "xx x", "y"), "yx y");
  EXPECT_EQ(replaced("^a", "aaa", "b"), "baa");
}

TEST(regex, find_all_stops_at_the_limit) {
  EXPECT_EQ(found("[0-9]", "a1b2c3", 2), (strings{"1", "2"}));
  EXPECT_EQ(found("[0-9]", "a1b2c3", 0), strings{});
  EXPECT_EQ(found("[0-9]", "a1b2c3"), (strings{"1", "2", "3"}));
  EXPECT_EQ(found("z", "a1b2c3"), strings{});
}

TEST(regex, a_subject_that_is_not_utf8_is_matched_byte_by_byte) {
  EXPECT_TRUE(*search("caf", "caf\xe9"));
  EXPECT_EQ(replaced("f", "caf\xe9", "F"), "caF\xe9");
}

}  // namespace
}  // namespace kairos::regex
