#include "kairos/api/server.hpp"

#include <future>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "fake_store.hpp"
#include "http_test_client.hpp"
#include "kairos/core/clock.hpp"
#include "kairos/core/metrics.hpp"
#include "kairos/core/version.hpp"
#include "kairos/engine/pending_workflow_service.hpp"

namespace kairos::api {
namespace {

using json = nlohmann::json;
using testing::header_list;
using testing::reply;
using verb = boost::beast::http::verb;

json container_templates() {
  return json::parse(R"([{"name": "main",
    "container": {"image": "alpine:3.19", "command": ["echo", "hello"]}}])");
}

json workflow_template(const std::string& name) {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "WorkflowTemplate"},
          {"metadata", {{"name", name}}},
          {"spec", {{"entrypoint", "main"}, {"templates", container_templates()}}}};
}

json workflow_named(const std::string& name) {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "Workflow"},
          {"metadata", {{"name", name}}},
          {"spec", {{"entrypoint", "main"}, {"templates", container_templates()}}}};
}

json cron_workflow(const std::string& name) {
  return {{"apiVersion", "argoproj.io/v1alpha1"},
          {"kind", "CronWorkflow"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"schedule", "0 2 * * *"},
            {"workflowSpec", {{"entrypoint", "main"}, {"templates", container_templates()}}}}}};
}

class api_server : public ::testing::Test {
 protected:
  void start(server_settings settings = {}) {
    settings.address = "127.0.0.1";
    settings.port = 0;
    settings.handle_signals = false;
    settings.io_threads = 2;
    settings.worker_threads = 2;
    server_ = std::make_unique<server>(settings, db_, workflows_, clock_);
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
    port_ = server_->port();
  }

  void TearDown() override {
    if (server_) {
      server_->request_stop();
      server_->wait();
    }
  }

  reply send(verb method, const std::string& target, const std::string& body = {},
             const header_list& headers = {}) {
    return testing::send_once(port_, method, target, body, headers);
  }
  reply send_json(verb method, const std::string& target, const json& body) {
    return send(method, target, body.dump());
  }

  testing::fake_store db_;
  manual_clock clock_{std::chrono::system_clock::time_point{std::chrono::seconds{1700000000}}};
  engine::pending_workflow_service workflows_{db_, clock_};
  std::unique_ptr<server> server_;
  std::uint16_t port_ = 0;
};

TEST_F(api_server, health_readiness_and_metrics_stay_open_when_a_token_is_set) {
  server_settings s;
  s.auth_token = "s3cret";
  start(s);
  EXPECT_EQ(send(verb::get, "/healthz").status, 200u);
  EXPECT_EQ(send(verb::get, "/readyz").status, 200u);
  EXPECT_EQ(send(verb::get, "/metrics").status, 200u);
}

TEST_F(api_server, a_port_already_taken_is_an_error_that_says_so) {
  start();
  server_settings second;
  second.address = "127.0.0.1";
  second.port = port_;
  second.handle_signals = false;
  server other(second, db_, workflows_, clock_);
  auto started = other.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().message,
            "cannot listen on 127.0.0.1:" + std::to_string(port_) + ": Address already in use");
  other.request_stop();
  other.wait();
}

TEST_F(api_server, api_request_without_a_token_is_401) {
  server_settings s;
  s.auth_token = "s3cret";
  start(s);
  auto r = send(verb::get, "/api/v1/version");
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.json()["code"], 16);
}

TEST_F(api_server, api_request_with_a_wrong_token_is_401_and_the_right_one_is_200) {
  server_settings s;
  s.auth_token = "s3cret";
  start(s);
  EXPECT_EQ(send(verb::get, "/api/v1/version", "", {{"Authorization", "Bearer s3cre"}}).status,
            401u);
  EXPECT_EQ(send(verb::get, "/api/v1/version", "", {{"Authorization", "Bearer s3cret1"}}).status,
            401u);
  EXPECT_EQ(send(verb::get, "/api/v1/version", "", {{"Authorization", "Basic s3cret"}}).status,
            401u);
  auto ok = send(verb::get, "/api/v1/version", "", {{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.json()["version"], std::string(kairos::version));
}

TEST_F(api_server, unknown_api_route_without_a_token_is_401_not_404) {
  server_settings s;
  s.auth_token = "s3cret";
  start(s);
  EXPECT_EQ(send(verb::get, "/api/v1/nothing-here").status, 401u);
}

TEST_F(api_server, body_over_the_limit_is_413_and_the_server_keeps_serving) {
  start();
  const std::string huge(10 * 1024 * 1024, 'x');
  testing::http_test_client client(port_);
  auto r = client.send(verb::post, "/api/v1/workflow-templates/default", huge);
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.json()["code"], 8);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(send(verb::get, "/healthz").status, 200u);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, oversized_headers_are_rejected_and_the_server_keeps_serving) {
  start();
  testing::header_list padding;
  for (int i = 0; i < 16; ++i)
    padding.emplace_back("X-Padding-" + std::to_string(i), std::string(8 * 1024, 'a'));
  auto r = send(verb::get, "/healthz", "", padding);
  EXPECT_EQ(r.status, 431u);
  EXPECT_EQ(send(verb::get, "/healthz").status, 200u);
}

TEST_F(api_server, unknown_workflow_is_404_json_with_grpc_code_5) {
  start();
  auto r = send(verb::get, "/api/v1/workflows/default/nope");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(r.header(boost::beast::http::field::content_type), "application/json");
  EXPECT_EQ(r.json()["code"], 5);
  EXPECT_FALSE(r.json()["message"].get<std::string>().empty());
}

TEST_F(api_server, malformed_json_is_400_naming_the_position_and_stores_nothing) {
  start();
  auto r = send(verb::post, "/api/v1/workflow-templates/default", std::string(R"({"template": {)"));
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json()["code"], 3);
  EXPECT_NE(r.json()["message"].get<std::string>().find("byte"), std::string::npos);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, unknown_kind_is_400_and_stores_nothing) {
  start();
  auto doc = workflow_template("build");
  doc["kind"] = "WorkflowTemplat";
  auto r = send_json(verb::post, "/api/v1/workflow-templates/default", json{{"template", doc}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, kind_of_another_endpoint_is_400) {
  start();
  auto doc = workflow_template("build");
  doc["kind"] = "CronWorkflow";
  auto r = send_json(verb::post, "/api/v1/workflow-templates/default", json{{"template", doc}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.json()["message"].get<std::string>().find("WorkflowTemplate"), std::string::npos);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, invalid_name_is_400_naming_the_rule_and_stores_nothing) {
  start();
  auto r = send_json(verb::post, "/api/v1/workflow-templates/default",
                     json{{"template", workflow_template("Bad_Name")}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.json()["message"].get<std::string>().find("DNS-1123"), std::string::npos);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, workflow_name_longer_than_63_characters_is_400) {
  start();
  auto r = send_json(verb::post, "/api/v1/workflows/default",
                     json{{"workflow", workflow_named(std::string(64, 'a'))}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(db_.workflow_count(), 0u);
}

TEST_F(api_server, missing_spec_is_400_naming_the_field_and_stores_nothing) {
  start();
  auto doc = workflow_template("build");
  doc.erase("spec");
  auto r = send_json(verb::post, "/api/v1/workflow-templates/default", json{{"template", doc}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.json()["message"].get<std::string>().find("spec"), std::string::npos);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, namespace_in_the_body_must_match_the_path) {
  start();
  auto doc = workflow_template("build");
  doc["metadata"]["namespace"] = "other";
  auto r = send_json(verb::post, "/api/v1/workflow-templates/default", json{{"template", doc}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, workflow_template_create_get_list_update_delete) {
  start();
  auto created = send_json(verb::post, "/api/v1/workflow-templates/team-a",
                           json{{"template", workflow_template("build")}});
  ASSERT_EQ(created.status, 200u) << created.body;
  auto body = created.json();
  EXPECT_EQ(body["metadata"]["namespace"], "team-a");
  EXPECT_FALSE(body["metadata"]["uid"].get<std::string>().empty());
  const auto version = body["metadata"]["resourceVersion"].get<std::string>();
  EXPECT_FALSE(version.empty());

  auto again = send_json(verb::post, "/api/v1/workflow-templates/team-a",
                         json{{"template", workflow_template("build")}});
  EXPECT_EQ(again.status, 409u);
  EXPECT_EQ(again.json()["code"], 6);

  auto got = send(verb::get, "/api/v1/workflow-templates/team-a/build");
  ASSERT_EQ(got.status, 200u);
  EXPECT_EQ(got.json()["spec"]["entrypoint"], "main");

  auto listed = send(verb::get, "/api/v1/workflow-templates/team-a");
  ASSERT_EQ(listed.status, 200u);
  EXPECT_EQ(listed.json()["items"].size(), 1u);
  EXPECT_EQ(send(verb::get, "/api/v1/workflow-templates/team-b").json()["items"].size(), 0u);

  auto update = got.json();
  update["spec"]["entrypoint"] = "main";
  update["metadata"]["labels"] = {{"tier", "ci"}};
  auto updated =
      send_json(verb::put, "/api/v1/workflow-templates/team-a/build", json{{"template", update}});
  ASSERT_EQ(updated.status, 200u) << updated.body;
  EXPECT_EQ(updated.json()["metadata"]["labels"]["tier"], "ci");
  EXPECT_NE(updated.json()["metadata"]["resourceVersion"], version);

  // `update` still carries the version it was read at, which is now stale.
  auto stale =
      send_json(verb::put, "/api/v1/workflow-templates/team-a/build", json{{"template", update}});
  EXPECT_EQ(stale.status, 409u);
  EXPECT_EQ(stale.json()["code"], 10);

  EXPECT_EQ(send(verb::delete_, "/api/v1/workflow-templates/team-a/build").status, 200u);
  EXPECT_EQ(send(verb::get, "/api/v1/workflow-templates/team-a/build").status, 404u);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, update_with_a_different_name_than_the_path_is_400) {
  start();
  ASSERT_EQ(send_json(verb::post, "/api/v1/workflow-templates/default",
                      json{{"template", workflow_template("build")}})
                .status,
            200u);
  auto r = send_json(verb::put, "/api/v1/workflow-templates/default/build",
                     json{{"template", workflow_template("other")}});
  EXPECT_EQ(r.status, 400u);
}

TEST_F(api_server, cluster_workflow_template_lives_without_a_namespace) {
  start();
  auto doc = workflow_template("shared");
  doc["kind"] = "ClusterWorkflowTemplate";
  auto created =
      send_json(verb::post, "/api/v1/cluster-workflow-templates", json{{"template", doc}});
  ASSERT_EQ(created.status, 200u) << created.body;
  EXPECT_FALSE(created.json()["metadata"].contains("namespace"));
  auto got = send(verb::get, "/api/v1/cluster-workflow-templates/shared");
  EXPECT_EQ(got.status, 200u);
  EXPECT_EQ(send(verb::get, "/api/v1/cluster-workflow-templates").json()["items"].size(), 1u);
}

TEST_F(api_server, cron_suspend_and_resume_flip_spec_suspend_and_store_a_new_version) {
  start();
  auto created = send_json(verb::post, "/api/v1/cron-workflows/default",
                           json{{"cronWorkflow", cron_workflow("nightly")}});
  ASSERT_EQ(created.status, 200u) << created.body;
  const auto v1 = created.json()["metadata"]["resourceVersion"];

  auto suspended = send(verb::put, "/api/v1/cron-workflows/default/nightly/suspend", "{}");
  ASSERT_EQ(suspended.status, 200u) << suspended.body;
  EXPECT_EQ(suspended.json()["spec"]["suspend"], true);
  EXPECT_NE(suspended.json()["metadata"]["resourceVersion"], v1);
  EXPECT_EQ(send(verb::get, "/api/v1/cron-workflows/default/nightly").json()["spec"]["suspend"],
            true);

  auto resumed = send(verb::put, "/api/v1/cron-workflows/default/nightly/resume", "{}");
  ASSERT_EQ(resumed.status, 200u);
  EXPECT_EQ(resumed.json()["spec"]["suspend"], false);
  EXPECT_EQ(send(verb::put, "/api/v1/cron-workflows/default/missing/suspend", "{}").status, 404u);
}

TEST_F(api_server, workflow_with_generate_name_gets_a_name_and_pending_phase) {
  start();
  auto doc = workflow_named("x");
  doc["metadata"].erase("name");
  doc["metadata"]["generateName"] = "hello-";
  auto r = send_json(verb::post, "/api/v1/workflows/default", json{{"workflow", doc}});
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto name = r.json()["metadata"]["name"].get<std::string>();
  EXPECT_EQ(name.rfind("hello-", 0), 0u);
  EXPECT_EQ(name.size(), std::string("hello-").size() + 5);
  EXPECT_EQ(r.json()["status"]["phase"], "Pending");
  EXPECT_EQ(r.json()["metadata"]["creationTimestamp"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(send(verb::get, "/api/v1/workflows/default/" + name).status, 200u);
}

TEST_F(api_server, submitting_the_same_fixed_name_twice_is_409) {
  start();
  EXPECT_EQ(
      send_json(verb::post, "/api/v1/workflows/default", json{{"workflow", workflow_named("once")}})
          .status,
      200u);
  auto second = send_json(verb::post, "/api/v1/workflows/default",
                          json{{"workflow", workflow_named("once")}});
  EXPECT_EQ(second.status, 409u);
  EXPECT_EQ(second.json()["code"], 6);
  EXPECT_EQ(db_.workflow_count(), 1u);
}

TEST_F(api_server, bare_workflow_body_is_accepted_and_server_dry_run_stores_nothing) {
  start();
  EXPECT_EQ(send_json(verb::post, "/api/v1/workflows/default", workflow_named("bare")).status,
            200u);
  auto dry = send_json(verb::post, "/api/v1/workflows/default",
                       json{{"workflow", workflow_named("dry")}, {"serverDryRun", true}});
  EXPECT_EQ(dry.status, 200u);
  EXPECT_EQ(db_.workflow_count(), 1u);
}

TEST_F(api_server, list_workflows_filters_by_label_selector_and_lists_all_namespaces) {
  start();
  auto a = workflow_named("a");
  a["metadata"]["labels"] = {{"team", "x"}};
  auto b = workflow_named("b");
  b["metadata"]["labels"] = {{"team", "y"}};
  ASSERT_EQ(send_json(verb::post, "/api/v1/workflows/ns1", json{{"workflow", a}}).status, 200u);
  ASSERT_EQ(send_json(verb::post, "/api/v1/workflows/ns2", json{{"workflow", b}}).status, 200u);
  EXPECT_EQ(send(verb::get, "/api/v1/workflows/").json()["items"].size(), 2u);
  EXPECT_EQ(send(verb::get, "/api/v1/workflows/ns1").json()["items"].size(), 1u);
  auto selected = send(verb::get, "/api/v1/workflows/?listOptions.labelSelector=team%3Dy");
  ASSERT_EQ(selected.json()["items"].size(), 1u);
  EXPECT_EQ(selected.json()["items"][0]["metadata"]["name"], "b");
  // Argo's progress, from nodes the list leaves out: none yet.
  EXPECT_EQ(selected.json()["items"][0]["status"]["progress"], "0/0");
}

TEST_F(api_server, submit_from_a_workflow_template_references_it_with_parameters) {
  start();
  ASSERT_EQ(send_json(verb::post, "/api/v1/workflow-templates/default",
                      json{{"template", workflow_template("build")}})
                .status,
            200u);
  json request = {{"resourceKind", "WorkflowTemplate"},
                  {"resourceName", "build"},
                  {"submitOptions", {{"parameters", {"branch=main"}}, {"labels", "trigger=api"}}}};
  auto r = send_json(verb::post, "/api/v1/workflows/default/submit", request);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto wf = r.json();
  EXPECT_EQ(wf["spec"]["workflowTemplateRef"]["name"], "build");
  EXPECT_EQ(wf["metadata"]["name"].get<std::string>().rfind("build-", 0), 0u);
  EXPECT_EQ(wf["metadata"]["labels"]["trigger"], "api");
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["name"], "branch");
  EXPECT_EQ(wf["spec"]["arguments"]["parameters"][0]["value"], "main");
  EXPECT_EQ(wf["status"]["phase"], "Pending");
}

TEST_F(api_server, submit_from_a_missing_template_is_404) {
  start();
  auto r = send_json(verb::post, "/api/v1/workflows/default/submit",
                     json{{"resourceKind", "WorkflowTemplate"}, {"resourceName", "ghost"}});
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(db_.workflow_count(), 0u);
}

TEST_F(api_server, submit_from_a_cron_workflow_uses_its_workflow_spec) {
  start();
  ASSERT_EQ(send_json(verb::post, "/api/v1/cron-workflows/default",
                      json{{"cronWorkflow", cron_workflow("nightly")}})
                .status,
            200u);
  auto r = send_json(verb::post, "/api/v1/workflows/default/submit",
                     json{{"resourceKind", "CronWorkflow"}, {"resourceName", "nightly"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json()["spec"]["entrypoint"], "main");
  EXPECT_EQ(r.json()["metadata"]["labels"]["workflows.argoproj.io/cron-workflow"], "nightly");
}

TEST_F(api_server, workflow_actions_and_logs_answer_for_known_workflows_only) {
  start();
  EXPECT_EQ(send(verb::put, "/api/v1/workflows/default/ghost/stop", "{}").status, 404u);
  EXPECT_EQ(send(verb::get, "/api/v1/workflows/default/ghost/log").status, 404u);
  ASSERT_EQ(
      send_json(verb::post, "/api/v1/workflows/default", json{{"workflow", workflow_named("w")}})
          .status,
      200u);
  auto stopped = send(verb::put, "/api/v1/workflows/default/w/stop", "{}");
  EXPECT_EQ(stopped.status, 503u);
  EXPECT_EQ(stopped.json()["code"], 14);
  EXPECT_EQ(send(verb::get, "/api/v1/workflows/default/w/log").status, 200u);
  EXPECT_EQ(send(verb::delete_, "/api/v1/workflows/default/w").status, 200u);
  EXPECT_EQ(db_.workflow_count(), 0u);
}

TEST_F(api_server, event_is_in_the_journal_when_the_200_arrives) {
  start();
  auto r = send(verb::post, "/api/v1/events/default/deploy", R"({"app": "web"})",
                {{"X-Request-Id", "req-42"}});
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.json(), json::object());
  auto events = db_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "req-42");
  EXPECT_EQ(events[0].source, "api");
  EXPECT_EQ(events[0].subject, "deploy");
  EXPECT_EQ(events[0].type, "api");
  EXPECT_EQ(events[0].namespace_, "default");
  EXPECT_EQ(events[0].time, "2023-11-14T22:13:20Z");
  EXPECT_EQ(events[0].body["data"]["app"], "web");
}

TEST_F(api_server, events_without_an_id_header_get_distinct_ids) {
  start();
  ASSERT_EQ(send(verb::post, "/api/v1/events/default/deploy", "{}").status, 200u);
  ASSERT_EQ(send(verb::post, "/api/v1/events/default/deploy", "{}").status, 200u);
  auto events = db_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NE(events[0].id, events[1].id);
}

TEST_F(api_server, events_list_shows_the_newest_first_up_to_the_limit) {
  start();
  for (const char* id : {"e1", "e2", "e3"})
    ASSERT_EQ(
        send(verb::post, "/api/v1/events/default/deploy", "{}", {{"X-Request-Id", id}}).status,
        200u);
  auto r = send(verb::get, "/api/v1/events?limit=2");
  ASSERT_EQ(r.status, 200u) << r.body;
  const auto items = r.json()["items"];
  ASSERT_EQ(items.size(), 2u) << r.body;
  EXPECT_EQ(items[0]["id"], "e3");
  EXPECT_EQ(items[1]["id"], "e2");
  EXPECT_EQ(items[0]["eventName"], "deploy");
}

TEST_F(api_server, event_append_failure_is_503) {
  start();
  db_.fail_appends(true);
  auto r = send(verb::post, "/api/v1/events/default/deploy", "{}");
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.json()["code"], 14);
}

TEST_F(api_server, unknown_route_is_404_and_wrong_method_is_405) {
  start();
  auto unknown = send(verb::get, "/api/v1/nothing");
  EXPECT_EQ(unknown.status, 404u);
  EXPECT_EQ(unknown.json()["code"], 5);
  auto wrong = send(verb::patch, "/api/v1/workflow-templates/default/build", "{}");
  EXPECT_EQ(wrong.status, 405u);
  EXPECT_EQ(wrong.json()["code"], 12);
  EXPECT_NE(wrong.header(boost::beast::http::field::allow).find("PUT"), std::string::npos);
}

TEST_F(api_server, metrics_count_requests_by_route_and_code) {
  start();
  send(verb::get, "/api/v1/workflows/default/nope");
  auto metrics = send(verb::get, "/metrics");
  ASSERT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.body.find("kairos_http_requests_total"), std::string::npos);
  EXPECT_NE(metrics.body.find(R"(route="/api/v1/workflows/{namespace}/{name}")"),
            std::string::npos);
  EXPECT_NE(metrics.body.find(R"(code="404")"), std::string::npos);
  EXPECT_NE(metrics.body.find("kairos_http_request_duration_seconds_bucket"), std::string::npos);
}

TEST_F(api_server, other_modules_can_register_metrics_that_show_on_the_endpoint) {
  start();
  auto& family = prometheus::BuildCounter()
                     .Name("kairos_test_widgets_total")
                     .Help("widgets")
                     .Register(*server_->metrics_registry());
  family.Add({}).Increment(3);
  EXPECT_NE(send(verb::get, "/metrics").body.find("kairos_test_widgets_total 3"),
            std::string::npos);
}

TEST_F(api_server, keep_alive_serves_several_requests_on_one_connection) {
  start();
  testing::http_test_client client(port_);
  EXPECT_EQ(client.send(verb::get, "/healthz").status, 200u);
  EXPECT_EQ(client.send(verb::get, "/api/v1/version").status, 200u);
  EXPECT_EQ(client.send(verb::get, "/api/v1/workflows/default/none").status, 404u);
}

TEST_F(api_server, request_stop_makes_wait_return_even_with_an_idle_connection_open) {
  start();
  testing::http_test_client idle(port_);
  EXPECT_EQ(idle.send(verb::get, "/healthz").status, 200u);
  server_->request_stop();
  server_->wait();
  EXPECT_TRUE(idle.closed_by_server());
  server_.reset();
}

TEST_F(api_server, request_stop_lets_an_in_flight_request_finish) {
  std::promise<void> entered;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  db_.on_get_state([&entered, released] {
    entered.set_value();
    released.wait();
  });
  start();
  auto pending = std::async(std::launch::async, [this] { return send(verb::get, "/readyz"); });
  entered.get_future().wait();
  server_->request_stop();
  release.set_value();
  auto r = pending.get();
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.header(boost::beast::http::field::connection), "close");
  server_->wait();
  EXPECT_ANY_THROW(testing::http_test_client{port_});  // nobody listens any more
}

TEST_F(api_server, start_fails_with_an_error_when_the_port_is_taken) {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor taken(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
  server_settings s;
  s.port = taken.local_endpoint().port();
  s.handle_signals = false;
  server second(s, db_, workflows_, clock_);
  auto started = second.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, errc::unavailable);
}

TEST_F(api_server, start_fails_with_an_error_on_an_invalid_address) {
  server_settings s;
  s.address = "not-an-address";
  s.port = 0;
  s.handle_signals = false;
  server bad(s, db_, workflows_, clock_);
  auto started = bad.start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, errc::invalid_argument);
}

TEST_F(api_server, workflow_without_templates_or_template_ref_is_400_naming_the_field) {
  start();
  auto doc = workflow_named("empty");
  doc["spec"].erase("templates");
  auto r = send_json(verb::post, "/api/v1/workflows/default", json{{"workflow", doc}});
  EXPECT_EQ(r.status, 400u);
  EXPECT_NE(r.json()["message"].get<std::string>().find("spec"), std::string::npos)
      << r.json()["message"];
  EXPECT_EQ(db_.workflow_count(), 0u);
}

TEST_F(api_server, update_of_a_missing_resource_is_404) {
  start();
  auto r = send_json(verb::put, "/api/v1/workflow-templates/default/build",
                     json{{"template", workflow_template("build")}});
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(db_.resource_count(), 0u);
}

TEST_F(api_server, event_sources_and_sensors_are_stored_and_listed) {
  start();
  json source = json::parse(R"({"apiVersion": "argoproj.io/v1alpha1", "kind": "EventSource",
    "metadata": {"name": "webhook"},
    "spec": {"webhook": {"example": {"port": "12000", "endpoint": "/example", "method": "POST"}}}})");
  auto created =
      send_json(verb::post, "/api/v1/event-sources/default", json{{"eventSource", source}});
  ASSERT_EQ(created.status, 200u) << created.body;
  json sensor = json::parse(R"({"apiVersion": "argoproj.io/v1alpha1", "kind": "Sensor",
    "metadata": {"name": "on-push"},
    "spec": {"dependencies": [{"name": "push", "eventSourceName": "webhook", "eventName": "example"}],
             "triggers": [{"template": {"name": "log", "log": {}}}]}})");
  auto made = send_json(verb::post, "/api/v1/sensors/default", json{{"sensor", sensor}});
  ASSERT_EQ(made.status, 200u) << made.body;
  EXPECT_EQ(send(verb::get, "/api/v1/event-sources/default").json()["items"].size(), 1u);
  EXPECT_EQ(send(verb::get, "/api/v1/sensors/default/on-push").json()["kind"], "Sensor");
}

TEST_F(api_server, expect_100_continue_gets_an_interim_response_before_the_body) {
  start();
  namespace http = boost::beast::http;
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket socket(ioc);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port_});
  http::request<http::string_body> req{verb::post, "/api/v1/events/default/x", 11};
  req.set(http::field::expect, "100-continue");
  req.body() = "{}";
  req.prepare_payload();
  http::request_serializer<http::string_body> serializer{req};
  http::write_header(socket, serializer);
  boost::beast::flat_buffer buffer;
  http::response<http::empty_body> interim;
  http::read(socket, buffer, interim);
  EXPECT_EQ(interim.result(), http::status::continue_);
  http::write(socket, serializer);
  http::response<http::string_body> final_response;
  http::read(socket, buffer, final_response);
  EXPECT_EQ(final_response.result_int(), 200u);
  EXPECT_EQ(db_.events().size(), 1u);
}

}  // namespace
}  // namespace kairos::api
