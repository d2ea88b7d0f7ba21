#include "kairos/sensors/conditions.hpp"

#include <gtest/gtest.h>

namespace kairos::sensors {
namespace {

const std::vector<std::string> deps{"a", "b", "c", "dep-d"};

TEST(conditions, and_or_parentheses_and_not) {
  auto c = condition::parse("a && (b || c)", deps);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->evaluate({"a"}));
  EXPECT_TRUE(c->evaluate({"a", "b"}));
  EXPECT_TRUE(c->evaluate({"a", "c"}));
  EXPECT_FALSE(c->evaluate({"b", "c"}));
  EXPECT_EQ(c->names(), (std::vector<std::string>{"a", "b", "c"}));
  auto n = condition::parse("!a && dep-d", deps);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->evaluate({"dep-d"}));
  EXPECT_FALSE(n->evaluate({"a", "dep-d"}));
}

TEST(conditions, empty_means_every_dependency) {
  auto c = condition::parse("", deps);
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->evaluate({"a", "b", "c"}));
  EXPECT_TRUE(c->evaluate({"a", "b", "c", "dep-d"}));
}

TEST(conditions, errors_name_the_column_or_the_unknown_dependency) {
  auto bad = condition::parse("a && (b", deps);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("column 8"), std::string::npos) << bad.error().message;
  auto unknown = condition::parse("a || zzz", deps);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("zzz"), std::string::npos);
  EXPECT_FALSE(condition::parse("a &&", deps).ok());
  EXPECT_FALSE(condition::parse(std::string(300, '('), deps).ok());
}

}  // namespace
}  // namespace kairos::sensors
