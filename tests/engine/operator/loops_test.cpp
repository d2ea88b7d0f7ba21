#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

outcome echo(const std::string&, const task& t) {
  const auto cmd = command_of(t);
  return exited(0, cmd.substr(cmd.find(' ') + 1));
}

const char* loops_yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: scalars, template: echo, arguments: {parameters: [{name: text, value: "{{item}}"}]}, withItems: [red, green]}
          - name: maps
            template: echo
            arguments: {parameters: [{name: text, value: "{{item.os}}-{{item.arch}}"}]}
            withItems: [{os: linux, arch: amd64}]
          - {name: gen, template: echo, arguments: {parameters: [{name: text, value: '["a","b"]'}]}}
          - {name: each, depends: gen, template: echo, arguments: {parameters: [{name: text, value: "s-{{item}}"}]}, withParam: "{{tasks.gen.outputs.result}}"}
          - {name: seq, template: echo, arguments: {parameters: [{name: text, value: "p{{item}}"}]}, withSequence: {start: "1", end: "3", format: "%02d"}}
          - {name: report, depends: each, template: echo, arguments: {parameters: [{name: text, value: "{{tasks.each.outputs.result}}"}]}}
    - name: echo
      inputs: {parameters: [{name: text}]}
      container: {image: x, command: [echo, "{{inputs.parameters.text}}"]}
)";

TEST(operator_loops, with_items_expands_scalars_and_maps_with_argo_names) {
  harness h;
  ASSERT_TRUE(h.create(loops_yaml));
  EXPECT_EQ(h.run(echo), "Succeeded");
  EXPECT_EQ(h.node("scalars")["type"], "TaskGroup");
  EXPECT_EQ(h.result_of("scalars(0:red)"), "red");
  EXPECT_EQ(h.result_of("scalars(1:green)"), "green");
  EXPECT_EQ(h.node("scalars(1:green)")["name"], "wf.scalars(1:green)");
  EXPECT_EQ(h.result_of("maps(0:arch:amd64,os:linux)"), "linux-amd64");
}

TEST(operator_loops, with_param_fans_out_over_an_earlier_json_output) {
  harness h;
  ASSERT_TRUE(h.create(loops_yaml));
  EXPECT_EQ(h.run(echo), "Succeeded");
  EXPECT_EQ(h.result_of("each(0:a)"), "s-a");
  EXPECT_EQ(h.result_of("each(1:b)"), "s-b");
  // Fan-out results aggregate into a JSON list.
  EXPECT_EQ(h.result_of("each"), R"(["s-a","s-b"])");
  EXPECT_EQ(h.result_of("report"), R"(["s-a","s-b"])");
}

TEST(operator_loops, with_sequence_formats_each_number) {
  harness h;
  ASSERT_TRUE(h.create(loops_yaml));
  EXPECT_EQ(h.run(echo), "Succeeded");
  EXPECT_EQ(h.result_of("seq(0:01)"), "p01");
  EXPECT_EQ(h.result_of("seq(2:03)"), "p03");
  EXPECT_EQ(h.node("seq")["children"].size(), 3u);
}

TEST(operator_loops, non_json_with_param_errors_the_node_with_the_value) {
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
          - {name: gen, template: t}
          - {name: each, depends: gen, template: t, withParam: "{{tasks.gen.outputs.result}}"}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run([](const std::string&, const task&) { return exited(0, "not json"); }), "Error");
  EXPECT_EQ(h.node_phase("each"), "Error");
  EXPECT_NE(h.node("each")["message"].get<std::string>().find("withParam"), std::string::npos);
  EXPECT_NE(h.node("each")["message"].get<std::string>().find("not json"), std::string::npos);
}

TEST(operator_loops, output_parameters_of_a_fan_out_aggregate_per_name) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: gen, template: gen, withItems: [x, y]}
        - - {name: use, template: echo, arguments: {parameters: [{name: v, value: "{{steps.gen.outputs.parameters.p}}"}]}}
    - name: gen
      outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
      container: {image: x, command: ["true"]}
    - name: echo
      inputs: {parameters: [{name: v}]}
      container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
)"));
  EXPECT_EQ(h.run([&](const std::string& d, const task& t) {
    if (d.rfind("gen", 0) == 0) {
      auto o = exited(0);
      o.parameters["p"] = "v" + d.substr(4, 1);
      return o;
    }
    return echo(d, t);
  }),
            "Succeeded");
  EXPECT_EQ(h.result_of("use"), R"(["v0","v1"])");
}

TEST(operator_loops, a_failed_child_fails_the_group) {
  harness h;
  ASSERT_TRUE(h.create(loops_yaml));
  EXPECT_EQ(h.run([](const std::string& d, const task& t) {
    return d == "scalars(1:green)" ? exited(1) : echo(d, t);
  }),
            "Failed");
  EXPECT_EQ(h.node_phase("scalars"), "Failed");
  EXPECT_EQ(h.node_phase("scalars(0:red)"), "Succeeded");
}

const char* steps_loop_yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: fan, template: echo, arguments: {parameters: [{name: text, value: "{{item}}"}]}, withItems: [a, b]}
          - {name: solo, template: echo, arguments: {parameters: [{name: text, value: solo}]}}
        - - {name: report, template: echo, arguments: {parameters: [{name: text, value: "{{steps.fan.outputs.result}}"}]}}
    - name: echo
      inputs: {parameters: [{name: text}]}
      container: {image: x, command: [echo, "{{inputs.parameters.text}}"]}
)";

TEST(operator_loops, steps_loop_items_are_children_of_the_step_group_without_a_task_group) {
  harness h;
  ASSERT_TRUE(h.create(steps_loop_yaml));
  EXPECT_EQ(h.run(echo), "Succeeded");
  const auto nodes = h.wf()["status"]["nodes"];
  for (const auto& [id, n] : nodes.items()) {
    EXPECT_NE(n["type"], "TaskGroup") << n.dump();
    EXPECT_NE(n["name"], "wf[0].fan");
  }
  const auto a = h.node("fan(0:a)");
  const auto b = h.node("fan(1:b)");
  EXPECT_EQ(a["name"], "wf[0].fan(0:a)");
  EXPECT_EQ(b["name"], "wf[0].fan(1:b)");
  EXPECT_EQ(a["type"], "Pod");
  EXPECT_EQ(h.node("[0]")["children"], json::array({a["id"], b["id"], h.node("solo")["id"]}));
  // The next group hangs below every item, as below any step of the group.
  const auto next = h.node("[1]")["id"];
  EXPECT_EQ(a["children"], json::array({next}));
  EXPECT_EQ(b["children"], json::array({next}));
  EXPECT_EQ(h.result_of("report"), R"(["a","b"])");
}

TEST(operator_loops, an_empty_steps_loop_is_one_skipped_node) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: none, template: t, withParam: "[]"}
        - - {name: after, template: t}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.node("none")["name"], "wf[0].none");
  EXPECT_EQ(h.node_phase("none"), "Skipped");
  EXPECT_EQ(h.node("none")["message"], "Skipped, empty params");
  EXPECT_EQ(h.launched, (std::vector<std::string>{"after"}));
}

TEST(operator_loops, a_bad_with_param_in_steps_starts_nothing_of_its_group) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: other, template: t}
          - {name: each, template: t, withParam: "not json"}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run(), "Failed");
  EXPECT_TRUE(h.launched.empty());
  EXPECT_EQ(h.node_phase("[0]"), "Error");
  EXPECT_EQ(h.node_phase("wf"), "Failed");
  EXPECT_NE(h.node("[0]")["message"].get<std::string>().find("withParam"), std::string::npos);
  EXPECT_NE(h.node("wf")["message"].get<std::string>().find("not json"), std::string::npos);
}

TEST(operator_loops, steps_loop_when_is_evaluated_per_item) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: s, template: t, withItems: [a, b, c], when: "'{{item}}' != 'b'"}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.node_phase("s(0:a)"), "Succeeded");
  EXPECT_EQ(h.node_phase("s(1:b)"), "Skipped");
  EXPECT_EQ(h.node_phase("s(2:c)"), "Succeeded");
  EXPECT_EQ(h.count_launched("s(1:b)"), 0u);
}

TEST(operator_loops, a_failed_steps_item_fails_the_group_unless_continue_on) {
  harness h;
  ASSERT_TRUE(h.create(steps_loop_yaml));
  EXPECT_EQ(h.run([](const std::string& d, const task& t) {
    return d == "fan(1:b)" ? exited(1) : echo(d, t);
  }),
            "Failed");
  EXPECT_EQ(h.node_phase("[0]"), "Failed");
  EXPECT_EQ(h.node("[0]")["message"],
            "child '" + h.node("fan(1:b)")["id"].get<std::string>() + "' failed");
  EXPECT_EQ(h.node_phase("report"), "<none>");
}

}  // namespace
}  // namespace kairos::engine::testing
