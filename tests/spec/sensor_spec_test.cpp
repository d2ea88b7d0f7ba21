// Sensor specs: dependencies, filters, triggers and parameters load into
// typed values, and semantic mistakes are reported where they are written.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "kairos/spec/loader.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::spec {
namespace {

using namespace std::chrono_literals;

// Five header lines, so the spec body starts on line 6.
std::string sensor(std::string_view body) {
  return std::string(
             "apiVersion: argoproj.io/v1alpha1\n"
             "kind: Sensor\n"
             "metadata:\n"
             "  name: ci\n"
             "spec:\n") +
         std::string(body);
}

// Lines 6-9; triggers start on line 10.
constexpr std::string_view push_dependency = R"(  dependencies:
    - name: push
      eventSourceName: ci
      eventName: ci
)";

std::string with_push(std::string_view triggers) {
  return sensor(std::string(push_dependency) + std::string(triggers));
}

const sensor_spec& spec_of(const load_result& r) {
  return std::get<sensor_spec>(r.resources.at(0).spec);
}

std::string errors(const load_result& r) {
  return to_string(r.diagnostics);
}

testing::AssertionResult has_error(const load_result& r, std::string_view text) {
  for (const auto& d : r.diagnostics)
    if (d.to_string().find(text) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "no diagnostic contains \"" << text << "\"; got:\n"
                                     << errors(r);
}

constexpr std::string_view github_ci_sensor = R"(  dependencies:
    - name: push
      eventSourceName: ci
      eventName: ci
      filters:
        data:
          - path: headers.X-Github-Event
            type: string
            value: [push]
          - path: body.ref
            type: string
            value: ["refs/heads/main", "refs/heads/release-.*"]
        dataLogicalOperator: and
  triggers:
    - template:
        name: build
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata:
                generateName: build-
              spec:
                workflowTemplateRef:
                  name: ci-build
                arguments:
                  parameters:
                    - name: ref
                    - name: sha
          parameters:
            - src:
                dependencyName: push
                dataKey: body.ref
              dest: spec.arguments.parameters.0.value
            - src:
                dependencyName: push
                dataKey: body.after
              dest: spec.arguments.parameters.1.value
      retryStrategy:
        steps: 3
        duration: 5s
)";

TEST(sensor_spec, github_ci_sensor_loads_filters_and_workflow_parameters) {
  auto r = load_text(sensor(github_ci_sensor), "sensor.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& spec = spec_of(r);
  ASSERT_EQ(spec.dependencies.size(), 1u);
  const auto& dep = spec.dependencies[0];
  EXPECT_EQ(dep.name, "push");
  EXPECT_EQ(dep.event_source_name, "ci");
  EXPECT_EQ(dep.event_name, "ci");
  ASSERT_TRUE(dep.filters.has_value());
  ASSERT_EQ(dep.filters->data.size(), 2u);
  EXPECT_EQ(dep.filters->data[0].path, "headers.X-Github-Event");
  EXPECT_EQ(dep.filters->data[0].type, json_type::string);
  EXPECT_EQ(dep.filters->data[0].comparator_, comparator::equal);
  EXPECT_EQ(dep.filters->data[1].value,
            (std::vector<std::string>{"refs/heads/main", "refs/heads/release-.*"}));
  EXPECT_EQ(dep.filters->data_logical_operator, logical_operator::and_);
  EXPECT_EQ(dep.filters_logical_operator, logical_operator::and_);

  ASSERT_EQ(spec.triggers.size(), 1u);
  const auto& t = spec.triggers[0];
  EXPECT_EQ(t.template_.name, "build");
  EXPECT_EQ(t.template_.type(), trigger_type::argo_workflow);
  EXPECT_TRUE(t.at_least_once);
  ASSERT_TRUE(t.template_.argo_workflow.has_value());
  const auto& wf = *t.template_.argo_workflow;
  EXPECT_EQ(wf.operation, argo_workflow_operation::submit);
  EXPECT_EQ(wf.source.resource["kind"], "Workflow");
  EXPECT_EQ(wf.source.resource["spec"]["workflowTemplateRef"]["name"], "ci-build");
  ASSERT_EQ(wf.parameters.size(), 2u);
  EXPECT_EQ(wf.parameters[0].src.dependency_name, "push");
  EXPECT_EQ(wf.parameters[0].src.data_key, "body.ref");
  EXPECT_EQ(wf.parameters[0].dest, "spec.arguments.parameters.0.value");
  EXPECT_EQ(wf.parameters[0].operation, trigger_parameter_operation::overwrite);
  EXPECT_EQ(wf.parameters[1].src.data_key, "body.after");
  EXPECT_EQ(wf.parameters[1].dest, "spec.arguments.parameters.1.value");
  ASSERT_TRUE(t.retry_strategy.has_value());
  EXPECT_EQ(t.retry_strategy->steps, 3);
  EXPECT_EQ(t.retry_strategy->duration, std::chrono::nanoseconds(5s));
}

TEST(sensor_spec, inline_source_is_parsed_into_the_resource) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: build
        argoWorkflow:
          source:
            inline: |
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {generateName: build-}
              spec: {workflowTemplateRef: {name: ci-build}}
)"),
                     "sensor.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& wf = *spec_of(r).triggers[0].template_.argo_workflow;
  EXPECT_EQ(wf.source.resource["metadata"]["generateName"], "build-");
}

TEST(sensor_spec, http_trigger_loads_with_argo_defaults) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: notify
        conditions: push
        http:
          url: https://ci.example.com:8443/hooks/build
          payload:
            - src: {dependencyName: push, dataKey: body.after}
              dest: sha
          headers: {Content-Type: application/json}
          secureHeaders:
            - name: Authorization
              valueFrom:
                secretKeyRef: {name: ci, key: token}
          basicAuth:
            username: {name: ci, key: user}
            password: {name: ci, key: password}
      policy:
        status:
          allow: [200, 201]
      rateLimit:
        unit: Minute
        requestsPerUnit: 10
      atLeastOnce: false
)"),
                     "sensor.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& t = spec_of(r).triggers[0];
  ASSERT_TRUE(t.template_.http.has_value());
  const auto& http = *t.template_.http;
  EXPECT_EQ(t.template_.type(), trigger_type::http);
  EXPECT_EQ(http.url, "https://ci.example.com:8443/hooks/build");
  EXPECT_EQ(http.method, "POST");
  EXPECT_EQ(http.timeout_seconds, 60);
  ASSERT_EQ(http.payload.size(), 1u);
  EXPECT_EQ(http.payload[0].dest, "sha");
  EXPECT_EQ(http.headers.at("Content-Type"), "application/json");
  ASSERT_EQ(http.secure_headers.size(), 1u);
  EXPECT_EQ(http.secure_headers[0].name, "Authorization");
  EXPECT_EQ(http.secure_headers[0].secret_key_ref.key, "token");
  ASSERT_TRUE(http.basic_auth_ && http.basic_auth_->password);
  EXPECT_EQ(http.basic_auth_->password->key, "password");
  ASSERT_TRUE(t.policy && t.policy->status);
  EXPECT_EQ(t.policy->status->allow, (std::vector<std::int32_t>{200, 201}));
  ASSERT_TRUE(t.rate_limit_.has_value());
  EXPECT_EQ(t.rate_limit_->unit, rate_limit_unit::minute);
  EXPECT_EQ(t.rate_limit_->requests_per_unit, 10);
  EXPECT_FALSE(t.at_least_once);
  EXPECT_EQ(t.template_.conditions, "push");
}

TEST(sensor_spec, http_url_must_be_absolute) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: notify
        http:
          url: /hooks/build
)"),
                     "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "sensor.yaml:14:16: spec.triggers[0].template.http.url: not an absolute URL");
}

TEST(sensor_spec, http_method_outside_argos_set_lists_the_choices) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: notify
        http:
          url: http://localhost/x
          method: TRACE
)"),
                     "sensor.yaml");
  EXPECT_EQ(errors(r),
            "sensor.yaml:15:19: spec.triggers[0].template.http.method: 'TRACE' is not one of POST, "
            "GET, PUT, PATCH, DELETE");
}

TEST(sensor_spec, log_and_kafka_triggers_load) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: log
        log: {intervalSeconds: 30}
    - template:
        name: forward
        kafka:
          url: kafka:9092
          topic: builds
          partition: 1
          requiredAcks: 1
          compress: true
          payload:
            - src: {dependencyName: push, dataKey: body}
              dest: event
          sasl:
            userSecret: {name: kafka, key: user}
            passwordSecret: {name: kafka, key: password}
          version: "2.5.0"
)"),
                     "sensor.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& spec = spec_of(r);
  ASSERT_EQ(spec.triggers.size(), 2u);
  EXPECT_EQ(spec.triggers[0].template_.type(), trigger_type::log);
  EXPECT_EQ(spec.triggers[0].template_.log->interval_seconds, 30u);
  const auto& k = *spec.triggers[1].template_.kafka;
  EXPECT_EQ(k.topic, "builds");
  EXPECT_EQ(k.partition, 1);
  EXPECT_EQ(k.required_acks, 1);
  EXPECT_EQ(k.flush_frequency_ms, 500);
  EXPECT_TRUE(k.compress);
  EXPECT_EQ(k.sasl->mechanism, sasl_mechanism::plain);
}

TEST(sensor_spec, conditions_naming_an_unknown_dependency_suggest_the_closest) {
  auto r = load_text(with_push(R"yaml(  triggers:
    - template:
        name: build
        conditions: "psuh && (push || push)"
        log: {}
)yaml"),
                     "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "sensor.yaml:13:21: spec.triggers[0].template.conditions: unknown dependency 'psuh' "
            "(did you mean 'push'?)");
}

TEST(sensor_spec, malformed_conditions_are_rejected) {
  for (std::string_view bad : {"push &&", "(push || push", "push push", "push & push", "|| push"}) {
    auto r = load_text(with_push("  triggers:\n    - template:\n        name: build\n"
                                 "        log: {}\n        conditions: \"" +
                                 std::string(bad) + "\"\n"),
                       "sensor.yaml");
    EXPECT_TRUE(has_error(
        r, "sensor.yaml:14:21: spec.triggers[0].template.conditions: invalid conditions:"))
        << bad;
  }
}

TEST(sensor_spec, parameter_from_unknown_dependency_is_reported_at_its_name) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: build
        log: {}
      parameters:
        - src: {dependencyName: pull, dataKey: body.ref}
          dest: x
)"),
                     "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "sensor.yaml:15:33: spec.triggers[0].parameters[0].src.dependencyName: unknown "
            "dependency 'pull' (did you mean 'push'?)");
}

TEST(sensor_spec, duplicate_dependency_and_trigger_names_are_rejected) {
  auto r = load_text(sensor(R"(  dependencies:
    - name: push
      eventSourceName: ci
      eventName: ci
    - name: push
      eventSourceName: ci
      eventName: other
  triggers:
    - template: {name: build, log: {}}
    - template: {name: build, log: {}}
)"),
                     "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "sensor.yaml:10:13: spec.dependencies[1].name: duplicate dependency name 'push' (also "
            "at index 0)\n"
            "sensor.yaml:15:24: spec.triggers[1].template.name: duplicate trigger name 'build' "
            "(also at index 0)");
}

TEST(sensor_spec, a_sensor_needs_dependencies_and_triggers) {
  auto r = load_text(sensor("  dependencies: []\n  triggers: []\n"), "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "sensor.yaml:6:17: spec.dependencies: at least one dependency is required\n"
            "sensor.yaml:7:13: spec.triggers: at least one trigger is required");
}

TEST(sensor_spec, template_needs_exactly_one_trigger_type) {
  auto none = load_text(with_push(R"(  triggers:
    - template:
        name: build
)"),
                        "sensor.yaml");
  EXPECT_EQ(
      errors(none),
      "sensor.yaml:12:9: spec.triggers[0].template: a trigger type is required (argoWorkflow, "
      "k8s, http, log or kafka)");
  auto two = load_text(with_push(R"(  triggers:
    - template:
        name: build
        log: {}
        http: {url: "http://localhost/x"}
)"),
                       "sensor.yaml");
  EXPECT_EQ(errors(two),
            "sensor.yaml:14:15: spec.triggers[0].template.http: a template has exactly one trigger "
            "type; 'log' is already set");
}

TEST(sensor_spec, unsupported_trigger_type_says_not_supported) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: build
        awsLambda:
          functionName: f
          region: us-east-1
)"),
                     "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      errors(r),
      "sensor.yaml:14:11: spec.triggers[0].template.awsLambda: not supported by kairos: kairos "
      "runs argoWorkflow, k8s, http, log and kafka triggers");
}

TEST(sensor_spec, k8s_trigger_creates_workflows_only) {
  auto patch = load_text(with_push(R"(  triggers:
    - template:
        name: build
        k8s:
          operation: patch
          source:
            resource: {apiVersion: v1, kind: ConfigMap}
)"),
                         "sensor.yaml");
  EXPECT_TRUE(
      has_error(patch,
                "sensor.yaml:14:22: spec.triggers[0].template.k8s.operation: 'patch' is not "
                "supported by kairos (supported: create)"));
  EXPECT_TRUE(
      has_error(patch,
                "sensor.yaml:16:46: spec.triggers[0].template.k8s.source.resource.kind: kairos "
                "triggers Workflows only, got kind 'ConfigMap'"));

  auto create = load_text(with_push(R"(  triggers:
    - template:
        name: build
        k8s:
          operation: create
          source:
            resource: {apiVersion: argoproj.io/v1alpha1, kind: Workflow, spec: {}}
)"),
                          "sensor.yaml");
  ASSERT_TRUE(create.ok()) << errors(create);
  EXPECT_EQ(spec_of(create).triggers[0].template_.k8s->operation, k8s_operation::create);
}

TEST(sensor_spec, argo_workflow_without_source_resource_is_rejected) {
  auto r = load_text(with_push(R"(  triggers:
    - template:
        name: build
        argoWorkflow:
          source:
            git: {url: "https://github.com/acme/ci"}
)"),
                     "sensor.yaml");
  EXPECT_TRUE(
      has_error(r, "spec.triggers[0].template.argoWorkflow.source.git: not supported by kairos"));
  EXPECT_TRUE(has_error(
      r, "spec.triggers[0].template.argoWorkflow.source.resource: required field is missing"));
}

TEST(sensor_spec, bad_comparator_and_type_list_the_choices) {
  auto r = load_text(sensor(R"(  dependencies:
    - name: push
      eventSourceName: ci
      eventName: ci
      filters:
        data:
          - path: body.count
            type: int
            value: ["3"]
            comparator: "=>"
  triggers:
    - template: {name: build, log: {}}
)"),
                     "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      errors(r),
      "sensor.yaml:13:19: spec.dependencies[0].filters.data[0].type: 'int' is not one of "
      "string, number, bool\n"
      "sensor.yaml:15:25: spec.dependencies[0].filters.data[0].comparator: '=>' is not one of "
      ">=, >, =, !=, <, <= (did you mean >?)");
}

TEST(sensor_spec, number_filter_values_must_be_numbers) {
  auto r = load_text(sensor(R"(  dependencies:
    - name: push
      eventSourceName: ci
      eventName: ci
      filters:
        data:
          - {path: body.count, type: number, value: ["3", "many"], comparator: ">"}
        time: {start: "09:00:00", stop: "25:00"}
  triggers:
    - template: {name: build, log: {}}
)"),
                     "sensor.yaml");
  EXPECT_TRUE(has_error(r, "spec.dependencies[0].filters.data[0].value: 'many' is not a number"));
  EXPECT_TRUE(
      has_error(r, "spec.dependencies[0].filters.time.stop: expected HH:MM:SS, got '25:00'"));
}

TEST(sensor_spec, filters_and_logical_operators_load) {
  auto r = load_text(sensor(R"(  dependencies:
    - name: push
      eventSourceName: ci
      eventName: ci
      filtersLogicalOperator: or
      filters:
        exprs:
          - expr: a == "x" || b > 2
            fields:
              - {name: a, path: body.a}
              - {name: b, path: body.b}
        exprLogicalOperator: or
        context: {type: github, subject: ci}
        time: {start: "09:00:00", stop: "17:30:00", timezone: America/New_York}
  triggers:
    - template: {name: build, log: {}}
)"),
                     "sensor.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& dep = spec_of(r).dependencies[0];
  EXPECT_EQ(dep.filters_logical_operator, logical_operator::or_);
  ASSERT_EQ(dep.filters->exprs.size(), 1u);
  EXPECT_EQ(dep.filters->exprs[0].fields[1].path, "body.b");
  EXPECT_EQ(dep.filters->expr_logical_operator, logical_operator::or_);
  EXPECT_EQ(dep.filters->context->subject, "ci");
  EXPECT_EQ(dep.filters->time->start_of_day, 9h);
  EXPECT_EQ(dep.filters->time->stop_of_day, 17h + 30min);
  EXPECT_EQ(dep.filters->time->timezone, "America/New_York");
}

TEST(sensor_spec, unknown_sensor_field_suggests_the_closest_known_one) {
  auto r = load_text(sensor(R"(  dependencies:
    - name: push
      eventSourceName: ci
      evnetName: ci
  triggers:
    - template: {name: build, log: {}}
)"),
                     "sensor.yaml");
  EXPECT_TRUE(
      has_error(r,
                "sensor.yaml:9:7: spec.dependencies[0].evnetName: unknown field 'evnetName' "
                "(did you mean 'eventName'?)"));
}

TEST(sensor_spec, deployment_fields_are_ignored_and_script_filters_unsupported) {
  auto r = load_text(sensor(R"(  eventBusName: default
  replicas: 1
  revisionHistoryLimit: 3
  loggingFields: {app: ci}
  template: {serviceAccountName: sa}
  errorOnFailedRound: true
  dependencies:
    - name: push
      eventSourceName: ci
      eventName: ci
      filters:
        script: "return true"
  triggers:
    - template: {name: build, log: {}}
)"),
                     "sensor.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      errors(r),
      "sensor.yaml:17:17: spec.dependencies[0].filters.script: not supported by kairos: kairos "
      "has no Lua runtime; use exprs");
}

TEST(sensor_spec, malformed_shapes_are_reported_not_crashed_on) {
  for (std::string_view body : {
           "  dependencies: push\n  triggers: {}\n",
           "  dependencies: [[1]]\n  triggers: [name]\n",
           "  dependencies:\n    - name: [a]\n  triggers:\n    - template: 3\n",
           "  dependencies:\n    - {name: a, eventSourceName: b, eventName: c, filters: [1]}\n"
           "  triggers:\n    - template: {name: t, conditions: [a], argoWorkflow: {source: 1}}\n"
           "      parameters: {src: 1}\n      retryStrategy: {duration: [1], factor: x}\n",
           "  dependencies:\n    - {name: a, eventSourceName: b, eventName: c}\n"
           "  triggers:\n    - template: {name: t, argoWorkflow: {source: {inline: \"{{\"}}}}\n",
       }) {
    auto r = load_text(sensor(body), "sensor.yaml");
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_FALSE(r.diagnostics.empty()) << body;
  }
}

}  // namespace
}  // namespace kairos::spec
