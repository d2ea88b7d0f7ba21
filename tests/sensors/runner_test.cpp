// The sensor runner on a real store and a manual clock: matching, conditions,
// workflow triggers, idempotent replays, rate limits and retries.
#include "kairos/sensors/runner.hpp"

#include <future>

#include <gtest/gtest.h>

#include "kairos/core/json_path.hpp"
#include "sqlite_database.hpp"
#include "support.hpp"

namespace kairos::sensors {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using testing::fake_workflows;
using testing::make_record;

struct fixture {
  testing::temp_dir dir;
  std::unique_ptr<store::database> db = testing::open_store(dir.path());
  fake_workflows workflows;
  kairos::manual_clock clock{std::chrono::sys_days(std::chrono::year(2024) / 5 / 1)};

  trigger_services services() {
    trigger_services s;
    s.workflows = &workflows;
    s.clock = &clock;
    s.data_dir = dir.path();
    return s;
  }

  std::unique_ptr<sensor_runner> runner(spec::sensor_spec sp, bool from_start = true,
                                        std::size_t batch = 0) {
    runner_settings rs;
    rs.namespace_ = "default";
    rs.name = "ci";
    rs.start_at_beginning = from_start;
    if (batch > 0) rs.batch = batch;
    auto r = sensor_runner::create(rs, std::move(sp), *db, services(), nullptr);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    auto out = std::move(*r);
    EXPECT_TRUE(out->load().ok());
    return out;
  }

  void append(const std::string& id, const std::string& subject, json data = json::object()) {
    ASSERT_TRUE(db->append_event(make_record(id, "ci", subject, std::move(data))).ok());
  }
};

spec::sensor_spec push_sensor() {
  spec::sensor_spec sp;
  sp.dependencies.push_back(testing::dependency("push", "ci", "push"));
  auto t = testing::workflow_trigger("build");
  t.template_.argo_workflow->parameters.push_back(
      testing::data_param("push", "body.ref", "spec.arguments.parameters.0.value"));
  sp.triggers.push_back(t);
  return sp;
}

TEST(sensor_runner, matching_event_submits_workflow_with_parameters) {
  fixture f;
  auto r = f.runner(push_sensor());
  f.append("e1", "push", {{"body", {{"ref", "refs/heads/main"}}}});
  f.append("e2", "other");  // no dependency matches
  EXPECT_EQ(*r->process_journal(), 2u);
  EXPECT_EQ(r->run_due(), 1u);
  ASSERT_EQ(f.workflows.submissions.size(), 1u);
  const auto& wf = f.workflows.submissions[0].manifest;
  EXPECT_EQ(json_path::get_string(wf, "spec.arguments.parameters.0.value"), "refs/heads/main");
  const std::string name = wf["metadata"]["name"];
  EXPECT_EQ(name, workflow_name_for("ci", "build",
                                    firing_key({{"push", testing::make_event("e1", {})}})));
  EXPECT_EQ(name.rfind("ci-build-", 0), 0u);
  EXPECT_FALSE(wf["metadata"].contains("generateName"));
  const auto& labels = f.workflows.submissions[0].options.labels;
  EXPECT_NE(std::find(labels.begin(), labels.end(),
                      std::pair<std::string, std::string>{"events.argoproj.io/sensor", "ci"}),
            labels.end());
}

TEST(sensor_runner, a_backlog_of_many_pages_is_handled_once_each_in_journal_order) {
  fixture f;
  auto r = f.runner(push_sensor(), true, 3);
  for (int i = 0; i < 10; ++i)
    f.append("e" + std::to_string(i), i == 4 ? "other" : "push",
             {{"body", {{"ref", "r" + std::to_string(i)}}}});
  EXPECT_EQ(*r->process_journal(), 10u);
  EXPECT_EQ(r->last_sequence(), 10);
  r->run_due();
  std::vector<std::string> refs;
  for (const auto& sub : f.workflows.submissions)
    refs.push_back(json_path::get_string(sub.manifest, "spec.arguments.parameters.0.value"));
  EXPECT_EQ(refs, (std::vector<std::string>{"r0", "r1", "r2", "r3", "r5", "r6", "r7", "r8", "r9"}));
  r->flush();
  const auto stored = f.db->get_state("sensor", "default", "ci");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((**stored)["last_sequence"], 10);
  EXPECT_EQ(*r->process_journal(), 0u);
}

TEST(sensor_runner, a_long_catch_up_reports_its_progress_after_every_page) {
  fixture f;
  auto r = f.runner(push_sensor(), true, 4);
  for (int i = 0; i < 10; ++i) f.append("e" + std::to_string(i), "push");
  std::vector<std::int64_t> progress;
  EXPECT_EQ(*r->process_journal([&](std::int64_t seq) { progress.push_back(seq); }), 10u);
  // An event source holding back for this sensor sees it move page by page,
  // not only once the whole backlog is done.
  EXPECT_EQ(progress, (std::vector<std::int64_t>{4, 8, 10}));
}

TEST(sensor_runner, pages_are_handled_while_their_saves_wait_for_the_store) {
  fixture f;
  auto* sqlite = dynamic_cast<store::detail::sqlite_database*>(f.db.get());
  ASSERT_NE(sqlite, nullptr);
  auto r = f.runner(push_sensor(), true, 4);
  for (int i = 0; i < 10; ++i)
    f.append("e" + std::to_string(i), "push", {{"body", {{"ref", "r" + std::to_string(i)}}}});
  sqlite->pause_writer();
  // Bounded waits: a runner that waited for its saves would never return
  // while the writer is held.
  auto handled = std::async(std::launch::async, [&] {
    auto n = r->process_journal();
    r->run_due();
    return n.ok() ? *n : 0;
  });
  ASSERT_EQ(handled.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(handled.get(), 10u);
  EXPECT_EQ(f.workflows.submissions.size(), 10u);
  // Nothing it saved is committed yet, and flush() waits until it is.
  auto stored = f.db->get_state("sensor", "default", "ci");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((**stored)["last_sequence"], 0);
  auto flushed = std::async(std::launch::async, [&] { r->flush(); });
  EXPECT_EQ(flushed.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  sqlite->resume_writer();
  ASSERT_EQ(flushed.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  stored = f.db->get_state("sensor", "default", "ci");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((**stored)["last_sequence"], 10);
  EXPECT_TRUE((**stored)["pending"].empty());
}

TEST(sensor_runner, a_save_that_fails_is_made_again_at_the_next_chance) {
  fixture f;
  auto* sqlite = dynamic_cast<store::detail::sqlite_database*>(f.db.get());
  ASSERT_NE(sqlite, nullptr);
  auto r = f.runner(push_sensor());
  f.append("e1", "other");  // fires nothing: one save, after the page
  sqlite->fail_next_commit();
  EXPECT_EQ(*r->process_journal(), 1u);
  r->flush();
  auto stored = f.db->get_state("sensor", "default", "ci");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((**stored)["last_sequence"], 0);
  // Nothing new to read, and still the progress is saved.
  EXPECT_EQ(*r->process_journal(), 0u);
  r->flush();
  stored = f.db->get_state("sensor", "default", "ci");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((**stored)["last_sequence"], 1);
}

TEST(sensor_runner, replay_after_crash_does_not_submit_twice) {
  fixture f;
  f.append("e0", "other");  // handled, fires nothing
  {
    auto r = f.runner(push_sensor());
    f.append("e1", "push", {{"body", {{"ref", "x"}}}});
    ASSERT_TRUE(r->process_journal().ok());
    EXPECT_EQ(r->pending(), 1u);
    // Crash here, before the action: the progress before e1 is stored, so
    // the restart handles e1 again and derives the same firing.
  }
  const auto before_action = f.db->get_state("sensor", "default", "ci");
  ASSERT_TRUE(before_action.ok() && before_action->has_value());
  EXPECT_EQ((**before_action)["last_sequence"], 1);
  EXPECT_TRUE((**before_action)["pending"].empty());
  {
    auto r = f.runner(push_sensor());
    EXPECT_EQ(*r->process_journal(), 1u);
    EXPECT_EQ(r->run_due(), 1u);
  }
  ASSERT_EQ(f.workflows.submissions.size(), 1u);
  const auto after_action = f.db->get_state("sensor", "default", "ci");
  EXPECT_EQ((**after_action)["last_sequence"], 2);
  // A crash after submitting but before storing the outcome replays the
  // firing; the derived name makes the second submit a no-op.
  ASSERT_TRUE(f.db->put_state("sensor", "default", "ci", **before_action).ok());
  auto again = f.runner(push_sensor());
  ASSERT_TRUE(again->process_journal().ok());
  EXPECT_EQ(again->run_due(), 1u);
  EXPECT_EQ(f.workflows.calls, 2);
  EXPECT_EQ(f.workflows.submissions.size(), 1u);
  EXPECT_EQ(again->pending(), 0u);
}

TEST(sensor_runner, firings_waiting_for_a_retry_are_stored_in_full) {
  fixture f;
  auto sp = push_sensor();
  spec::event_backoff b;
  b.steps = 2;
  b.duration = std::chrono::seconds(5);
  sp.triggers[0].retry_strategy = b;
  {
    auto r = f.runner(sp);
    f.workflows.fail_next = 1;
    f.append("e1", "push", {{"body", {{"ref", "x"}}}});
    ASSERT_TRUE(r->process_journal().ok());
    EXPECT_EQ(r->run_due(), 1u);  // fails; the retry is due in 5 s
  }
  auto st = f.db->get_state("sensor", "default", "ci");
  EXPECT_EQ((**st)["last_sequence"], 1);
  ASSERT_EQ((**st)["pending"].size(), 1u);
  auto r = f.runner(sp);
  EXPECT_EQ(r->pending(), 1u);
  f.clock.advance(5s);
  EXPECT_EQ(r->run_due(), 1u);
  EXPECT_EQ(f.workflows.submissions.size(), 1u);
}

TEST(sensor_runner, event_history_is_stored_apart_and_at_most_once_per_interval) {
  fixture f;
  auto r = f.runner(push_sensor());
  auto history = [&] {
    r->flush();
    auto h = f.db->get_state(sensor_history_scope, "default", "ci");
    return h.ok() && h->has_value() ? (**h)["consumed"].size() : 0u;
  };
  f.append("e1", "push", {{"body", {{"ref", "x"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  r->run_due();
  EXPECT_EQ(history(), 1u);  // the first is stored at once
  f.append("e2", "push", {{"body", {{"ref", "y"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  r->run_due();
  EXPECT_EQ(history(), 1u);  // within the interval: held in memory
  r->flush();
  EXPECT_FALSE((**f.db->get_state("sensor", "default", "ci")).contains("consumed"));
  f.clock.advance(1s);
  r->run_due();
  EXPECT_EQ(history(), 2u);
}

spec::sensor_spec three_deps(std::string conditions) {
  spec::sensor_spec sp;
  for (const auto* n : {"a", "b", "c"}) sp.dependencies.push_back(testing::dependency(n, "ci", n));
  sp.triggers.push_back(testing::workflow_trigger("t", std::move(conditions)));
  return sp;
}

TEST(sensor_runner, conditions_fire_when_expression_holds_and_then_clear) {
  fixture f;
  auto r = f.runner(three_deps("a && (b || c)"));
  f.append("1", "b");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 0u);
  EXPECT_EQ(r->held("t"), (std::vector<std::string>{"b"}));
  f.append("2", "a");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 1u);
  EXPECT_TRUE(r->held("t").empty());
  r->run_due();
  ASSERT_EQ(f.workflows.submissions.size(), 1u);
  // After firing, `a` alone is not enough again.
  f.append("3", "a");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 0u);
}

TEST(sensor_runner, latest_event_per_dependency_is_kept) {
  fixture f;
  auto r = f.runner(three_deps("a && b"));
  f.append("1", "a");
  f.append("2", "a");
  f.append("3", "b");
  ASSERT_TRUE(r->process_journal().ok());
  r->run_due();
  ASSERT_EQ(f.workflows.submissions.size(), 1u);
  event_map expected{{"a", testing::make_event("2", {})}, {"b", testing::make_event("3", {})}};
  EXPECT_EQ(f.workflows.submissions[0].manifest["metadata"]["name"],
            workflow_name_for("ci", "t", firing_key(expected)));
}

TEST(sensor_runner, without_conditions_all_dependencies_are_required) {
  fixture f;
  auto r = f.runner(three_deps(""));
  f.append("1", "a");
  f.append("2", "b");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 0u);
  f.append("3", "c");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 1u);
}

TEST(sensor_runner, or_condition_fires_on_each_event) {
  fixture f;
  auto r = f.runner(three_deps("a || b"));
  f.append("1", "a");
  f.append("2", "b");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->run_due(), 2u);
  EXPECT_EQ(f.workflows.submissions.size(), 2u);
}

TEST(sensor_runner, conditions_reset_by_cron_clears_held_events) {
  fixture f;
  auto sp = three_deps("a && b");
  spec::conditions_reset_criteria reset;
  reset.by_time = spec::conditions_reset_by_time{"0 * * * *", "UTC"};
  sp.triggers[0].template_.conditions_reset.push_back(reset);
  auto r = f.runner(sp);
  f.append("1", "a");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->held("t").size(), 1u);
  ASSERT_TRUE(r->next_due().has_value());
  f.clock.advance(30min);
  r->check_resets();
  EXPECT_EQ(r->held("t").size(), 1u);
  f.clock.advance(31min);
  r->check_resets();
  EXPECT_TRUE(r->held("t").empty());
  f.append("2", "b");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 0u);
}

TEST(sensor_runner, filtered_out_event_is_discarded) {
  fixture f;
  auto sp = push_sensor();
  sp.dependencies[0].filters.emplace();
  spec::data_filter df;
  df.path = "body.ref";
  df.value = {"^refs/heads/main$"};
  sp.dependencies[0].filters->data.push_back(df);
  auto r = f.runner(sp);
  f.append("1", "push", {{"body", {{"ref", "refs/heads/dev"}}}});
  f.append("2", "push", {{"body", {{"ref", "refs/heads/main"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 1u);
  EXPECT_EQ(r->last_sequence(), 2);
}

TEST(sensor_runner, new_sensor_starts_at_the_end_of_the_journal) {
  fixture f;
  f.append("old", "push", {{"body", {{"ref", "x"}}}});
  auto r = f.runner(push_sensor(), /*from_start=*/false);
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->pending(), 0u);
  f.append("new", "push", {{"body", {{"ref", "x"}}}});
  EXPECT_EQ(*r->process_journal(), 1u);
  EXPECT_EQ(r->pending(), 1u);
}

TEST(sensor_runner, operations_act_on_the_named_workflow) {
  fixture f;
  auto sp = push_sensor();
  auto& w = *sp.triggers[0].template_.argo_workflow;
  w.operation = spec::argo_workflow_operation::resume;
  w.parameters = {testing::data_param("push", "body.wf", "metadata.name")};
  auto r = f.runner(sp);
  f.append("1", "push", {{"body", {{"wf", "nightly-1"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  r->run_due();
  ASSERT_EQ(f.workflows.actions.size(), 1u);
  EXPECT_EQ(f.workflows.actions[0].name, "nightly-1");
  EXPECT_EQ(f.workflows.actions[0].ns, "default");
  EXPECT_EQ(f.workflows.actions[0].action, engine::workflow_action::resume);
  EXPECT_TRUE(f.workflows.submissions.empty());
}

TEST(sensor_runner, k8s_trigger_creates_the_workflow) {
  fixture f;
  spec::sensor_spec sp;
  sp.dependencies.push_back(testing::dependency("push", "ci", "push"));
  spec::trigger t;
  t.template_.name = "create";
  spec::k8s_trigger k;
  k.source.resource = testing::hello_workflow();
  k.source.resource["metadata"] = {{"name", "fixed-name"}, {"namespace", "team"}};
  t.template_.k8s = k;
  sp.triggers.push_back(t);
  auto r = f.runner(sp);
  f.append("1", "push");
  ASSERT_TRUE(r->process_journal().ok());
  r->run_due();
  ASSERT_EQ(f.workflows.submissions.size(), 1u);
  EXPECT_EQ(f.workflows.submissions[0].manifest["metadata"]["name"], "fixed-name");
  EXPECT_EQ(f.workflows.submissions[0].manifest["metadata"]["namespace"], "team");
}

TEST(sensor_runner, rate_limit_delays_firings_on_the_clock) {
  fixture f;
  auto sp = three_deps("a");
  sp.triggers[0].rate_limit_ = spec::rate_limit{spec::rate_limit_unit::second, 2};
  auto r = f.runner(sp);
  for (int i = 0; i < 3; ++i) f.append("e" + std::to_string(i), "a");
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->run_due(), 2u);
  EXPECT_EQ(r->pending(), 1u);
  EXPECT_EQ(r->run_due(), 0u);
  f.clock.advance(400ms);
  EXPECT_EQ(r->run_due(), 0u);
  f.clock.advance(200ms);
  EXPECT_EQ(r->run_due(), 1u);
  EXPECT_EQ(f.workflows.submissions.size(), 3u);
}

TEST(sensor_runner, retry_strategy_backs_off_on_the_clock) {
  fixture f;
  auto sp = push_sensor();
  spec::event_backoff b;
  b.steps = 3;
  b.duration = std::chrono::seconds(2);
  b.factor = 2.0;
  sp.triggers[0].retry_strategy = b;
  auto r = f.runner(sp);
  f.workflows.fail_next = 2;
  f.append("1", "push", {{"body", {{"ref", "x"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->run_due(), 1u);  // fails, retry in 2s
  EXPECT_EQ(r->pending(), 1u);
  f.clock.advance(1900ms);
  EXPECT_EQ(r->run_due(), 0u);
  f.clock.advance(100ms);
  EXPECT_EQ(r->run_due(), 1u);  // fails, retry in 4s
  f.clock.advance(3s);
  EXPECT_EQ(r->run_due(), 0u);
  f.clock.advance(1s);
  EXPECT_EQ(r->run_due(), 1u);  // succeeds
  EXPECT_EQ(r->pending(), 0u);
  EXPECT_EQ(f.workflows.submissions.size(), 1u);
}

TEST(sensor_runner, exhausted_retries_drop_the_firing_and_record_failure) {
  fixture f;
  auto r = f.runner(push_sensor());
  f.workflows.fail_next = 1;
  f.append("1", "push", {{"body", {{"ref", "x"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  EXPECT_EQ(r->run_due(), 1u);
  EXPECT_EQ(r->pending(), 0u);
  r->flush();
  auto st = f.db->get_state(sensor_history_scope, "default", "ci");
  ASSERT_TRUE(st.ok() && st->has_value());
  EXPECT_EQ((**st)["consumed"][0]["outcome"], "failed");
}

TEST(sensor_runner, at_most_once_forgets_the_firing_before_acting) {
  fixture f;
  auto sp = push_sensor();
  sp.triggers[0].at_least_once = false;
  auto r = f.runner(sp);
  f.append("1", "push", {{"body", {{"ref", "x"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  f.workflows.fail_next = 1;
  r->run_due();
  // The failed firing is not in the stored state: a restart will not retry it.
  r->flush();
  auto st = f.db->get_state("sensor", "default", "ci");
  EXPECT_TRUE((**st)["pending"].empty());
}

TEST(sensor_runner, trigger_parameters_rewrite_the_template) {
  fixture f;
  auto sp = push_sensor();
  sp.triggers[0].parameters.push_back(
      testing::data_param("push", "body.ns", "argoWorkflow.source.resource.metadata.namespace"));
  auto r = f.runner(sp);
  f.append("1", "push", {{"body", {{"ref", "x"}, {"ns", "team-a"}}}});
  ASSERT_TRUE(r->process_journal().ok());
  r->run_due();
  ASSERT_EQ(f.workflows.submissions.size(), 1u);
  EXPECT_EQ(f.workflows.submissions[0].manifest["metadata"]["namespace"], "team-a");
}

TEST(sensor_runner, bad_conditions_or_trigger_type_fail_creation) {
  fixture f;
  runner_settings rs;
  rs.name = "x";
  auto sp = three_deps("a && nope");
  EXPECT_FALSE(sensor_runner::create(rs, sp, *f.db, f.services(), nullptr).ok());
  auto kafka = three_deps("a");
  kafka.triggers[0].template_.argo_workflow.reset();
  kafka.triggers[0].template_.kafka.emplace();
  EXPECT_FALSE(sensor_runner::create(rs, kafka, *f.db, f.services(), nullptr).ok());
}

TEST(workflow_names, are_sanitised_and_independent_of_event_order) {
  event_map a{{"x", testing::make_event("1", {})}, {"y", testing::make_event("2", {})}};
  event_map b{{"x", testing::make_event("2", {})}, {"y", testing::make_event("1", {})}};
  EXPECT_EQ(firing_key(a), firing_key(b));
  EXPECT_EQ(firing_key(a).size(), 64u);
  EXPECT_EQ(workflow_name_for("My_Sensor", "Build", "0123456789abcdef0123"),
            "my-sensor-build-0123456789abcdef");
}

}  // namespace
}  // namespace kairos::sensors
