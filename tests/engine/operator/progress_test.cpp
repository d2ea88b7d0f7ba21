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

TEST(progress, working_nodes_count_once_finished_and_groups_sum_what_they_hold) {
  // s (Steps) runs group g0 (a, b), then group g1 (c, which is a DAG d
  // holding e); a later step's group hangs off the pods before it.
  json wf = {
      {"status",
       {{"nodes",
         {{"s", {{"type", "Steps"}, {"children", {"g0"}}}},
          {"g0", {{"type", "StepGroup"}, {"boundaryID", "s"}, {"children", {"a", "b"}}}},
          {"a",
           {{"type", "Pod"}, {"phase", "Succeeded"}, {"boundaryID", "s"}, {"children", {"g1"}}}},
          {"b", {{"type", "Pod"}, {"phase", "Failed"}, {"boundaryID", "s"}}},
          {"g1", {{"type", "StepGroup"}, {"boundaryID", "s"}, {"children", {"d", "gone"}}}},
          {"d", {{"type", "DAG"}, {"boundaryID", "s"}, {"children", {"e"}}}},
          {"e", {{"type", "Pod"}, {"phase", "Skipped"}, {"boundaryID", "d"}}}}}}}};
  set_progress(wf);
  const auto& n = wf["status"]["nodes"];
  EXPECT_EQ(wf["status"]["progress"], "2/3");
  EXPECT_EQ(n["a"]["progress"], "1/1");
  EXPECT_EQ(n["b"]["progress"], "0/1");  // failed: not done
  EXPECT_EQ(n["e"]["progress"], "1/1");  // skipped: done
  EXPECT_EQ(n["s"]["progress"], "2/3");
  EXPECT_EQ(n["d"]["progress"], "1/1");
  EXPECT_EQ(n["g0"]["progress"], "1/2");
  EXPECT_EQ(n["g1"]["progress"], "1/1");
}

TEST(progress, a_long_chain_of_steps_is_summed_in_linear_time) {
  // Summing what each group reaches, as Argo does, takes n^2 steps here;
  // 20,000 groups would take minutes.
  json nodes = {{"s", {{"type", "Steps"}, {"children", {"g0"}}}}};
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const auto g = "g" + std::to_string(i), p = "p" + std::to_string(i);
    nodes[g] = {{"type", "StepGroup"}, {"boundaryID", "s"}, {"children", {p}}};
    nodes[p] = {{"type", "Pod"}, {"phase", "Succeeded"}, {"boundaryID", "s"}};
    if (i + 1 < n) nodes[p]["children"] = {"g" + std::to_string(i + 1)};
  }
  json wf = {{"status", {{"nodes", std::move(nodes)}}}};
  set_progress(wf);
  EXPECT_EQ(wf["status"]["progress"], "20000/20000");
  EXPECT_EQ(wf["status"]["nodes"]["s"]["progress"], "20000/20000");
  EXPECT_EQ(wf["status"]["nodes"]["g0"]["progress"], "1/1");
}

TEST(progress, groups_nested_a_hundred_thousand_deep_are_summed_without_recursion) {
  json nodes = json::object();
  const int depth = 100000;
  for (int i = 0; i < depth; ++i)
    nodes["x" + std::to_string(i)] = {{"type", "TaskGroup"},
                                      {"children", {"x" + std::to_string(i + 1)}}};
  nodes["x" + std::to_string(depth)] = {{"type", "Pod"}, {"phase", "Succeeded"}};
  json wf = {{"status", {{"nodes", std::move(nodes)}}}};
  set_progress(wf);
  EXPECT_EQ(wf["status"]["nodes"]["x0"]["progress"], "1/1");
  EXPECT_EQ(wf["status"]["progress"], "1/1");
}

TEST(progress, cycles_and_missing_nodes_in_a_corrupt_document_end_the_sum) {
  json wf = {{"status",
              {{"nodes",
                {{"x", {{"type", "TaskGroup"}, {"children", {"y", "nowhere"}}}},
                 {"y", {{"type", "TaskGroup"}, {"children", {"x", "p"}}}},
                 {"p", {{"type", "Pod"}, {"phase", "Running"}, {"boundaryID", "q"}}},
                 {"q", {{"type", "DAG"}, {"boundaryID", "r"}}},
                 {"r", {{"type", "DAG"}, {"boundaryID", "q"}}}}}}}};
  set_progress(wf);
  EXPECT_EQ(wf["status"]["progress"], "0/1");
  EXPECT_EQ(wf["status"]["nodes"]["y"]["progress"], "0/1");
  EXPECT_EQ(wf["status"]["nodes"]["q"]["progress"], "0/1");
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

TEST(progress, a_pod_reports_its_own_figure_which_is_made_whole_when_it_succeeds) {
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
          - {name: load, template: t}
          - {name: index, template: t}
          - {name: audit, template: t}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  h.step();
  auto id_of = [&](const std::string& display) {
    for (const auto& [id, t] : h.running)
      if (h.display(id) == display) return id;
    return std::string();
  };
  // Argo takes "N/M" with 0 <= N <= M and M > 0; anything else is ignored.
  for (const char* bad :
       {"", "3", "9/4", "1/0", "-1/4", "1/4x", " 1/4", "a/b", "1/99999999999999999999"})
    EXPECT_FALSE(h.op->report_progress(id_of("load"), bad)) << bad;
  EXPECT_TRUE(h.op->report_progress(id_of("load"), "30/100"));
  EXPECT_FALSE(h.op->report_progress(id_of("load"), "30/100"));  // no change, nothing to store
  EXPECT_TRUE(h.op->report_progress(id_of("index"), "1/4"));
  EXPECT_FALSE(h.op->report_progress("no-such-node", "1/4"));
  // The change is stored with the next step.
  const auto out = h.step();
  EXPECT_NE(std::find(out.changed_nodes.begin(), out.changed_nodes.end(), id_of("load")),
            out.changed_nodes.end());
  EXPECT_EQ(h.node("load")["progress"], "30/100");
  EXPECT_EQ(h.wf()["status"]["progress"], "31/105");
  EXPECT_EQ(h.node("wf")["progress"], "31/105");

  // load succeeds having last said 60/100: it counts as 100/100. index fails
  // at its last figure; audit reports only as it ends (a short node whose
  // file was read once).
  outcome ended = exited(0);
  ended.progress = "60/100";
  ASSERT_TRUE(h.finish("load", ended));
  const auto index_id = id_of("index");
  ASSERT_TRUE(h.finish("index", exited(2)));
  EXPECT_FALSE(h.op->report_progress(index_id, "4/4"));  // finished: too late
  outcome audit = exited(0);
  audit.progress = "2/5";
  ASSERT_TRUE(h.finish("audit", audit));
  h.step();
  EXPECT_EQ(h.op->phase(), "Failed");
  EXPECT_EQ(h.node("load")["progress"], "100/100");
  EXPECT_EQ(h.node("index")["progress"], "1/4");
  EXPECT_EQ(h.node("audit")["progress"], "5/5");
  EXPECT_EQ(h.wf()["status"]["progress"], "106/109");
  // The stored node keeps what was reported, so a restart or the list sums
  // the same figures.
  EXPECT_EQ(h.op->node_json(index_id)["progress"], "1/4");
}

TEST(progress, the_list_sums_counted_nodes_with_their_reported_figures_as_the_tree_does) {
  work_progress p;
  p.add("Pod", "Running", 2, "3/10");
  p.add("Pod", "Succeeded", 1, "3/10");
  p.add("Pod", "Failed", 1, "not a figure");
  p.add("DAG", "Running", 1, "5/5");  // groups are sums, never reports
  EXPECT_EQ(p.text(), "16/31");

  // Counts as large as a pod likes (bytes, say) stop at the largest rather
  // than wrap around to a negative figure.
  work_progress big;
  big.add("Pod", "Running", 10, "999999999999999999/999999999999999999");
  big.add("Pod", "Running", 1, "1/2");
  EXPECT_EQ(big.text(), "9223372036854775807/9223372036854775807");
  work_progress sum;
  sum += big;
  sum += big;
  EXPECT_GT(sum.done, 0);
  EXPECT_EQ(sum.total, big.total);
}

}  // namespace
}  // namespace kairos::engine::testing
