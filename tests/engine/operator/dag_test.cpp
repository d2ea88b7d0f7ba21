#include <gtest/gtest.h>

#include "harness.hpp"
#include "operator_impl.hpp"

namespace kairos::engine::testing {
namespace {

const char* diamond = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: A, template: t}
          - {name: B, template: t, dependencies: [A]}
          - {name: C, template: t, dependencies: [A]}
          - {name: D, template: t, dependencies: [B, C]}
    - name: t
      container: {image: x, command: ["true"]}
)";

TEST(operator_dag, diamond_runs_in_dependency_order_and_succeeds) {
  harness h;
  ASSERT_TRUE(h.create(diamond));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.display(out.launches[0].node_id), "A");
  EXPECT_EQ(h.wf()["status"]["phase"], "Running");
  ASSERT_TRUE(h.finish("A", exited(0)));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 2u);
  ASSERT_TRUE(h.finish("B", exited(0)));
  out = h.step();
  EXPECT_TRUE(out.launches.empty());  // D still waits for C
  ASSERT_TRUE(h.finish("C", exited(0)));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.display(out.launches[0].node_id), "D");
  ASSERT_TRUE(h.finish("D", exited(0)));
  out = h.step();
  EXPECT_TRUE(out.completed);
  EXPECT_EQ(h.op->phase(), "Succeeded");
}

TEST(operator_dag, node_names_ids_and_types_follow_argo) {
  harness h;
  ASSERT_TRUE(h.create(diamond));
  h.run();
  auto root = h.node("wf");
  EXPECT_EQ(root["id"], "wf");
  EXPECT_EQ(root["type"], "DAG");
  auto a = h.node("A");
  EXPECT_EQ(a["name"], "wf.A");
  EXPECT_EQ(a["type"], "Pod");
  EXPECT_EQ(a["boundaryID"], "wf");
  EXPECT_EQ(a["templateName"], "t");
  EXPECT_EQ(a["id"].get<std::string>().rfind("wf-", 0), 0u);
  EXPECT_NE(a["id"], h.node("B")["id"]);
  // Roots are the DAG's children; dependents hang off their dependencies.
  EXPECT_EQ(root["children"], json::array({a["id"]}));
  EXPECT_EQ(a["children"].size(), 2u);
  EXPECT_EQ(root["outboundNodes"], json::array({h.node("D")["id"]}));
  EXPECT_TRUE(a.contains("startedAt"));
  EXPECT_TRUE(a.contains("finishedAt"));
}

TEST(operator_dag, failed_task_fails_dag_and_omits_its_dependents) {
  harness h;
  ASSERT_TRUE(h.create(diamond));
  auto phase = h.run([](const std::string& d, const task&) { return exited(d == "B" ? 2 : 0); });
  EXPECT_EQ(phase, "Failed");
  EXPECT_EQ(h.node_phase("B"), "Failed");
  EXPECT_EQ(h.node("B")["message"], "Error (exit code 2)");
  EXPECT_EQ(h.node("B")["outputs"]["exitCode"], "2");
  EXPECT_EQ(h.node_phase("C"), "Succeeded");
  EXPECT_EQ(h.count_launched("D"), 0u);
  EXPECT_EQ(h.wf()["status"]["message"],
            "child '" + h.node("B")["id"].get<std::string>() + "' failed");
}

const char* depends_yaml = R"Y(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: lint, template: t}
          - {name: flaky, template: t, continueOn: {failed: true}}
          - {name: on-fail, template: t, depends: "flaky.Failed || flaky.Errored"}
          - {name: package, template: t, depends: "lint && (flaky.Succeeded || flaky.Failed)"}
          - {name: celebrate, template: t, depends: "flaky.Succeeded"}
          - {name: never, template: t, depends: "!lint"}
    - name: t
      container: {image: x, command: ["true"]}
)Y";

TEST(operator_dag, depends_selects_on_results_and_omits_unmet_tasks) {
  harness h;
  ASSERT_TRUE(h.create(depends_yaml));
  auto phase =
      h.run([](const std::string& d, const task&) { return exited(d == "flaky" ? 3 : 0); });
  EXPECT_EQ(phase, "Succeeded");
  EXPECT_EQ(h.node_phase("flaky"), "Failed");
  EXPECT_EQ(h.node_phase("on-fail"), "Succeeded");
  EXPECT_EQ(h.node_phase("package"), "Succeeded");
  EXPECT_EQ(h.node_phase("celebrate"), "Omitted");
  EXPECT_EQ(h.node_phase("never"), "Omitted");
  EXPECT_EQ(h.node("celebrate")["type"], "Skipped");
}

TEST(operator_dag, bare_task_name_accepts_skipped_dependency) {
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
          - {name: a, template: t, when: "1 == 2"}
          - {name: b, template: t, depends: a}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.node_phase("a"), "Skipped");
  EXPECT_EQ(h.node_phase("b"), "Succeeded");
}

TEST(operator_dag, continue_on_error_lets_dependents_run) {
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
          - {name: a, template: t, continueOn: {error: true}}
          - {name: b, template: t, dependencies: [a]}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  auto phase = h.run([](const std::string& d, const task&) {
    outcome o;
    o.what = d == "a" ? outcome::kind::failed_to_start : outcome::kind::exited;
    o.exit_code = 0;
    o.message = "no such command";
    return o;
  });
  EXPECT_EQ(phase, "Succeeded");
  EXPECT_EQ(h.node_phase("a"), "Error");
  EXPECT_EQ(h.node("a")["message"], "no such command");
  EXPECT_EQ(h.node_phase("b"), "Succeeded");
}

TEST(operator_dag, fail_fast_stops_scheduling_new_tasks) {
  const char* yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        FAILFAST
        tasks:
          - {name: bad, template: t}
          - {name: slow, template: t}
          - {name: after-slow, template: t, depends: slow}
    - name: t
      container: {image: x, command: ["true"]}
)";
  for (bool fail_fast : {true, false}) {
    std::string y = yaml;
    y.replace(y.find("FAILFAST"), 8, fail_fast ? "failFast: true" : "failFast: false");
    harness h;
    ASSERT_TRUE(h.create(y));
    h.step();
    ASSERT_TRUE(h.finish("bad", exited(1)));
    h.step();
    ASSERT_TRUE(h.finish("slow", exited(0)));
    h.step();
    EXPECT_EQ(h.count_launched("after-slow"), fail_fast ? 0u : 1u) << fail_fast;
    h.run();
    EXPECT_EQ(h.op->phase(), "Failed");
  }
}

TEST(operator_dag, target_runs_only_the_named_tasks_and_their_dependencies) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        target: b
        tasks:
          - {name: a, template: t}
          - {name: b, template: t, dependencies: [a]}
          - {name: c, template: t}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.count_launched("a"), 1u);
  EXPECT_EQ(h.count_launched("b"), 1u);
  EXPECT_EQ(h.count_launched("c"), 0u);
}

TEST(operator_dag, any_succeeded_and_all_failed_look_at_loop_children) {
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
          - {name: fan, template: t, withItems: [1, 2, 3], continueOn: {failed: true}}
          - {name: some, template: t, depends: fan.AnySucceeded}
          - {name: all, template: t, depends: fan.AllFailed}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  h.run([](const std::string& d, const task&) {
    return exited(d.rfind("fan(", 0) == 0 && d != "fan(1:2)" ? 1 : 0);
  });
  EXPECT_EQ(h.node_phase("some"), "Succeeded");
  EXPECT_EQ(h.node_phase("all"), "Omitted");
}

TEST(operator_dag, depends_parser_rejects_bad_syntax_and_unknown_tasks) {
  std::unordered_map<std::string, int> index{{"a", 0}, {"b-c", 1}};
  auto ok = op::parse_depends("(a.Succeeded || !b-c) && a", index);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kind, op::depends_expr::op::and_);
  EXPECT_FALSE(op::parse_depends("a &&", index));
  EXPECT_FALSE(op::parse_depends("(a", index));
  auto unknown = op::parse_depends("ghost", index);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("ghost"), std::string::npos);
}

TEST(operator_dag, create_rejects_cycles_unknown_dependencies_and_missing_templates) {
  harness h;
  auto cycle = h.create_json(harness::manifest(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  ASSERT_TRUE(cycle);
  json m = harness::manifest(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t}
    - name: t
      container: {image: x, command: ["true"]}
)");
  auto with_cycle = m;
  with_cycle["spec"]["templates"][0]["dag"]["tasks"] = json::parse(
      R"([{"name":"a","template":"t","dependencies":["b"]},{"name":"b","template":"t","dependencies":["a"]}])");
  auto r1 = workflow_operator::create(with_cycle, h.env);
  ASSERT_FALSE(r1);
  EXPECT_NE(r1.error().message.find("cycle"), std::string::npos) << r1.error().message;
  auto unknown = m;
  unknown["spec"]["templates"][0]["dag"]["tasks"][0]["dependencies"] = json::array({"ghost"});
  auto r2 = workflow_operator::create(unknown, h.env);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("ghost"), std::string::npos) << r2.error().message;
  auto missing = m;
  missing["spec"]["templates"][0]["dag"]["tasks"][0]["template"] = "nowhere";
  auto r3 = workflow_operator::create(missing, h.env);
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.error().message.find("nowhere"), std::string::npos) << r3.error().message;
}

TEST(operator_dag, one_completion_in_a_wide_dag_touches_few_nodes) {
  std::string yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: t
      container: {image: x, command: ["true"]}
    - name: main
      dag:
        tasks:
)";
  for (int i = 0; i < 300; ++i)
    yaml += "          - {name: n" + std::to_string(i) + ", template: t}\n";
  harness h;
  ASSERT_TRUE(h.create(yaml));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 300u);
  ASSERT_TRUE(h.finish("n7", exited(0)));
  out = h.step();
  EXPECT_LE(out.changed_nodes.size(), 2u);
}

}  // namespace
}  // namespace kairos::engine::testing
