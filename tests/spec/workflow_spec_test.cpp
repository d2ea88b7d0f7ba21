// Workflow, WorkflowTemplate and ClusterWorkflowTemplate specs: what loads
// into which fields, and the errors a wrong manifest gets.
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kairos/spec/loader.hpp"

namespace kairos::spec {
namespace {

using ::testing::HasSubstr;

const workflow_spec& only_workflow(const load_result& r) {
  EXPECT_TRUE(r.ok()) << to_string(r.diagnostics);
  EXPECT_EQ(r.resources.size(), 1u);
  static const workflow_spec empty;
  if (r.resources.size() != 1) return empty;
  return std::get<workflow_spec>(r.resources[0].spec);
}

std::vector<std::string> messages(const load_result& r) {
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(d.to_string());
  return out;
}

// A CI pipeline of the kind GitHub-triggered builds use: parameters, a
// shared scratch volume, retries with backoff, a conditional task, fan-out,
// a reusable template by reference and an exit handler.
constexpr const char* ci_dag = R"yaml(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: ci-
  labels:
    team: platform
spec:
  entrypoint: pipeline
  onExit: notify
  parallelism: 4
  activeDeadlineSeconds: 3600
  serviceAccountName: ci-runner
  arguments:
    parameters:
      - name: revision
        value: main
      - name: replicas
        value: 3
  volumes:
    - name: workspace
      emptyDir: {}
    - name: cache
      emptyDir:
        medium: Memory
        sizeLimit: 1Gi
  nodeSelector:
    kubernetes.io/os: linux
  templates:
    - name: pipeline
      dag:
        failFast: false
        tasks:
          - name: checkout
            template: git-clone
            arguments:
              parameters:
                - name: rev
                  value: "{{workflow.parameters.revision}}"
          - name: unit
            template: run
            depends: checkout
            withItems: [lint, test, {suite: e2e, shards: 2}]
          - name: publish
            templateRef:
              name: shared-steps
              template: push-image
              clusterScope: true
            depends: "unit.Succeeded || unit.Failed"
            when: "{{workflow.parameters.revision}} == main"
            continueOn:
              failed: true
          - name: count
            template: run
            depends: checkout
            withSequence:
              count: "5"
              format: "shard-%02d"
    - name: git-clone
      inputs:
        parameters:
          - name: rev
            default: main
            enum: [main, release]
      retryStrategy:
        limit: "3"
        retryPolicy: OnError
        backoff:
          duration: 10s
          factor: 2
          maxDuration: 2m
      container:
        image: alpine/git
        command: [git, clone]
        args: ["--branch", "{{inputs.parameters.rev}}", "https://example.com/repo.git", /src]
        workingDir: /src
        env:
          - name: GIT_TOKEN
            valueFrom:
              secretKeyRef:
                name: git-credentials
                key: token
          - name: DEPTH
            value: "1"
        volumeMounts:
          - name: workspace
            mountPath: /src
        resources:
          limits:
            cpu: 500m
      outputs:
        parameters:
          - name: sha
            valueFrom:
              path: /src/.git/HEAD
              default: unknown
        artifacts:
          - name: source
            path: /src
            mode: 0755
            archive:
              none: {}
    - name: run
      timeout: 10m
      activeDeadlineSeconds: "{{inputs.parameters.deadline}}"
      script:
        image: python:3.12
        command: [python]
        source: |
          print("running")
        volumeMounts:
          - name: cache
            mountPath: /cache
            readOnly: true
    - name: notify
      http:
        url: https://hooks.example.com/ci
        method: POST
        timeoutSeconds: 20
        successCondition: response.statusCode == 200
        headers:
          - name: Authorization
            valueFrom:
              secretKeyRef:
                name: hooks
                key: token
        body: '{"status": "{{workflow.status}}"}'
)yaml";

TEST(workflow_spec, dag_workflow_loads_into_typed_fields) {
  auto r = load_text(ci_dag, "ci.yaml");
  const auto& wf = only_workflow(r);
  ASSERT_EQ(wf.templates.size(), 4u);
  EXPECT_EQ(wf.entrypoint, "pipeline");
  EXPECT_EQ(wf.on_exit, "notify");
  EXPECT_EQ(wf.parallelism, 4);
  EXPECT_EQ(wf.active_deadline_seconds, 3600);
  EXPECT_EQ(wf.service_account_name, "ci-runner");
  ASSERT_EQ(wf.arguments.parameters.size(), 2u);
  EXPECT_EQ(wf.arguments.parameters[1].value, "3");  // YAML numbers become strings
  ASSERT_EQ(wf.volumes.size(), 2u);
  ASSERT_TRUE(wf.volumes[0].empty_dir.has_value());
  EXPECT_EQ(wf.volumes[1].empty_dir->medium, "Memory");
  EXPECT_EQ(wf.volumes[1].empty_dir->size_limit, "1Gi");

  const auto* pipeline = wf.find_template("pipeline");
  ASSERT_NE(pipeline, nullptr);
  ASSERT_TRUE(pipeline->dag.has_value());
  const auto& tasks = pipeline->dag->tasks;
  ASSERT_EQ(tasks.size(), 4u);
  EXPECT_EQ(pipeline->dag->fail_fast, false);
  EXPECT_EQ(tasks[0].arguments.parameters[0].value, "{{workflow.parameters.revision}}");
  EXPECT_EQ(tasks[1].depends, "checkout");
  ASSERT_EQ(tasks[1].with_items.size(), 3u);
  EXPECT_EQ(tasks[1].with_items[0], "lint");
  EXPECT_EQ(tasks[1].with_items[2]["shards"], 2);
  ASSERT_TRUE(tasks[2].template_ref.has_value());
  EXPECT_EQ(tasks[2].template_ref->name, "shared-steps");
  EXPECT_EQ(tasks[2].template_ref->template_, "push-image");
  EXPECT_TRUE(tasks[2].template_ref->cluster_scope);
  EXPECT_EQ(tasks[2].when, "{{workflow.parameters.revision}} == main");
  ASSERT_TRUE(tasks[2].continue_on.has_value());
  EXPECT_TRUE(tasks[2].continue_on->failed);
  EXPECT_FALSE(tasks[2].continue_on->error);
  EXPECT_EQ(tasks[3].depends, "checkout");
  ASSERT_TRUE(tasks[3].with_sequence.has_value());
  EXPECT_EQ(tasks[3].with_sequence->count, "5");
  EXPECT_EQ(tasks[3].with_sequence->format, "shard-%02d");

  const auto* clone = wf.find_template("git-clone");
  ASSERT_NE(clone, nullptr);
  ASSERT_TRUE(clone->container.has_value());
  EXPECT_EQ(clone->container->image, "alpine/git");
  EXPECT_EQ(clone->container->args[1], "{{inputs.parameters.rev}}");
  EXPECT_EQ(clone->container->working_dir, "/src");
  ASSERT_EQ(clone->container->env.size(), 2u);
  ASSERT_TRUE(clone->container->env[0].value_from.has_value());
  EXPECT_EQ(clone->container->env[0].value_from->secret_key_ref->name, "git-credentials");
  EXPECT_EQ(clone->container->env[0].value_from->secret_key_ref->key, "token");
  EXPECT_EQ(clone->container->env[1].value, "1");
  EXPECT_EQ(clone->container->volume_mounts[0].mount_path, "/src");
  EXPECT_EQ(clone->inputs.parameters[0].default_, "main");
  EXPECT_EQ(clone->inputs.parameters[0].enum_, (std::vector<std::string>{"main", "release"}));
  ASSERT_TRUE(clone->retry_strategy.has_value());
  EXPECT_EQ(clone->retry_strategy->limit, "3");
  EXPECT_EQ(clone->retry_strategy->retry_policy, "OnError");
  EXPECT_EQ(clone->retry_strategy->backoff->duration, "10s");
  EXPECT_EQ(clone->retry_strategy->backoff->factor, "2");
  EXPECT_EQ(clone->retry_strategy->backoff->max_duration, "2m");
  EXPECT_EQ(clone->outputs.parameters[0].value_from->path, "/src/.git/HEAD");
  EXPECT_EQ(clone->outputs.parameters[0].value_from->default_, "unknown");
  EXPECT_EQ(clone->outputs.artifacts[0].mode, 0755);  // octal, as Kubernetes reads it
  EXPECT_TRUE(clone->outputs.artifacts[0].archive->none);

  const auto* run = wf.find_template("run");
  ASSERT_NE(run, nullptr);
  ASSERT_TRUE(run->script.has_value());
  EXPECT_EQ(run->script->source, "print(\"running\")\n");
  EXPECT_EQ(run->script->command, std::vector<std::string>{"python"});
  EXPECT_TRUE(run->script->volume_mounts[0].read_only);
  EXPECT_EQ(run->timeout, "10m");
  EXPECT_EQ(run->active_deadline_seconds, "{{inputs.parameters.deadline}}");

  const auto* notify = wf.find_template("notify");
  ASSERT_NE(notify, nullptr);
  ASSERT_TRUE(notify->http.has_value());
  EXPECT_EQ(notify->http->method, "POST");
  EXPECT_EQ(notify->http->timeout_seconds, 20);
  EXPECT_EQ(notify->http->headers[0].secret_key_ref->name, "hooks");
  EXPECT_EQ(notify->http->body, "{\"status\": \"{{workflow.status}}\"}");
}

// Like the data-pipeline tutorials: steps share files through an emptyDir
// volume, a step is conditional, a suspend waits, and an exit handler runs.
constexpr const char* etl_steps = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: nightly-etl
  namespace: data
spec:
  entrypoint: etl
  onExit: cleanup
  volumes:
  - name: scratch
    emptyDir: {}
  templates:
  - name: etl
    steps:
    - - name: extract
        template: sh
        arguments:
          parameters:
          - name: cmd
            value: "echo rows > /work/rows.txt"
    - - name: transform-a
        template: sh
        arguments:
          parameters:
          - {name: cmd, value: "wc -l /work/rows.txt"}
      - name: transform-b
        template: sh
        when: "{{steps.extract.status}} == Succeeded"
        arguments:
          parameters:
          - {name: cmd, value: "true"}
    - - name: wait
        template: pause
  - name: sh
    inputs:
      parameters:
      - name: cmd
    retryStrategy:
      limit: 2
      backoff:
        duration: "5"
        factor: "2"
    container:
      image: alpine:3.19
      command: [sh, -c]
      args: ["{{inputs.parameters.cmd}}"]
      volumeMounts:
      - name: scratch
        mountPath: /work
  - name: pause
    suspend:
      duration: 1m
  - name: cleanup
    container:
      image: alpine:3.19
      command: [rm, -rf, /work]
      volumeMounts:
      - {name: scratch, mountPath: /work}
)";

TEST(workflow_spec, steps_workflow_with_shared_volume_loads) {
  auto r = load_text(etl_steps, "etl.yaml");
  const auto& wf = only_workflow(r);
  ASSERT_EQ(r.resources.size(), 1u);
  EXPECT_EQ(r.resources[0].metadata.namespace_, "data");
  const auto* etl = wf.find_template("etl");
  ASSERT_NE(etl, nullptr);
  ASSERT_TRUE(etl->steps.has_value());
  ASSERT_EQ(etl->steps->size(), 3u);
  ASSERT_EQ((*etl->steps)[1].size(), 2u);
  EXPECT_EQ((*etl->steps)[1][1].name, "transform-b");
  EXPECT_EQ((*etl->steps)[1][1].when, "{{steps.extract.status}} == Succeeded");
  EXPECT_EQ((*etl->steps)[1][0].arguments.parameters[0].value, "wc -l /work/rows.txt");
  const auto* pause = wf.find_template("pause");
  ASSERT_NE(pause, nullptr);
  ASSERT_TRUE(pause->suspend.has_value());
  EXPECT_EQ(pause->suspend->duration, "1m");
  EXPECT_EQ(wf.find_template("sh")->retry_strategy->backoff->duration, "5");
  EXPECT_EQ(wf.find_template("sh")->retry_strategy->limit, "2");
}

constexpr const char* library = R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: build-steps
spec:
  templates:
    - name: build
      inputs:
        parameters:
          - name: image
      container:
        image: "{{inputs.parameters.image}}"
        command: [make]
)";

TEST(workflow_spec, workflow_template_may_be_a_library_without_entrypoint) {
  auto r = load_text(library, "lib.yaml");
  const auto& wf = only_workflow(r);
  EXPECT_EQ(r.resources[0].kind, kind::workflow_template);
  EXPECT_EQ(r.resources[0].metadata.namespace_, "default");
  EXPECT_TRUE(wf.entrypoint.empty());
  EXPECT_EQ(wf.templates[0].name, "build");
}

TEST(workflow_spec, cluster_workflow_template_has_no_namespace) {
  std::string text = library;
  text.replace(text.find("WorkflowTemplate"), 16, "ClusterWorkflowTemplate");
  auto r = load_text(text, "lib.yaml");
  only_workflow(r);
  ASSERT_EQ(r.resources.size(), 1u);
  EXPECT_EQ(r.resources[0].kind, kind::cluster_workflow_template);
  EXPECT_TRUE(r.resources[0].metadata.namespace_.empty());
}

TEST(workflow_spec, workflow_from_a_template_reference_needs_no_templates) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: from-ref-
spec:
  workflowTemplateRef:
    name: build-steps
    clusterScope: true
  arguments:
    parameters:
      - name: image
        value: alpine
)",
                     "ref.yaml");
  const auto& wf = only_workflow(r);
  ASSERT_TRUE(wf.workflow_template_ref.has_value());
  EXPECT_EQ(wf.workflow_template_ref->name, "build-steps");
  EXPECT_TRUE(wf.workflow_template_ref->cluster_scope);
  EXPECT_TRUE(wf.templates.empty());
}

TEST(workflow_spec, template_reference_and_templates_together_are_rejected) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: both
spec:
  workflowTemplateRef:
    name: build-steps
  templates:
    - name: main
      container: {image: alpine}
)",
                     "ref.yaml");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_THAT(
      r.diagnostics[0].to_string(),
      HasSubstr("ref.yaml:9:5: spec.templates: cannot be set together with workflowTemplateRef"));
}

TEST(workflow_spec, every_document_of_a_file_loads) {
  std::string text = std::string(library) + "---\n" + etl_steps;
  auto r = load_text(text, "all.yaml");
  ASSERT_TRUE(r.ok()) << to_string(r.diagnostics);
  ASSERT_EQ(r.resources.size(), 2u);
  EXPECT_EQ(r.resources[0].kind, kind::workflow_template);
  EXPECT_EQ(r.resources[1].kind, kind::workflow);
  EXPECT_EQ(r.resources[1].metadata.name, "nightly-etl");
}

TEST(workflow_spec, json_document_loads_like_yaml) {
  auto r = load_text(R"({
  "apiVersion": "argoproj.io/v1alpha1",
  "kind": "Workflow",
  "metadata": {"generateName": "hello-"},
  "spec": {
    "entrypoint": "main",
    "templates": [
      {"name": "main", "container": {"image": "alpine", "command": ["echo", "hi"]},
       "retryStrategy": {"limit": 2, "retryPolicy": "Always"}}
    ]
  }
})",
                     "hello.json");
  const auto& wf = only_workflow(r);
  ASSERT_EQ(wf.templates.size(), 1u);
  EXPECT_EQ(wf.templates[0].container->command, (std::vector<std::string>{"echo", "hi"}));
  EXPECT_EQ(wf.templates[0].retry_strategy->limit, "2");
}

// --- errors --------------------------------------------------------------------

constexpr const char* two_tasks = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: ci
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - name: build
            template: work
          - name: test
            template: work
            dependencies: [buidl]
    - name: work
      container:
        image: alpine
)";

TEST(workflow_spec_errors, unknown_dependency_names_the_task_and_a_likely_one) {
  auto r = load_text(two_tasks, "wf.yaml");
  EXPECT_THAT(messages(r), ::testing::ElementsAre(
                               "wf.yaml:15:28: spec.templates[0].dag.tasks[1].dependencies[0]: "
                               "unknown task 'buidl' (did you mean 'build'?)"));
  EXPECT_TRUE(r.resources.empty());
}

TEST(workflow_spec_errors, unknown_task_in_depends_expression_is_reported) {
  std::string text = two_tasks;
  text.replace(text.find("dependencies: [buidl]"), 21, "depends: \"build.Succeeded && lint\"");
  auto r = load_text(text, "wf.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre("wf.yaml:15:22: spec.templates[0].dag.tasks[1].depends: "
                                     "unknown task 'lint'"));
}

TEST(workflow_spec_errors, task_template_must_exist_in_the_workflow) {
  std::string text = two_tasks;
  text.replace(text.find("dependencies: [buidl]"), 21, "dependencies: [build]");
  text.replace(text.find("template: work"), 14, "template: wrok");
  auto r = load_text(text, "wf.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre("wf.yaml:12:23: spec.templates[0].dag.tasks[0].template: "
                                     "unknown template 'wrok' (did you mean 'work'?)"));
}

TEST(workflow_spec_errors, entrypoint_must_name_a_template) {
  std::string text = two_tasks;
  text.replace(text.find("dependencies: [buidl]"), 21, "dependencies: [build]");
  text.replace(text.find("entrypoint: main"), 16, "entrypoint: mian");
  auto r = load_text(text, "wf.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre(
                  "wf.yaml:6:15: spec.entrypoint: unknown template 'mian' (did you mean 'main'?)"));
}

TEST(workflow_spec_errors, workflow_without_entrypoint_or_reference_is_rejected) {
  std::string text = two_tasks;
  text.replace(text.find("dependencies: [buidl]"), 21, "dependencies: [build]");
  text.erase(text.find("  entrypoint: main\n"), 19);
  auto r = load_text(text, "wf.yaml");
  EXPECT_THAT(
      messages(r),
      ::testing::ElementsAre(
          "wf.yaml:6:3: spec.entrypoint: required field is missing (or set workflowTemplateRef)"));
}

TEST(workflow_spec_errors, workflow_without_templates_is_rejected) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: empty
spec:
  entrypoint: main
)",
                     "e.yaml");
  EXPECT_THAT(messages(r), ::testing::ElementsAre(
                               "e.yaml:6:3: spec.templates: required field is missing (or set "
                               "workflowTemplateRef)"));
}

TEST(workflow_spec_errors, dependency_cycle_is_shown_as_a_path) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: loop
spec:
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: work, dependencies: [c]}
          - {name: b, template: work, dependencies: [a]}
          - {name: c, template: work, dependencies: [b]}
    - name: work
      container: {image: alpine}
)",
                     "loop.yaml");
  EXPECT_THAT(messages(r), ::testing::ElementsAre(
                               "loop.yaml:10:53: spec.templates[0].dag.tasks[0].dependencies: "
                               "dependency cycle: a -> c -> b -> a"));
}

TEST(workflow_spec_errors, duplicate_names_and_mixed_dependency_forms_are_rejected) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: dup
spec:
  templates:
    - name: main
      dag:
        target: a deploy
        tasks:
          - {name: a, template: work}
          - {name: a, template: work}
          - {name: b, template: work, depends: a}
          - {name: c, template: work, dependencies: [a]}
    - name: work
      container: {image: alpine}
    - name: work
      script: {image: python, source: "print 1"}
)",
                     "dup.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre(
                  "dup.yaml:9:17: spec.templates[0].dag.target: unknown task 'deploy'",
                  "dup.yaml:12:20: spec.templates[0].dag.tasks[1].name: duplicate task name 'a'",
                  "dup.yaml:14:53: spec.templates[0].dag.tasks[3].dependencies: cannot use both "
                  "'depends' and 'dependencies' in the same DAG",
                  "dup.yaml:17:13: spec.templates[2].name: duplicate template name 'work'"));
}

TEST(workflow_spec_errors, step_names_are_unique_and_step_templates_exist) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: steps
spec:
  templates:
    - name: main
      steps:
        - - {name: one, template: work}
        - - {name: one, template: wrk}
    - name: work
      container: {image: alpine}
)",
                     "s.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre(
                  "s.yaml:10:20: spec.templates[0].steps[1][0].name: duplicate step name 'one'",
                  "s.yaml:10:35: spec.templates[0].steps[1][0].template: unknown template 'wrk' "
                  "(did you mean 'work'?)"));
}

TEST(workflow_spec_errors, template_needs_exactly_one_kind) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: kinds
spec:
  templates:
    - name: none
      inputs: {}
    - name: two
      container: {image: alpine}
      script: {image: python, source: "1"}
)",
                     "k.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre(
                  "k.yaml:7:7: spec.templates[0]: a template needs exactly one of container, "
                  "script, dag, steps, suspend, http",
                  "k.yaml:11:15: spec.templates[1].script: a template needs exactly one of "
                  "container, script, dag, steps, suspend, http, got container and script"));
}

TEST(workflow_spec_errors, misspelled_field_gets_a_hint) {
  std::string text = two_tasks;
  text.replace(text.find("dependencies: [buidl]"), 21, "dependencies: [build]");
  text.replace(text.find("entrypoint:"), 11, "entrypont:");
  auto r = load_text(text, "wf.yaml");
  EXPECT_THAT(messages(r),
              ::testing::Contains("wf.yaml:6:3: spec.entrypont: unknown field 'entrypont' (did you "
                                  "mean 'entrypoint'?)"));
}

TEST(workflow_spec_errors, type_errors_name_what_was_expected) {
  std::string text = two_tasks;
  text.replace(text.find("dependencies: [buidl]"), 21, "dependencies: [build]");
  text.replace(text.find("  entrypoint: main"), 18, "  entrypoint: main\n  parallelism: many");
  auto r = load_text(text, "wf.yaml");
  EXPECT_THAT(messages(r), ::testing::ElementsAre(
                               "wf.yaml:7:16: spec.parallelism: expected an integer, got 'many'"));
}

TEST(workflow_spec_errors, features_kairos_lacks_are_named_as_unsupported) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: k8s
spec:
  podSpecPatch: '{"containers": []}'
  templates:
    - name: apply
      resource:
        action: create
        manifest: "kind: ConfigMap"
    - name: upload
      container: {image: alpine}
      outputs:
        artifacts:
          - name: report
            path: /tmp/report
            s3:
              bucket: reports
              key: report.txt
)",
                     "k8s.yaml");
  EXPECT_THAT(
      messages(r),
      ::testing::ElementsAre(
          "k8s.yaml:6:17: spec.podSpecPatch: not supported by kairos: there is no pod to patch",
          "k8s.yaml:10:9: spec.templates[0].resource: not supported by kairos: resource "
          "templates cannot run as local processes",
          "k8s.yaml:19:15: spec.templates[1].outputs.artifacts[0].s3: not supported by "
          "kairos: kairos keeps artifacts in its local repository"));
}

TEST(workflow_spec_errors, kubernetes_scheduling_fields_are_accepted_and_ignored) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: sched-
spec:
  entrypoint: main
  podGC: {strategy: OnPodSuccess}
  tolerations: [{key: gpu, operator: Exists}]
  securityContext: {runAsNonRoot: true}
  templates:
    - name: main
      nodeSelector: {disk: ssd}
      container:
        image: alpine
        imagePullPolicy: Always
        resources: {requests: {memory: 64Mi}}
)",
                     "s.yaml");
  only_workflow(r);
}

TEST(workflow_spec_errors, only_empty_dir_volumes_exist_and_mounts_must_name_one) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: vols
spec:
  volumes:
    - name: host
      hostPath: {path: /var/run}
  templates:
    - name: main
      container:
        image: alpine
        volumeMounts:
          - {name: workspce, mountPath: /w}
      volumes:
        - name: workspace
          emptyDir: {}
)",
                     "v.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre(
                  "v.yaml:8:17: spec.volumes[0].hostPath: not supported by kairos: only emptyDir "
                  "volumes exist on one machine; pass files as artifacts",
                  "v.yaml:14:20: spec.templates[0].container.volumeMounts[0].name: unknown volume "
                  "'workspce'; declare it in spec.volumes or the template's volumes (did you mean "
                  "'workspace'?)"));
}

TEST(workflow_spec_errors, retry_strategy_values_are_checked) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: retry
spec:
  templates:
    - name: main
      retryStrategy:
        limit: five
        retryPolicy: OnFailed
        backoff:
          duration: 10x
          maxDuration: "{{inputs.parameters.max}}"
      container: {image: alpine}
)",
                     "r.yaml");
  const auto m = messages(r);
  ASSERT_EQ(m.size(), 3u) << to_string(r.diagnostics);
  EXPECT_EQ(m[0],
            "r.yaml:9:16: spec.templates[0].retryStrategy.limit: expected an integer (or a {{...}} "
            "template), got 'five'");
  EXPECT_EQ(m[1],
            "r.yaml:10:22: spec.templates[0].retryStrategy.retryPolicy: 'OnFailed' is not one of "
            "Always, OnFailure, OnError, OnTransientError");
  EXPECT_THAT(m[2], HasSubstr("r.yaml:12:21: spec.templates[0].retryStrategy.backoff.duration: "
                              "invalid duration '10x'"));
}

TEST(workflow_spec_errors, timeout_is_a_go_duration_without_bare_seconds) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: t
spec:
  templates:
    - name: main
      timeout: "90"
      suspend:
        duration: "90"
)",
                     "t.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre(HasSubstr("t.yaml:8:16: spec.templates[0].timeout: invalid "
                                               "duration '90': missing unit")));
}

TEST(workflow_spec_errors, task_needs_a_template_to_call) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: t
spec:
  templates:
    - name: main
      dag:
        tasks:
          - name: a
            hooks: {exit: {template: main}}
)",
                     "t.yaml");
  EXPECT_THAT(messages(r),
              ::testing::ElementsAre(
                  "t.yaml:10:13: spec.templates[0].dag.tasks[0].template: required field is "
                  "missing (or set templateRef)",
                  "t.yaml:11:20: spec.templates[0].dag.tasks[0].hooks: not supported by kairos: "
                  "lifecycle hooks; use onExit"));
}

TEST(workflow_spec_errors, all_problems_of_a_document_are_reported_in_one_pass) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: many-
spec:
  entrypoint: main
  shutdown: Halt
  templates:
    - name: main
      http: {url: example.com/hook}
      synchronization:
        mutex: {name: deploy}
        semaphores:
          - configMapKeyRef: {name: limits, key: deploys}
)",
                     "m.yaml");
  EXPECT_THAT(
      messages(r),
      ::testing::ElementsAre(
          "m.yaml:7:13: spec.shutdown: 'Halt' is not one of Stop, Terminate",
          "m.yaml:10:19: spec.templates[0].http.url: not an absolute http:// or https:// URL"));
}

TEST(workflow_spec, synchronization_on_dag_and_steps_templates_is_read) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: locked-
spec:
  entrypoint: main
  templates:
    - name: main
      synchronization: {mutex: {name: deploy}}
      dag:
        tasks:
          - {name: a, template: inner}
    - name: inner
      synchronization:
        semaphore: {configMapKeyRef: {name: limits, key: inner}}
      steps:
        - - {name: b, template: leaf}
    - name: leaf
      container: {image: x, command: ["true"]}
)",
                     "s.yaml");
  const auto& wf = only_workflow(r);
  ASSERT_EQ(wf.templates.size(), 3u);
  ASSERT_TRUE(wf.templates.at(0).synchronization.has_value());
  ASSERT_EQ(wf.templates[0].synchronization->mutexes.size(), 1u);
  EXPECT_EQ(wf.templates[0].synchronization->mutexes[0].name, "deploy");
  ASSERT_TRUE(wf.templates.at(1).synchronization.has_value());
  ASSERT_EQ(wf.templates[1].synchronization->semaphores.size(), 1u);
  EXPECT_EQ(wf.templates[1].synchronization->semaphores[0].config_map_key_ref->key, "inner");
}

TEST(workflow_spec, synchronization_single_and_list_forms_merge) {
  auto r = load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: sync
spec:
  synchronization:
    mutex: {name: deploy}
    mutexes: [{name: db}]
    semaphore:
      configMapKeyRef: {name: limits, key: builds}
  ttlStrategy: {secondsAfterSuccess: 60}
  workflowMetadata:
    labels: {owner: ci}
  templates:
    - name: main
      container: {image: alpine}
)",
                     "sync.yaml");
  const auto& wf = only_workflow(r);
  ASSERT_TRUE(wf.synchronization.has_value());
  ASSERT_EQ(wf.synchronization->mutexes.size(), 2u);
  EXPECT_EQ(wf.synchronization->mutexes[0].name, "deploy");
  EXPECT_EQ(wf.synchronization->mutexes[1].name, "db");
  ASSERT_EQ(wf.synchronization->semaphores.size(), 1u);
  EXPECT_EQ(wf.synchronization->semaphores[0].config_map_key_ref->key, "builds");
  EXPECT_EQ(wf.ttl_strategy->seconds_after_success, 60);
  EXPECT_EQ(wf.workflow_metadata->labels.at("owner"), "ci");
}

}  // namespace
}  // namespace kairos::spec
