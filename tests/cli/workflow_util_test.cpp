#include "workflow_util.hpp"

#include <gtest/gtest.h>

namespace kairos::cli {
namespace {

using json = nlohmann::json;

json wf(std::string name, std::string created) {
  return {{"metadata", {{"name", name}, {"creationTimestamp", created}}}};
}

TEST(latest, picks_the_newest_creation_timestamp_whatever_the_order) {
  json items = {wf("old", "2024-01-01T00:00:00Z"), wf("newest", "2024-03-01T00:00:00Z"),
                wf("middle", "2024-02-01T00:00:00Z")};
  EXPECT_EQ(latest_workflow_name(items), "newest");
}

TEST(latest, empty_or_malformed_lists_have_no_latest) {
  EXPECT_EQ(latest_workflow_name(json::array()), std::nullopt);
  EXPECT_EQ(latest_workflow_name(json(nullptr)), std::nullopt);
  EXPECT_EQ(latest_workflow_name(json{1, "x", json::object()}), std::nullopt);
}

TEST(latest, items_without_timestamps_fall_back_to_list_order) {
  json items = {{{"metadata", {{"name", "first"}}}}, {{"metadata", {{"name", "second"}}}}};
  EXPECT_EQ(latest_workflow_name(items), "first");
}

TEST(phases, only_succeeded_failed_and_error_are_final) {
  EXPECT_TRUE(is_finished_phase("Succeeded"));
  EXPECT_TRUE(is_finished_phase("Failed"));
  EXPECT_TRUE(is_finished_phase("Error"));
  EXPECT_FALSE(is_finished_phase("Running"));
  EXPECT_FALSE(is_finished_phase("Pending"));
  EXPECT_FALSE(is_finished_phase(""));
}

}  // namespace
}  // namespace kairos::cli
