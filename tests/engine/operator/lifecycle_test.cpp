#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

using namespace std::chrono_literals;

outcome echo(const std::string&, const task& t) {
  const auto cmd = command_of(t);
  return exited(0, cmd.substr(cmd.find(' ') + 1));
}

const char* exit_yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  onExit: notify
  templates:
    - name: main
      dag:
        tasks:
          - {name: work, template: ok, onExit: cleanup}
          - {name: break, depends: work, template: ok}
    - name: ok
      container: {image: x, command: ["true"]}
    - name: cleanup
      container: {image: x, command: [echo, cleaned]}
    - name: notify
      container: {image: x, command: [echo, "ended {{workflow.status}} {{workflow.failures}}"]}
)";

TEST(operator_lifecycle, exit_handlers_run_with_workflow_status_and_failures) {
  harness h;
  ASSERT_TRUE(h.create(exit_yaml));
  EXPECT_EQ(h.run([](const std::string& d, const task& t) {
    return d == "break" ? exited(1) : echo(d, t);
  }),
            "Failed");
  EXPECT_EQ(h.node_phase("work.onExit"), "Succeeded");
  EXPECT_EQ(h.node("work.onExit")["name"], "wf.work.onExit");
  EXPECT_EQ(h.node_phase("wf.onExit"), "Succeeded");
  const std::string r = h.result_of("wf.onExit");
  EXPECT_EQ(r.rfind("ended Failed [", 0), 0u) << r;
  auto failures = json::parse(r.substr(std::string("ended Failed ").size()));
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0]["displayName"], "break");
  EXPECT_EQ(failures[0]["phase"], "Failed");
  EXPECT_EQ(failures[0]["message"], "Error (exit code 1)");
}

TEST(operator_lifecycle, task_exit_hook_runs_before_dependents) {
  harness h;
  ASSERT_TRUE(h.create(exit_yaml));
  h.step();
  ASSERT_TRUE(h.finish("work", exited(0)));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.display(out.launches[0].node_id), "work.onExit");
  ASSERT_TRUE(h.finish("work.onExit", exited(0)));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.display(out.launches[0].node_id), "break");
}

TEST(operator_lifecycle, failing_exit_handler_fails_a_succeeded_workflow) {
  harness h;
  ASSERT_TRUE(h.create(exit_yaml));
  EXPECT_EQ(
      h.run([](const std::string& d, const task&) { return exited(d == "wf.onExit" ? 1 : 0); }),
      "Failed");
}

TEST(operator_lifecycle, suspend_template_with_duration_requeues_then_succeeds) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: pause, template: pause}
        - - {name: after, template: t}
    - name: pause
      suspend: {duration: "30"}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  EXPECT_TRUE(out.launches.empty());
  ASSERT_TRUE(out.requeue_at);
  EXPECT_EQ(*out.requeue_at - h.clock.now(), 30s);
  EXPECT_EQ(h.node("pause")["type"], "Suspend");
  EXPECT_EQ(h.node_phase("pause"), "Running");
  h.clock.advance(30s);
  out = h.step();
  EXPECT_EQ(h.node_phase("pause"), "Succeeded");
  ASSERT_EQ(out.launches.size(), 1u);
}

TEST(operator_lifecycle, suspend_without_duration_waits_for_resume) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: approve, template: approve}], [{name: after, template: t}]]
    - name: approve
      suspend: {}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  EXPECT_FALSE(out.requeue_at);
  h.clock.advance(1h);
  out = h.step();
  EXPECT_TRUE(out.launches.empty());
  ASSERT_TRUE(h.op->resume(h.clock.now()));
  out = h.step();
  EXPECT_EQ(out.launches.size(), 1u);
  EXPECT_FALSE(h.op->resume(h.clock.now()));  // nothing is suspended any more
}

TEST(operator_lifecycle, suspended_workflow_launches_nothing_until_resumed) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: a, template: t}], [{name: b, template: t}]]
    - name: t
      container: {image: x, command: ["true"]}
)"));
  h.step();
  ASSERT_TRUE(h.op->suspend());
  EXPECT_FALSE(h.op->suspend());
  EXPECT_EQ(h.op->workflow_json_without_nodes()["spec"]["suspend"], true);
  ASSERT_TRUE(h.finish("a", exited(0)));
  auto out = h.step();
  EXPECT_TRUE(out.launches.empty());
  ASSERT_TRUE(h.op->resume(h.clock.now()));
  out = h.step();
  EXPECT_EQ(out.launches.size(), 1u);
}

TEST(operator_lifecycle, stop_kills_running_nodes_and_still_runs_exit_handler) {
  harness h;
  ASSERT_TRUE(h.create(exit_yaml));
  h.step();
  ASSERT_TRUE(h.op->stop(h.clock.now()));
  auto out = h.step();
  ASSERT_EQ(out.kills.size(), 1u);
  outcome killed;
  killed.what = outcome::kind::signaled;
  killed.signal = 15;
  ASSERT_TRUE(h.finish("work", killed));
  EXPECT_EQ(h.run(echo), "Failed");
  EXPECT_EQ(h.node("work")["message"], "Stopped with strategy 'Stop'");
  EXPECT_EQ(h.node_phase("wf.onExit"), "Succeeded");
  EXPECT_EQ(h.count_launched("break"), 0u);
  EXPECT_EQ(h.wf()["status"]["message"], "Stopped with strategy 'Stop'");
}

TEST(operator_lifecycle, terminate_skips_exit_handlers) {
  harness h;
  ASSERT_TRUE(h.create(exit_yaml));
  h.step();
  ASSERT_TRUE(h.op->terminate(h.clock.now()));
  auto out = h.step();
  ASSERT_EQ(out.kills.size(), 1u);
  outcome killed;
  killed.what = outcome::kind::signaled;
  ASSERT_TRUE(h.finish("work", killed));
  EXPECT_EQ(h.run(echo), "Failed");
  EXPECT_EQ(h.count_launched("wf.onExit"), 0u);
  EXPECT_FALSE(h.op->terminate(h.clock.now()));
}

TEST(operator_lifecycle, template_deadline_kills_the_node_and_fails_it) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: slow
  templates:
    - name: slow
      activeDeadlineSeconds: "5"
      container: {image: x, command: [sleep, "30"]}
)"));
  auto out = h.step();
  ASSERT_TRUE(out.requeue_at);
  EXPECT_EQ(*out.requeue_at - h.clock.now(), 5s);
  h.clock.advance(5s);
  out = h.step();
  ASSERT_EQ(out.kills.size(), 1u);
  outcome killed;
  killed.what = outcome::kind::signaled;
  killed.signal = 9;
  ASSERT_TRUE(h.finish("wf", killed));
  h.step();
  EXPECT_EQ(h.op->phase(), "Failed");
  EXPECT_EQ(h.node("wf")["message"],
            "Pod was active on the node longer than the specified deadline");
}

TEST(operator_lifecycle, timeout_is_a_deadline_too) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: slow
  templates:
    - name: slow
      timeout: 2m
      container: {image: x, command: [sleep, "300"]}
)"));
  auto out = h.step();
  ASSERT_TRUE(out.requeue_at);
  EXPECT_EQ(*out.requeue_at - h.clock.now(), 120s);
}

TEST(operator_lifecycle, workflow_deadline_kills_everything_and_fails) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  activeDeadlineSeconds: 10
  templates:
    - name: main
      steps: [[{name: a, template: t}, {name: b, template: t}], [{name: c, template: t}]]
    - name: t
      container: {image: x, command: [sleep, "60"]}
)"));
  auto out = h.step();
  ASSERT_TRUE(out.requeue_at);
  h.clock.advance(10s);
  out = h.step();
  EXPECT_EQ(out.kills.size(), 2u);
  outcome killed;
  killed.what = outcome::kind::signaled;
  ASSERT_TRUE(h.finish("a", killed));
  ASSERT_TRUE(h.finish("b", killed));
  h.step();
  EXPECT_EQ(h.op->phase(), "Failed");
  EXPECT_EQ(h.wf()["status"]["message"], "Step exceeded its deadline");
  EXPECT_EQ(h.count_launched("c"), 0u);
}

TEST(operator_lifecycle, recover_marks_running_leaves_error_and_retries_them) {
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
          - {name: first, template: t}
          - {name: s1, depends: first, template: t}
          - {name: s2, depends: first, template: t}
    - name: t
      retryStrategy: {limit: "2", retryPolicy: Always}
      container: {image: x, command: ["true"]}
)"));
  h.step();
  ASSERT_TRUE(h.finish("first(0)", exited(0)));
  h.step();
  ASSERT_EQ(h.running.size(), 2u);
  // The server dies; a new operator is built from what was stored.
  json stored = h.wf();
  harness h2;
  ASSERT_TRUE(h2.create_json(stored));
  h2.op->recover(h2.clock.now());
  EXPECT_EQ(h2.node_phase("s1(0)"), "Error");
  EXPECT_EQ(h2.node("s1(0)")["message"], "the executor restarted");
  EXPECT_EQ(h2.run(), "Succeeded");
  EXPECT_EQ(h2.count_launched("first(0)"), 0u);
  EXPECT_EQ(h2.count_launched("first(1)"), 0u);
  EXPECT_EQ(h2.count_launched("s1(1)"), 1u);
  EXPECT_EQ(h2.count_launched("s2(1)"), 1u);
  EXPECT_EQ(h2.node_phase("s1"), "Succeeded");
}

TEST(operator_lifecycle, restored_workflow_continues_without_rerunning_finished_nodes) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      steps: [[{name: a, template: t}], [{name: b, template: t, withItems: [1, 2]}], [{name: c, template: t}]]
    - name: t
      container: {image: x, command: ["true"]}
)"));
  h.step();
  ASSERT_TRUE(h.finish("a", exited(0)));
  h.step();
  ASSERT_TRUE(h.finish("b(0:1)", exited(0)));
  h.step();
  harness h2;
  ASSERT_TRUE(h2.create_json(h.wf()));
  h2.op->recover(h2.clock.now());
  EXPECT_EQ(h2.run(), "Failed");  // b(1:2) was running: Error, no retry strategy
  EXPECT_EQ(h2.count_launched("a"), 0u);
  EXPECT_EQ(h2.count_launched("b(0:1)"), 0u);
  EXPECT_EQ(h2.node_phase("b(1:2)"), "Error");
}

TEST(operator_lifecycle, retry_action_reruns_only_failed_nodes) {
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
          - {name: a, template: t}
          - {name: b, template: t}
          - {name: c, template: t, dependencies: [a, b]}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  EXPECT_FALSE(h.op->retry(h.clock.now()));  // not failed yet
  EXPECT_EQ(h.run([](const std::string& d, const task&) { return exited(d == "b" ? 1 : 0); }),
            "Failed");
  EXPECT_EQ(h.node_phase("c"), "Omitted");
  ASSERT_TRUE(h.op->retry(h.clock.now()));
  EXPECT_EQ(h.op->phase(), "Running");
  h.launched.clear();
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.count_launched("a"), 0u);
  EXPECT_EQ(h.count_launched("b"), 1u);
  EXPECT_EQ(h.count_launched("c"), 1u);
}

TEST(operator_lifecycle, workflow_parallelism_bounds_running_leaves) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  parallelism: 2
  templates:
    - name: main
      dag:
        tasks:
          - {name: work, template: t, withSequence: {count: "5"}}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  EXPECT_EQ(out.launches.size(), 2u);
  ASSERT_TRUE(h.finish("work(0:0)", exited(0)));
  out = h.step();
  EXPECT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.launched.size(), 5u);
}

const char* throttled_yaml = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  parallelism: 1
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t}
          - {name: b, template: t}
          - {name: c, template: t, dependencies: [a]}
    - name: t
      container: {image: x, command: ["true"]}
)";

std::vector<std::string> displays(const harness& h, const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.push_back(h.display(id));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(operator_lifecycle, workflow_parallelism_creates_no_node_for_a_task_waiting_for_a_slot) {
  harness h;
  ASSERT_TRUE(h.create(throttled_yaml));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.display(out.launches[0].node_id), "a");
  // b waits for the slot: as in Argo, it is not a node yet, anywhere.
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "wf"}));
  EXPECT_EQ(h.wf()["status"]["nodes"].size(), 2u);
  EXPECT_EQ(h.node_phase("b"), "<none>");
  const json root = h.node("wf");
  ASSERT_TRUE(root.contains("children"));
  EXPECT_EQ(root["children"], json::array({h.node("a")["id"]}));

  h.clock.advance(5s);
  ASSERT_TRUE(h.finish("a", exited(0)));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.display(out.launches[0].node_id), "b");
  // b appears with the slot, and the DAG node that lists it is stored again;
  // c (ready now, no slot) does not appear.
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "b", "wf"}));
  EXPECT_EQ(h.node_phase("b"), "Running");
  EXPECT_EQ(h.node("b")["startedAt"], "2024-01-01T00:00:05Z");
  EXPECT_EQ(h.node_phase("c"), "<none>");
  EXPECT_EQ(h.node("wf")["children"], json::array({h.node("a")["id"], h.node("b")["id"]}));
  EXPECT_FALSE(h.node("a").contains("children"));

  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(h.node_phase("c"), "Succeeded");
  EXPECT_EQ(h.node("a")["children"], json::array({h.node("c")["id"]}));
  // Once nothing is held back, the children are listed unfiltered: the
  // same as while c was.
  EXPECT_EQ(h.node("wf")["children"], json::array({h.node("a")["id"], h.node("b")["id"]}));
  EXPECT_EQ(h.launched, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(operator_lifecycle, a_parent_is_stored_again_for_a_held_back_child_only_once_it_shows) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  parallelism: 2
  templates:
    - name: main
      dag:
        tasks:
          - {name: r, template: t}
          - {name: a, template: t}
          - {name: b, template: t}
          - {name: y, template: t}
          - {name: x, template: t, dependencies: [a, b]}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "r", "wf"}));
  ASSERT_TRUE(h.finish("a", exited(0)));
  out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "b", "wf"}));
  // b's end makes x ready, but y has the free slot: x is held back, so a,
  // whose only change is listing x, is not stored for it yet.
  ASSERT_TRUE(h.finish("b", exited(0)));
  out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"b", "wf", "y"}));
  EXPECT_EQ(h.node_phase("x"), "<none>");
  EXPECT_FALSE(h.node("a").contains("children"));
  // x shows once it launches. Its parents are finished Pods, whose new
  // children are stored within children_store_lag: not with x, but by an
  // operate the outcome asks for at the latest then.
  ASSERT_TRUE(h.finish("y", exited(0)));
  out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(h.node("a")["children"], json::array({h.node("x")["id"]}));
  ASSERT_TRUE(out.requeue_at);
  EXPECT_LE(*out.requeue_at, h.clock.now() + 1s);
  h.clock.set(*out.requeue_at);
  out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(h.node("b")["children"], json::array({h.node("x")["id"]}));
}

// b waits for a and c, which run together; a ends first.
constexpr const char* b_after_a_and_c = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t}
          - {name: c, template: t}
          - {name: b, template: t, dependencies: [a, c]}
    - name: t
      container: {image: x, command: ["true"]}
)";

TEST(operator_lifecycle, a_finished_pods_new_children_are_stored_when_the_workflow_finishes) {
  harness h;
  ASSERT_TRUE(h.create(b_after_a_and_c));
  auto out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "c", "wf"}));
  ASSERT_TRUE(h.finish("a", exited(0)));
  out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a"}));
  // c's end launches b: c is stored with its own change, a (finished in an
  // earlier pass) is not stored again only to list b.
  ASSERT_TRUE(h.finish("c", exited(0)));
  out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(h.node("c")["children"], json::array({h.node("b")["id"]}));
  ASSERT_TRUE(h.finish("b", exited(0)));
  out = h.step();
  // Well inside the lag, but the workflow is done: a goes with the rest.
  EXPECT_TRUE(out.completed);
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "b", "wf"}));
  EXPECT_EQ(h.node("a")["children"], json::array({h.node("b")["id"]}));
}

TEST(operator_lifecycle, many_parents_due_together_are_stored_a_slice_per_step) {
  // z waits for 70 tasks that finish early and for q, which finishes
  // later: when z launches, the 70 finished Pods each gain a child.
  std::string tasks;
  std::string deps;
  for (int i = 0; i < 70; ++i) {
    tasks += "          - {name: p" + std::to_string(i) + ", template: t}\n";
    deps += "p" + std::to_string(i) + ", ";
  }
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
)" + tasks + R"(          - {name: q, template: t}
          - {name: w, template: t}
          - {name: z, template: t, dependencies: [)" +
                       deps + R"(q]}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  h.step();
  for (int i = 0; i < 70; ++i) ASSERT_TRUE(h.finish("p" + std::to_string(i), exited(0)));
  h.step();
  ASSERT_TRUE(h.finish("q", exited(0)));
  auto out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"q", "z"}));
  ASSERT_TRUE(out.requeue_at);
  h.clock.set(*out.requeue_at);
  // Due: 64 of them now, and the next step comes within a few milliseconds
  // for the other six.
  out = h.step();
  EXPECT_EQ(out.changed_nodes.size(), 64U);
  ASSERT_TRUE(out.requeue_at);
  EXPECT_LE(*out.requeue_at, h.clock.now() + 5ms);
  h.clock.set(*out.requeue_at);
  out = h.step();
  EXPECT_EQ(out.changed_nodes.size(), 6U);
  EXPECT_FALSE(out.requeue_at);
  for (int i = 0; i < 70; ++i)
    EXPECT_EQ(h.node("p" + std::to_string(i))["children"], json::array({h.node("z")["id"]}));
}

// What a crash leaves: each node as its last stored row has it.
json as_stored(const harness& h, const std::map<std::string, json>& rows) {
  json wf = h.wf();
  json nodes = json::object();
  for (const auto& [id, body] : rows) nodes[id] = body;
  wf["status"]["nodes"] = nodes;
  return wf;
}

TEST(operator_lifecycle,
     a_child_not_yet_stored_in_its_finished_parent_is_listed_again_after_a_restart) {
  harness h;
  ASSERT_TRUE(h.create(b_after_a_and_c));
  std::map<std::string, json> rows;
  auto store = [&](const operate_outcome& out) {
    for (const auto& id : out.changed_nodes) rows[id] = h.op->node_json(id);
  };
  store(h.step());
  ASSERT_TRUE(h.finish("a", exited(0)));
  store(h.step());
  ASSERT_TRUE(h.finish("c", exited(0)));
  store(h.step());
  const std::string a_id = h.node("a")["id"];
  const std::string b_id = h.node("b")["id"];
  ASSERT_FALSE(rows[a_id].contains("children")) << "a's new child waits";

  harness h2;
  ASSERT_TRUE(h2.create_json(as_stored(h, rows)));
  h2.op->recover(h2.clock.now());
  // b was running: it becomes Error, and the DAG with it. The walk that
  // gets there lists b under a again, and the final commit stores a.
  operate_outcome out;
  for (int i = 0; i < 5 && !out.completed; ++i) {
    out = h2.step();
    for (const auto& id : out.changed_nodes) rows[id] = h2.op->node_json(id);
  }
  ASSERT_TRUE(out.completed);
  EXPECT_EQ(h2.node_phase("b"), "Error");
  EXPECT_EQ(rows[a_id]["children"], json::array({b_id}));
  EXPECT_EQ(rows[a_id]["phase"], "Succeeded");
}

TEST(operator_lifecycle, a_retrying_task_waiting_for_a_slot_has_neither_retry_nor_attempt_node) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  parallelism: 1
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t}
          - {name: b, template: flaky}
    - name: t
      container: {image: x, command: ["true"]}
    - name: flaky
      retryStrategy: {limit: 1}
      container: {image: x, command: ["false"]}
)"));
  auto out = h.step();
  // As in Argo, which checks parallelism before it creates the Retry node.
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "wf"}));
  EXPECT_EQ(h.wf()["status"]["nodes"].size(), 2u);
  EXPECT_EQ(h.node_phase("b"), "<none>");
  EXPECT_EQ(h.node_phase("b(0)"), "<none>");
  EXPECT_EQ(h.node("wf")["children"], json::array({h.node("a")["id"]}));

  h.clock.advance(5s);
  ASSERT_TRUE(h.finish("a", exited(0)));
  out = h.step();
  EXPECT_EQ(displays(h, out.changed_nodes), (std::vector<std::string>{"a", "b", "b(0)", "wf"}));
  EXPECT_EQ(h.node_phase("b"), "Running");
  EXPECT_EQ(h.node("b")["startedAt"], "2024-01-01T00:00:05Z");
  EXPECT_EQ(h.node("b")["children"], json::array({h.node("b(0)")["id"]}));
  EXPECT_EQ(h.node("wf")["children"], json::array({h.node("a")["id"], h.node("b")["id"]}));

  // The second attempt runs under the Retry node, which stays shown.
  ASSERT_TRUE(h.finish("b(0)", exited(1)));
  out = h.step();
  EXPECT_EQ(h.node_phase("b(1)"), "Running");
  EXPECT_EQ(h.node("b")["children"].size(), 2u);
}

TEST(operator_lifecycle, a_task_that_never_got_a_slot_runs_once_after_a_restore) {
  harness h;
  ASSERT_TRUE(h.create(throttled_yaml));
  h.step();
  ASSERT_EQ(h.running.size(), 1u);
  const std::string a_id = h.running.begin()->first;
  // What the store holds: b was never a node.
  json stored = h.wf();
  ASSERT_EQ(stored["status"]["nodes"].size(), 2u);

  harness h2;
  ASSERT_TRUE(h2.create_json(stored));
  // a still runs (a restore without recover); its slot is still taken.
  EXPECT_TRUE(h2.step().launches.empty());
  h2.op->complete_node(a_id, exited(0), h2.clock.now());
  EXPECT_EQ(h2.run(), "Succeeded");
  EXPECT_EQ(h2.count_launched("a"), 0u);
  EXPECT_EQ(h2.count_launched("b"), 1u);
  EXPECT_EQ(h2.count_launched("c"), 1u);
  EXPECT_EQ(h2.wf()["status"]["nodes"].size(), 4u);
}

TEST(operator_lifecycle, template_parallelism_bounds_a_dag) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      parallelism: 1
      dag:
        tasks:
          - {name: a, template: t}
          - {name: b, template: t}
    - name: t
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  EXPECT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.run(), "Succeeded");
}

TEST(operator_lifecycle, mutex_serialises_nodes_through_the_sync_manager) {
  harness h;
  simple_sync sync;
  h.env.sync = &sync;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: deploy}
          - {name: b, template: deploy}
    - name: deploy
      synchronization: {mutexes: [{name: prod}]}
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  const std::string first = h.display(out.launches[0].node_id);
  EXPECT_EQ(sync.holders["default/mutex/prod"], "default/wf/" + out.launches[0].node_id);
  const std::string second = first == "a" ? "b" : "a";
  EXPECT_NE(h.node(second).value("message", "").find("default/mutex/prod"), std::string::npos);
  ASSERT_TRUE(h.finish(first, exited(0)));
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.display(out.launches[0].node_id), second);
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(sync.holders["default/mutex/prod"], "");
}

TEST(operator_lifecycle, workflow_level_semaphore_holds_the_workflow_pending) {
  harness h;
  simple_sync sync;
  sync.holders["default/semaphore/limits/wf"] = "someone-else";
  h.env.sync = &sync;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: t
  synchronization: {semaphores: [{configMapKeyRef: {name: limits, key: wf}}]}
  templates:
    - name: t
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  EXPECT_TRUE(out.launches.empty());
  EXPECT_EQ(h.op->phase(), "Pending");
  sync.holders["default/semaphore/limits/wf"].clear();
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_EQ(sync.holders["default/semaphore/limits/wf"], "");
}

// The stored text is printed without a tree; bytes that are not UTF-8 (a
// result the executor did not clean, say) get the replacing printer's
// U+FFFD, as the tree's printing gave them.
TEST(operator_lifecycle,
     a_node_with_bytes_that_are_not_utf8_is_stored_with_replacement_characters) {
  harness h;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: t
  templates:
    - name: t
      container: {image: x, command: ["true"]}
)"));
  h.step();
  ASSERT_TRUE(h.finish("wf", exited(0, "caf\xe9")));
  h.step();  // the harness compares the text with the tree's printing
  const auto text = h.op->node_json_text(h.node("wf")["id"]);
  EXPECT_NE(text.body.find("caf\xef\xbf\xbd"), std::string::npos) << text.body;
  EXPECT_EQ(text.phase, "Succeeded");
}

}  // namespace
}  // namespace kairos::engine::testing
