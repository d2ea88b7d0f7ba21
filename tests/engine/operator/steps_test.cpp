#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

const char* steps_yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: prepare, template: say, arguments: {parameters: [{name: text, value: ready}]}}
        - - {name: left, template: say, arguments: {parameters: [{name: text, value: left}]}}
          - {name: right, template: say, arguments: {parameters: [{name: text, value: right}]}}
        - - {name: join, template: say, arguments: {parameters: [{name: text, value: "got {{steps.prepare.outputs.result}}"}]}}
    - name: say
      inputs: {parameters: [{name: text}]}
      container: {image: x, command: [echo, "{{inputs.parameters.text}}"]}
)";

outcome echo(const std::string&, const task& t) {
  const auto cmd = command_of(t);
  return exited(0, cmd.substr(cmd.find(' ') + 1));
}

TEST(operator_steps, outer_lists_run_in_sequence_inner_lists_in_parallel) {
  harness h;
  ASSERT_TRUE(h.create(steps_yaml));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  ASSERT_TRUE(h.finish("prepare", exited(0, "ready")));
  out = h.step();
  EXPECT_EQ(out.launches.size(), 2u);
  ASSERT_TRUE(h.finish("left", exited(0)));
  out = h.step();
  EXPECT_TRUE(out.launches.empty());
  ASSERT_TRUE(h.finish("right", exited(0)));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(command_of(out.launches[0]), "echo got ready");
}

TEST(operator_steps, node_tree_has_step_groups_as_argo) {
  harness h;
  ASSERT_TRUE(h.create(steps_yaml));
  EXPECT_EQ(h.run(echo), "Succeeded");
  auto root = h.node("wf");
  EXPECT_EQ(root["type"], "Steps");
  auto g0 = h.node("[0]");
  EXPECT_EQ(g0["type"], "StepGroup");
  EXPECT_EQ(g0["name"], "wf[0]");
  EXPECT_EQ(root["children"], json::array({g0["id"]}));
  auto prepare = h.node("prepare");
  EXPECT_EQ(prepare["name"], "wf[0].prepare");
  EXPECT_EQ(g0["children"], json::array({prepare["id"]}));
  // The next group hangs off the previous group's steps.
  EXPECT_EQ(prepare["children"], json::array({h.node("[1]")["id"]}));
  EXPECT_EQ(h.result_of("join"), "got ready");
}

TEST(operator_steps, failed_step_fails_the_workflow_with_argo_message) {
  harness h;
  ASSERT_TRUE(h.create(steps_yaml));
  auto phase = h.run(
      [](const std::string& d, const task& t) { return d == "left" ? exited(1) : echo(d, t); });
  EXPECT_EQ(phase, "Failed");
  const std::string left_id = h.node("left")["id"];
  EXPECT_EQ(h.node_phase("[1]"), "Failed");
  EXPECT_EQ(h.wf()["status"]["message"], "child '" + left_id + "' failed");
  EXPECT_EQ(h.count_launched("join"), 0u);
}

TEST(operator_steps, when_uses_govaluate_after_substitution) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  arguments: {parameters: [{name: seed, value: "4"}]}
  templates:
    - name: main
      steps:
        - - {name: flip, template: t}
        - - {name: heads, template: t, when: "{{steps.flip.outputs.result}} == heads"}
          - {name: tails, template: t, when: "{{steps.flip.outputs.result}} == tails"}
          - {name: big, template: t, when: "{{workflow.parameters.seed}} >= 3 && heads =~ '^h'"}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run([](const std::string&, const task&) { return exited(0, "heads"); }), "Succeeded");
  EXPECT_EQ(h.node_phase("heads"), "Succeeded");
  EXPECT_EQ(h.node_phase("tails"), "Skipped");
  EXPECT_EQ(h.node("tails")["type"], "Skipped");
  EXPECT_EQ(h.node_phase("big"), "Succeeded");
}

TEST(operator_steps, invalid_when_expression_errors_the_step) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: bad, template: t, when: "1 +* 2 == (("}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  // The step errors; as in Argo, its group and the steps node fail.
  EXPECT_EQ(h.run(), "Failed");
  EXPECT_EQ(h.node_phase("bad"), "Error");
  EXPECT_EQ(h.node_phase("wf"), "Failed");
  EXPECT_NE(h.node("bad").value("message", "").find("when"), std::string::npos);
}

TEST(operator_steps, continue_on_failed_keeps_the_steps_going) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: a, template: t, continueOn: {failed: true}}
        - - {name: b, template: t}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run([](const std::string& d, const task&) { return exited(d == "a" ? 1 : 0); }),
            "Succeeded");
  EXPECT_EQ(h.node_phase("a"), "Failed");
  EXPECT_EQ(h.node_phase("b"), "Succeeded");
}

TEST(operator_steps, nested_dag_inside_steps_runs_and_reports_outputs) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: inner, template: inner}
        - - {name: use, template: echo, arguments: {parameters: [{name: v, value: "{{steps.inner.outputs.parameters.out}}"}]}}
    - name: inner
      dag:
        tasks:
          - {name: x, template: echo, arguments: {parameters: [{name: v, value: hello}]}}
      outputs:
        parameters:
          - name: out
            valueFrom: {parameter: "{{tasks.x.outputs.result}}"}
    - name: echo
      inputs: {parameters: [{name: v}]}
      container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
)"));
  EXPECT_EQ(h.run(echo), "Succeeded");
  EXPECT_EQ(h.node("inner")["type"], "DAG");
  EXPECT_EQ(h.node("x")["name"], "wf[0].inner.x");
  EXPECT_EQ(h.result_of("use"), "hello");
}

}  // namespace
}  // namespace kairos::engine::testing
