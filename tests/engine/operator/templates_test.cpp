#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

outcome http_reply(int status, std::string body) {
  outcome o;
  o.what = outcome::kind::http_response;
  o.http_status = status;
  o.result = std::move(body);
  return o;
}

const char* http_yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: probe
  templates:
    - name: probe
      http:
        url: "http://example.test/{{workflow.name}}"
        method: POST
        body: "hi"
        headers:
          - {name: Accept, value: application/json}
          - {name: Authorization, valueFrom: {secretKeyRef: {name: api, key: token}}}
        SUCCESS
)";

std::string http_with(const std::string& cond) {
  std::string y = http_yaml;
  y.replace(y.find("SUCCESS"), 7, cond);
  return y;
}

TEST(operator_templates, http_task_is_built_with_secrets_and_body_becomes_result) {
  harness h;
  h.env.read_secret = [](const spec::secret_key_selector& s) -> result<std::string> {
    return "Bearer " + s.name + "/" + s.key;
  };
  ASSERT_TRUE(h.create(http_with("successCondition: \"response.statusCode == 200\"")));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  const auto* ht = std::get_if<http_task>(&out.launches[0].work);
  ASSERT_NE(ht, nullptr);
  EXPECT_EQ(ht->url, "http://example.test/wf");
  EXPECT_EQ(ht->method, "POST");
  EXPECT_EQ(ht->body, "hi");
  ASSERT_EQ(ht->headers.size(), 2u);
  EXPECT_EQ(ht->headers[1].second, "Bearer api/token");
  EXPECT_EQ(h.node("wf")["type"], "HTTP");
  ASSERT_TRUE(h.finish("wf", http_reply(200, R"({"ok":true})")));
  h.step();
  EXPECT_EQ(h.op->phase(), "Succeeded");
  EXPECT_EQ(h.result_of("wf"), R"({"ok":true})");
}

TEST(operator_templates, http_success_condition_false_fails_the_node) {
  harness h;
  h.env.read_secret = [](const spec::secret_key_selector&) -> result<std::string> {
    return std::string("x");
  };
  ASSERT_TRUE(h.create(http_with("successCondition: \"response.body contains 'green'\"")));
  EXPECT_EQ(h.run([](const std::string&, const task&) { return http_reply(200, "red"); }),
            "Failed");
}

TEST(operator_templates, http_without_condition_needs_2xx) {
  harness h;
  h.env.read_secret = [](const spec::secret_key_selector&) -> result<std::string> {
    return std::string("x");
  };
  ASSERT_TRUE(h.create(http_with("")));
  EXPECT_EQ(h.run([](const std::string&, const task&) { return http_reply(503, ""); }), "Failed");
  EXPECT_NE(h.node("wf").value("message", "").find("503"), std::string::npos);
}

TEST(operator_templates, missing_secret_errors_the_node) {
  harness h;
  h.env.read_secret = [](const spec::secret_key_selector& s) -> result<std::string> {
    return make_error(errc::not_found, "secret " + s.name + " not found");
  };
  ASSERT_TRUE(h.create(http_with("")));
  EXPECT_EQ(h.run(), "Error");
  EXPECT_TRUE(h.launched.empty());
  EXPECT_NE(h.node("wf").value("message", "").find("secret api"), std::string::npos);
}

const char* container_yaml = R"Y(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  volumes: [{name: work, emptyDir: {}}]
  templates:
    - name: main
      steps: [[{name: c, template: c}], [{name: s, template: s}]]
    - name: c
      container:
        image: debian:12
        command: [sh, -c]
        args: ["echo $X"]
        workingDir: /src
        env: [{name: X, value: "{{workflow.name}}"}]
        volumeMounts: [{name: work, mountPath: /work}]
    - name: s
      script:
        image: python:3
        command: [python]
        source: "print('{{workflow.uid}}')"
)Y";

TEST(operator_templates, container_and_script_become_process_tasks) {
  harness h;
  ASSERT_TRUE(h.create(container_yaml));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  const auto& p = std::get<process_task>(out.launches[0].work);
  EXPECT_EQ(p.image, "debian:12");
  EXPECT_EQ(p.argv, (std::vector<std::string>{"sh", "-c", "echo $X"}));
  EXPECT_EQ(p.working_dir, "/src");
  ASSERT_EQ(p.env.size(), 1u);
  EXPECT_EQ(p.env[0].second, "wf");
  ASSERT_EQ(p.mounts.size(), 1u);
  EXPECT_EQ(p.mounts[0].host_path, std::filesystem::path("/vols/uid-1/work"));
  EXPECT_EQ(p.mounts[0].mount_path, "/work");
  EXPECT_EQ(out.launches[0].workflow_uid, "uid-1");
  ASSERT_TRUE(h.finish("c", exited(0)));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  const auto& s = std::get<process_task>(out.launches[0].work);
  EXPECT_EQ(s.argv, (std::vector<std::string>{"python"}));
  EXPECT_EQ(s.script_source, "print('uid-1')");
}

TEST(operator_templates, volume_mounts_without_private_mounts_fail_at_start_saying_why) {
  harness h;
  h.env.capabilities.private_mounts = false;
  h.env.capabilities.private_mounts_reason = "unshare: not permitted";
  ASSERT_TRUE(h.create(container_yaml));
  EXPECT_EQ(h.run(), "Error");
  EXPECT_TRUE(h.launched.empty());
  const std::string msg = h.wf()["status"]["message"];
  EXPECT_NE(msg.find("mount"), std::string::npos);
  EXPECT_NE(msg.find("unshare: not permitted"), std::string::npos);
}

TEST(operator_templates, template_ref_resolves_through_the_environment) {
  harness h;
  h.env.resolve_template_ref = [](const spec::template_ref& ref,
                                  const std::string& ns) -> result<spec::template_spec> {
    if (ref.name != "greetings")
      return make_error(errc::not_found, "WorkflowTemplate " + ns + "/" + ref.name + " not found");
    spec::template_spec t;
    t.name = ref.template_;
    spec::parameter p;
    p.name = "who";
    t.inputs.parameters.push_back(p);
    spec::container c;
    c.image = "x";
    c.command = {"echo", "hello {{inputs.parameters.who}}"};
    t.container = c;
    return t;
  };
  const char* yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: first, templateRef: {name: REF, template: greet}, arguments: {parameters: [{name: who, value: team}]}}
)";
  std::string good = yaml;
  good.replace(good.find("REF"), 3, "greetings");
  ASSERT_TRUE(h.create(good));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(command_of(out.launches[0]), "echo hello team");
  EXPECT_EQ(h.node("first")["templateName"], "greet");
  std::string bad = yaml;
  bad.replace(bad.find("REF"), 3, "nope");
  harness h2;
  h2.env.resolve_template_ref = h.env.resolve_template_ref;
  auto r = h2.create(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nope"), std::string::npos);
}

TEST(operator_templates, workflow_json_has_argo_status_shape) {
  harness h;
  ASSERT_TRUE(h.create(container_yaml));
  h.run();
  auto wf = h.wf();
  EXPECT_EQ(wf["metadata"]["name"], "wf");
  EXPECT_EQ(wf["status"]["phase"], "Succeeded");
  EXPECT_TRUE(wf["status"].contains("startedAt"));
  EXPECT_TRUE(wf["status"].contains("finishedAt"));
  EXPECT_TRUE(wf["status"]["nodes"].is_object());
  auto without = h.op->workflow_json_without_nodes();
  EXPECT_FALSE(without["status"].contains("nodes"));
  for (const auto& [id, n] : wf["status"]["nodes"].items()) {
    EXPECT_EQ(n["id"], id);
    for (const char* k : {"name", "displayName", "type", "phase"}) EXPECT_TRUE(n.contains(k)) << k;
  }
}

TEST(operator_templates, garbage_workflow_is_rejected_not_crashed) {
  harness h;
  EXPECT_FALSE(h.create_json(json::array()));
  EXPECT_FALSE(h.create_json(json{{"metadata", {{"name", "x"}}}, {"spec", 3}}));
  EXPECT_FALSE(
      h.create_json(json{{"metadata", {{"name", "x"}}},
                         {"spec", {{"entrypoint", "nope"}, {"templates", json::array()}}}}));
}

}  // namespace
}  // namespace kairos::engine::testing
