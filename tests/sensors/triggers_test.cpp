// http and log triggers, and the manager end to end on a real store.
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>

#include "../core/http_test_server.hpp"
#include "kairos/core/metrics.hpp"
#include "kairos/sensors/manager.hpp"
#include "kairos/sensors/trigger.hpp"
#include "kairos/spec/loader.hpp"
#include "support.hpp"

namespace kairos::sensors {
namespace {

using kairos::testing::http_test_server;
using nlohmann::json;

spec::trigger http_trigger(const std::string& url) {
  spec::trigger t;
  t.template_.name = "notify";
  spec::http_trigger h;
  h.url = url;
  h.method = "PUT";
  h.headers = {{"X-Plain", "yes"}};
  spec::trigger_parameter p;
  p.src.dependency_name = "push";
  p.src.data_key = "body.ref";
  p.dest = "ref";
  h.payload.push_back(p);
  spec::secure_header s;
  s.name = "Authorization";
  s.secret_key_ref = {"api", "token", false};
  h.secure_headers.push_back(s);
  t.template_.http = h;
  return t;
}

firing push_firing() {
  firing f;
  f.sensor_namespace = "default";
  f.sensor_name = "ci";
  f.trigger_name = "notify";
  f.events["push"] = testing::make_event("e1", {{"body", {{"ref", "refs/heads/main"}}}});
  f.key = firing_key(f.events);
  return f;
}

TEST(http_trigger, sends_payload_headers_and_secure_headers) {
  testing::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "secrets" / "api");
  std::ofstream(dir.path() / "secrets" / "api" / "token") << "Bearer s3cret";
  http_test_server::request seen;
  http_test_server server([&](const http_test_server::request& req) {
    seen = req;
    return http_test_server::make(201, "ok");
  });
  trigger_services services;
  services.data_dir = dir.path();
  const auto t = http_trigger(server.url("/hook"));
  auto action = make_trigger_action(t, services);
  ASSERT_TRUE(action.ok()) << action.error().message;
  auto r = (*action)->execute(t, push_firing());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(seen.method_string(), "PUT");
  EXPECT_EQ(seen.target(), "/hook");
  EXPECT_EQ(json::parse(seen.body()), json::parse(R"({"ref":"refs/heads/main"})"));
  EXPECT_EQ(seen["X-Plain"], "yes");
  EXPECT_EQ(seen["Authorization"], "Bearer s3cret");
  EXPECT_EQ(seen["Content-Type"], "application/json");
}

TEST(http_trigger, only_2xx_succeeds_without_a_policy) {
  testing::temp_dir dir;
  std::filesystem::create_directories(dir.path() / "secrets" / "api");
  std::ofstream(dir.path() / "secrets" / "api" / "token") << "t";
  http_test_server server(
      [](const http_test_server::request&) { return http_test_server::make(404, "no"); });
  trigger_services services;
  services.data_dir = dir.path();
  auto t = http_trigger(server.url("/x"));
  auto action = make_trigger_action(t, services);
  ASSERT_TRUE(action.ok());
  auto r = (*action)->execute(t, push_firing());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("404"), std::string::npos);
  EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos);
  // policy.status.allow makes 404 a success.
  t.policy = spec::trigger_policy{spec::status_policy{{200, 404}}};
  EXPECT_TRUE((*action)->execute(t, push_firing()).ok());
}

TEST(http_trigger, missing_secret_fails_without_revealing_values) {
  testing::temp_dir dir;
  trigger_services services;
  services.data_dir = dir.path();
  const auto t = http_trigger("http://127.0.0.1:1/x");
  auto action = make_trigger_action(t, services);
  ASSERT_TRUE(action.ok());
  auto r = (*action)->execute(t, push_firing());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("Authorization"), std::string::npos);
}

TEST(log_trigger, logs_events_at_info_respecting_interval) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  kairos::manual_clock clock;
  trigger_services services;
  services.clock = &clock;
  spec::trigger t;
  t.template_.name = "log";
  t.template_.log = spec::log_trigger{60};
  auto action = make_trigger_action(t, services);
  ASSERT_TRUE(action.ok());
  ASSERT_TRUE((*action)->execute(t, push_firing()).ok());
  ASSERT_TRUE((*action)->execute(t, push_firing()).ok());  // within the interval
  clock.advance(std::chrono::seconds(61));
  ASSERT_TRUE((*action)->execute(t, push_firing()).ok());
  spdlog::set_default_logger(previous);
  const std::string text = out.str();
  std::size_t lines = 0;
  for (std::size_t p = text.find("event e1"); p != std::string::npos;
       p = text.find("event e1", p + 1))
    ++lines;
  EXPECT_EQ(lines, 2u);
  EXPECT_NE(text.find("refs/heads/main"), std::string::npos);
}

constexpr std::string_view sensor_yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: ci
spec:
  dependencies:
    - name: push
      eventSourceName: ci
      eventName: push
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
                entrypoint: main
                arguments:
                  parameters:
                    - name: ref
                templates:
                  - name: main
                    container:
                      image: alpine
                      command: ["true"]
          parameters:
            - src:
                dependencyName: push
                dataKey: body.ref
              dest: spec.arguments.parameters.0.value
)";

void store_sensor(store::database& db) {
  auto loaded = spec::load_text(sensor_yaml, "sensor.yaml");
  ASSERT_TRUE(loaded.ok()) << spec::to_string(loaded.diagnostics);
  store::resource_record rec;
  rec.kind = "Sensor";
  rec.namespace_ = "default";
  rec.name = "ci";
  rec.body = loaded.resources[0].manifest;
  ASSERT_TRUE(db.apply_resource(rec).ok());
}

TEST(sensor_manager, runs_stored_sensors_and_reports_metrics_and_consumers) {
  testing::temp_dir dir;
  auto db = testing::open_store(dir.path());
  store_sensor(*db);
  testing::fake_workflows workflows;
  kairos::manual_clock clock;
  boost::asio::io_context io;
  manager_settings settings;
  settings.metrics = std::make_shared<kairos::metrics::registry>();
  settings.data_dir = dir.path();
  manager m(settings, *db, workflows, clock, io.get_executor());
  ASSERT_TRUE(m.start().ok());
  m.wait_idle();
  EXPECT_EQ(m.sensors(), std::vector<std::string>{"default/ci"});
  ASSERT_TRUE(db->append_event(testing::make_record("ev-1", "ci", "push",
                                                    {{"body", {{"ref", "refs/heads/main"}}}}))
                  .ok());
  m.notify();
  m.wait_idle();
  ASSERT_EQ(workflows.submissions.size(), 1u);
  EXPECT_EQ(workflows.submissions[0].manifest["spec"]["arguments"]["parameters"][0]["value"],
            "refs/heads/main");

  bool counted = false;
  std::map<std::string, std::uint64_t> summarised;  // summary name -> sample count
  for (const auto& family : settings.metrics->Collect()) {
    if (family.name == "argo_events_action_triggered_total")
      for (const auto& metric : family.metric) counted = counted || metric.counter.value == 1;
    if (family.type == prometheus::MetricType::Summary)
      for (const auto& metric : family.metric)
        summarised[family.name] += metric.summary.sample_count;
  }
  EXPECT_TRUE(counted);
  // Argo's summaries: one event processed, one action timed.
  EXPECT_EQ(summarised["argo_events_event_processing_duration_milliseconds"], 1u);
  EXPECT_EQ(summarised["argo_events_action_duration_milliseconds"], 1u);
  // And they reach /metrics's text as summaries.
  const auto text = prometheus::TextSerializer().Serialize(settings.metrics->Collect());
  EXPECT_NE(text.find("# TYPE argo_events_action_duration_milliseconds summary"), std::string::npos)
      << text;
  EXPECT_NE(text.find("argo_events_action_duration_milliseconds_count{sensor_name=\"ci\","
                      "trigger_name=\"build\"} 1"),
            std::string::npos)
      << text;

  auto events = recent_events(*db, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].consumed_by, std::vector<std::string>{"default/ci:build"});

  // A new manager on the same store resumes after the handled event and
  // does not submit again.
  m.stop();
  manager_settings plain;
  plain.data_dir = dir.path();
  manager again(plain, *db, workflows, clock, io.get_executor());
  ASSERT_TRUE(again.start().ok());
  again.notify();
  again.wait_idle();
  EXPECT_EQ(workflows.calls, 1);

  // Deleting the Sensor stops it and drops its state.
  ASSERT_TRUE(db->delete_resource("Sensor", "default", "ci").ok());
  again.resync();
  again.wait_idle();
  EXPECT_TRUE(again.sensors().empty());
  auto st = db->get_state("sensor", "default", "ci");
  ASSERT_TRUE(st.ok());
  EXPECT_FALSE(st->has_value());
}

TEST(sensor_manager, slowest_sequence_is_what_every_sensor_has_handled) {
  testing::temp_dir dir;
  auto db = testing::open_store(dir.path());
  testing::fake_workflows workflows;
  kairos::manual_clock clock;
  boost::asio::io_context io;
  manager_settings settings;
  settings.data_dir = dir.path();
  manager m(settings, *db, workflows, clock, io.get_executor());
  ASSERT_TRUE(m.start().ok());
  m.wait_idle();
  EXPECT_FALSE(m.slowest_sequence().has_value());  // nothing consumes the journal

  store_sensor(*db);
  m.resync();
  m.wait_idle();
  ASSERT_TRUE(m.slowest_sequence().has_value());
  auto appended = db->append_event(testing::make_record("ev-9", "ci", "push", {{"body", {}}}));
  ASSERT_TRUE(appended.ok());
  EXPECT_LT(*m.slowest_sequence(), appended->sequence);  // not yet read
  m.notify();
  m.wait_idle();
  EXPECT_EQ(*m.slowest_sequence(), appended->sequence);
  m.stop();
}

}  // namespace
}  // namespace kairos::sensors
