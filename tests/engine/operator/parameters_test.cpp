#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

outcome echo(const std::string&, const task& t) {
  const auto cmd = command_of(t);
  return exited(0, cmd.substr(cmd.find(' ') + 1));
}

TEST(operator_parameters, arguments_reach_the_entrypoint_inputs) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: say
  arguments: {parameters: [{name: who, value: world}]}
  templates:
    - name: say
      inputs: {parameters: [{name: who}]}
      container: {image: x, command: [echo], args: ["hello {{inputs.parameters.who}}"]}
)"));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(command_of(out.launches[0]), "echo hello world");
  EXPECT_EQ(h.node("wf")["inputs"]["parameters"][0]["value"], "world");
}

TEST(operator_parameters, input_defaults_enum_and_workflow_variables) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf, annotations: {a: b}}
spec:
  entrypoint: main
  arguments: {parameters: [{name: env, value: staging, enum: [staging, production]}]}
  templates:
    - name: main
      steps: [[{name: s, template: t}]]
    - name: t
      inputs:
        parameters:
          - {name: d, default: fallback}
          - {name: env, value: "{{workflow.parameters.env}}"}
      container: {image: x, command: [echo, "{{inputs.parameters.d}} {{inputs.parameters.env}} {{workflow.name}} {{workflow.namespace}} {{workflow.uid}} {{workflow.creationTimestamp.Y}}-{{workflow.creationTimestamp.m}} {{workflow.annotations.a}}"]}
)"));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(command_of(out.launches[0]), "echo fallback staging wf default uid-1 2024-01 b");
}

TEST(operator_parameters, argument_outside_the_enum_is_rejected) {
  harness h;
  auto r = h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: t
  arguments: {parameters: [{name: env, value: qa, enum: [staging, production]}]}
  templates:
    - name: t
      container: {image: x, command: ["true"]}
)");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("qa"), std::string::npos);
}

TEST(operator_parameters, output_parameters_from_path_default_and_global_name) {
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
          - {name: produce, template: produce}
          - name: consume
            depends: produce
            template: echo
            arguments: {parameters: [{name: v, value: "{{tasks.produce.outputs.parameters.version}} {{tasks.produce.outputs.parameters.absent}} {{tasks.produce.status}} {{tasks.produce.exitCode}}"}]}
    - name: produce
      container: {image: x, command: ["true"]}
      outputs:
        parameters:
          - {name: version, globalName: release, valueFrom: {path: /tmp/version}}
          - {name: absent, valueFrom: {path: /tmp/none, default: missing}}
    - name: echo
      inputs: {parameters: [{name: v}]}
      container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
)"));
  std::vector<output_parameter_file> asked;
  EXPECT_EQ(h.run([&](const std::string& d, const task& t) {
    if (d == "produce") {
      asked = t.output_parameters;
      auto o = exited(0);
      o.parameters["version"] = "v1.2.3";
      o.parameters["absent"] = std::nullopt;
      return o;
    }
    return echo(d, t);
  }),
            "Succeeded");
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0].path, "/tmp/version");
  EXPECT_EQ(h.result_of("consume"), "v1.2.3 missing Succeeded 0");
  auto globals = h.wf()["status"]["outputs"]["parameters"];
  ASSERT_EQ(globals.size(), 1u);
  EXPECT_EQ(globals[0]["name"], "release");
  EXPECT_EQ(globals[0]["value"], "v1.2.3");
}

TEST(operator_parameters, missing_output_file_without_default_errors_the_node) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: t
  templates:
    - name: t
      container: {image: x, command: ["true"]}
      outputs: {parameters: [{name: p, valueFrom: {path: /tmp/p}}]}
)"));
  EXPECT_EQ(h.run(), "Error");
  EXPECT_NE(h.node("wf")["message"].get<std::string>().find("/tmp/p"), std::string::npos);
}

TEST(operator_parameters, value_from_expression_sees_the_result) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: t
  templates:
    - name: t
      container: {image: x, command: ["true"]}
      outputs: {parameters: [{name: doubled, valueFrom: {expression: "asInt(outputs.result) * 2"}}]}
)"));
  EXPECT_EQ(h.run([](const std::string&, const task&) { return exited(0, "21"); }), "Succeeded");
  EXPECT_EQ(h.node("wf")["outputs"]["parameters"][0]["value"], "42");
}

TEST(operator_parameters, expression_tags_are_evaluated) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  arguments: {parameters: [{name: name, value: kairos}]}
  templates:
    - name: main
      dag:
        tasks:
          - {name: numbers, template: t}
          - name: compute
            depends: numbers
            template: echo
            arguments: {parameters: [{name: v, value: "{{=asInt(tasks.numbers.outputs.result) * 2}} {{=sprig.upper(workflow.parameters.name)}}"}]}
    - name: t
      container: {image: x, command: ["true"]}
    - name: echo
      inputs: {parameters: [{name: v}]}
      container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
)"));
  EXPECT_EQ(h.run([](const std::string& d, const task& t) {
    return d == "numbers" ? exited(0, "7") : echo(d, t);
  }),
            "Succeeded");
  EXPECT_EQ(h.result_of("compute"), "14 KAIROS");
}

TEST(operator_parameters, invalid_expression_tag_errors_the_node) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: t
  templates:
    - name: t
      container: {image: x, command: [echo, "{{=1 +* 2}}"]}
)"));
  EXPECT_EQ(h.run(), "Error");
  EXPECT_TRUE(h.launched.empty());
  EXPECT_NE(h.node("wf").value("message", "").find("expression"), std::string::npos)
      << h.node("wf").dump();
}

TEST(operator_parameters, undefined_variable_errors_the_node_naming_it) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: a, template: echo, arguments: {parameters: [{name: v, value: "{{steps.ghost.outputs.result}}"}]}}]]
    - name: echo
      inputs: {parameters: [{name: v}]}
      container: {image: x, command: [echo, "{{inputs.parameters.v}}"]}
)"));
  EXPECT_NE(h.run(), "Succeeded");
  EXPECT_NE(h.node("a").value("message", "").find("steps.ghost.outputs.result"), std::string::npos)
      << h.node("a").dump();
}

TEST(operator_parameters, artifacts_flow_from_outputs_to_inputs) {
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
          - {name: build, template: build}
          - name: inspect
            depends: build
            template: inspect
            arguments: {artifacts: [{name: dist, from: "{{tasks.build.outputs.artifacts.dist}}"}]}
    - name: build
      container: {image: x, command: ["true"]}
      outputs: {artifacts: [{name: dist, path: out, globalName: the-dist}]}
    - name: inspect
      inputs:
        artifacts:
          - {name: dist, path: in/dist}
          - {name: settings, path: in/s.txt, raw: {data: "config=debug"}}
      container: {image: x, command: ["true"]}
)"));
  task inspect;
  EXPECT_EQ(h.run([&](const std::string& d, const task& t) {
    auto o = exited(0);
    if (d == "build") {
      EXPECT_EQ(t.output_artifacts.size(), 1u);
      o.artifacts.push_back({"dist", "uid-1/build/dist.tgz", true});
    } else {
      inspect = t;
    }
    return o;
  }),
            "Succeeded");
  ASSERT_EQ(inspect.input_artifacts.size(), 2u);
  EXPECT_EQ(inspect.input_artifacts[0].repository_key, "uid-1/build/dist.tgz");
  EXPECT_EQ(inspect.input_artifacts[0].path, "in/dist");
  EXPECT_EQ(inspect.input_artifacts[1].raw, "config=debug");
  EXPECT_EQ(h.wf()["status"]["outputs"]["artifacts"][0]["name"], "the-dist");
}

}  // namespace
}  // namespace kairos::engine::testing
