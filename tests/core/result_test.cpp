#include "kairos/core/result.hpp"

#include <string>

#include <gtest/gtest.h>

namespace kairos {
namespace {

result<int> parse_positive(int x) {
  if (x <= 0) return make_error(errc::invalid_argument, "must be positive");
  return x;
}

TEST(result, carries_a_value_or_an_error_with_its_code) {
  auto good = parse_positive(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);

  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, errc::invalid_argument);
  EXPECT_EQ(bad.error().message, "must be positive");
  EXPECT_EQ(to_string(bad.error().code), "InvalidArgument");
}

TEST(result, void_result_defaults_to_success) {
  result<void> ok;
  EXPECT_TRUE(ok.ok());
  result<void> failed = make_error(errc::not_found, "no such workflow");
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code, errc::not_found);
}

}  // namespace
}  // namespace kairos
