#include "kairos/engine/progress.hpp"

#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

const char* chain_with_a_fan = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: fetch, template: t}
          - {name: shard, template: t, dependencies: [fetch], withItems: [1, 2, 3]}
          - {name: report, template: t, dependencies: [shard]}
    - name: t
      container: {image: x, command: ["true"]}
)";

TEST(progress, working_nodes_count_once_finished_and_groups_sum_what_they_reach) {
  json wf = {{"status",
              {{"nodes",
                {{"a", {{"type", "Pod"}, {"phase", "Succeeded"}}},
                 {"b", {{"type", "Pod"}}},
                 {"g", {{"type", "Steps"}, {"children", {"a", "b", "missing"}}}}}}}}};
  set_progress(wf);
  EXPECT_EQ(wf["status"]["progress"], "1/2");
  EXPECT_EQ(wf["status"]["nodes"]["a"]["progress"], "1/1");
  EXPECT_EQ(wf["status"]["nodes"]["b"]["progress"], "0/1");
  EXPECT_EQ(wf["status"]["nodes"]["g"]["progress"], "1/2");
}

TEST(progress, a_workflow_without_nodes_is_zero_of_zero_and_an_empty_group_has_none) {
  json bare = {{"metadata", {{"name", "wf"}}}};
  set_progress(bare);
  EXPECT_EQ(bare["status"]["progress"], "0/0");

  json skipped = {{"status", {{"nodes", {{"s", {{"type", "Skipped"}, {"phase", "Skipped"}}}}}}}};
  set_progress(skipped);
  EXPECT_EQ(skipped["status"]["progress"], "0/0");
  EXPECT_FALSE(skipped["status"]["nodes"]["s"].contains("progress"));
}

TEST(progress, a_dag_counts_every_task_below_it_as_it_runs) {
  harness h;
  ASSERT_TRUE(h.create(chain_with_a_fan));
  h.step();
  EXPECT_EQ(h.wf()["status"]["progress"], "0/1");
  ASSERT_TRUE(h.finish("fetch", exited(0)));
  h.step();
  // fetch done, three shards started.
  EXPECT_EQ(h.wf()["status"]["progress"], "1/4");
  EXPECT_EQ(h.node("wf")["progress"], "1/4");
  EXPECT_EQ(h.node("shard")["progress"], "0/3");
  ASSERT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.wf()["status"]["progress"], "5/5");
  EXPECT_EQ(h.node("wf")["progress"], "5/5");
  EXPECT_EQ(h.node("report")["progress"], "1/1");
}

TEST(progress, failed_attempts_stay_unfinished_and_omitted_tasks_do_not_count) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: flaky, template: retried}
          - {name: broken, template: t}
          - {name: after, template: t, dependencies: [broken]}
    - name: retried
      retryStrategy: {limit: "2"}
      container: {image: x, command: ["true"]}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  int flaky_runs = 0;
  EXPECT_EQ(h.run([&](const std::string& display, const task&) {
    if (display == "broken") return exited(1);
    return exited(display.rfind("flaky", 0) == 0 && flaky_runs++ == 0 ? 1 : 0);
  }),
            "Failed");
  EXPECT_EQ(h.node_phase("after"), "Omitted");
  EXPECT_FALSE(h.node("after").contains("progress"));
  // Two attempts of flaky (one failed), and broken.
  EXPECT_EQ(h.node("flaky")["type"], "Retry");
  EXPECT_EQ(h.node("flaky")["progress"], "1/2");
  EXPECT_EQ(h.node("broken")["progress"], "0/1");
  EXPECT_EQ(h.wf()["status"]["progress"], "1/3");
}

}  // namespace
}  // namespace kairos::engine::testing
