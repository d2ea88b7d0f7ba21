#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

std::string retry_yaml(const std::string& strategy) {
  return R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: flaky
  templates:
    - name: flaky
      retryStrategy: )" +
         strategy + R"(
      container: {image: x, command: [echo, "try {{retries}}"]}
)";
}

TEST(operator_retry, retries_until_success_with_argo_child_names) {
  harness h;
  ASSERT_TRUE(h.create(retry_yaml(R"({limit: "4"})")));
  int n = 0;
  EXPECT_EQ(h.run([&](const std::string&, const task&) { return exited(++n < 3 ? 1 : 0); }),
            "Succeeded");
  EXPECT_EQ(h.node("wf")["type"], "Retry");
  EXPECT_EQ(h.node_phase("wf(0)"), "Failed");
  EXPECT_EQ(h.node_phase("wf(1)"), "Failed");
  EXPECT_EQ(h.node_phase("wf(2)"), "Succeeded");
  EXPECT_EQ(h.node("wf(2)")["name"], "wf(2)");
  EXPECT_EQ(h.node("wf")["children"].size(), 3u);
}

TEST(operator_retry, retries_variable_counts_attempts) {
  harness h;
  ASSERT_TRUE(h.create(retry_yaml(R"({limit: "2"})")));
  std::vector<std::string> commands;
  h.run([&](const std::string&, const task& t) {
    commands.push_back(command_of(t));
    return exited(1);
  });
  EXPECT_EQ(commands, (std::vector<std::string>{"echo try 0", "echo try 1", "echo try 2"}));
  EXPECT_EQ(h.op->phase(), "Failed");
  EXPECT_EQ(h.node("wf")["message"], "No more retries left");
}

TEST(operator_retry, on_failure_policy_does_not_retry_errors) {
  harness h;
  ASSERT_TRUE(h.create(retry_yaml(R"({limit: "3"})")));
  h.run([](const std::string&, const task&) {
    outcome o;
    o.what = outcome::kind::failed_to_start;
    o.message = "no such file";
    return o;
  });
  EXPECT_EQ(h.op->phase(), "Error");
  EXPECT_EQ(h.launched.size(), 1u);
}

TEST(operator_retry, on_error_policy_retries_errors_but_not_failures) {
  harness h;
  ASSERT_TRUE(h.create(retry_yaml(R"({limit: "3", retryPolicy: OnError})")));
  h.run([](const std::string&, const task&) { return exited(1); });
  EXPECT_EQ(h.launched.size(), 1u);
  harness h2;
  ASSERT_TRUE(h2.create(retry_yaml(R"({limit: "1", retryPolicy: OnError})")));
  h2.run([](const std::string&, const task&) {
    outcome o;
    o.what = outcome::kind::error;
    return o;
  });
  EXPECT_EQ(h2.launched.size(), 2u);
}

TEST(operator_retry, always_policy_retries_both) {
  harness h;
  ASSERT_TRUE(h.create(retry_yaml(R"({limit: "1", retryPolicy: Always})")));
  int n = 0;
  h.run([&](const std::string&, const task&) {
    outcome o;
    o.what = n++ == 0 ? outcome::kind::error : outcome::kind::exited;
    o.exit_code = 0;
    return o;
  });
  EXPECT_EQ(h.op->phase(), "Succeeded");
  EXPECT_EQ(h.launched.size(), 2u);
}

TEST(operator_retry, backoff_waits_on_the_clock_growing_by_factor_up_to_cap) {
  harness h;
  ASSERT_TRUE(
      h.create(retry_yaml(R"({limit: "3", backoff: {duration: "10", factor: "2", cap: "15s"}})")));
  auto out = h.step();
  const auto t0 = h.clock.now();
  ASSERT_TRUE(h.finish("wf(0)", exited(1)));
  out = h.step();
  EXPECT_TRUE(out.launches.empty());
  ASSERT_TRUE(out.requeue_at);
  EXPECT_EQ(*out.requeue_at - t0, std::chrono::seconds(10));
  EXPECT_EQ(h.node("wf")["message"], "Backoff for 10s");
  h.clock.advance(std::chrono::seconds(10));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  ASSERT_TRUE(h.finish("wf(1)", exited(1)));
  out = h.step();
  ASSERT_TRUE(out.requeue_at);
  EXPECT_EQ(*out.requeue_at - h.clock.now(), std::chrono::seconds(15));  // 20s capped
}

TEST(operator_retry, max_duration_stops_retrying) {
  harness h;
  ASSERT_TRUE(
      h.create(retry_yaml(R"({limit: "10", backoff: {duration: "30", maxDuration: "1m"}})")));
  EXPECT_EQ(h.run([](const std::string&, const task&) { return exited(1); }), "Failed");
  EXPECT_LE(h.launched.size(), 3u);
  EXPECT_GE(h.launched.size(), 2u);
}

TEST(operator_retry, expression_over_last_retry_decides) {
  harness h;
  ASSERT_TRUE(h.create(retry_yaml(
      R"({limit: "5", retryPolicy: Always, expression: "asInt(lastRetry.exitCode) == 2"})")));
  int n = 0;
  h.run([&](const std::string&, const task&) { return exited(n++ == 0 ? 2 : 3); });
  EXPECT_EQ(h.launched.size(), 2u);
  EXPECT_EQ(h.op->phase(), "Failed");
}

TEST(operator_retry, workflow_level_retry_strategy_applies_to_leaves) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  retryStrategy: {limit: "1"}
  templates:
    - name: main
      steps: [[{name: a, template: t}]]
    - name: t
      container: {image: x, command: ["true"]}
)"));
  int n = 0;
  EXPECT_EQ(h.run([&](const std::string&, const task&) { return exited(n++ == 0 ? 1 : 0); }),
            "Succeeded");
  EXPECT_EQ(h.node("a")["type"], "Retry");
  EXPECT_EQ(h.node("wf")["type"], "Steps");
  EXPECT_EQ(h.node_phase("a(1)"), "Succeeded");
}

}  // namespace
}  // namespace kairos::engine::testing
