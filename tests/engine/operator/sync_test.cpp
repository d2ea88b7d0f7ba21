// `synchronization` on dag, steps and retried templates: the node takes the
// locks before it starts and holds them until it completes, in any phase.
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace kairos::engine::testing {
namespace {

// Mutexes and semaphores with a limit per key (1 unless set), shared by the
// operators of several workflows as the runtime's manager is.
class counting_sync final : public sync_manager {
 public:
  bool try_acquire(const std::string& key, const std::string& holder) override {
    auto& h = holders[key];
    if (h.count(holder) != 0) return true;
    const auto it = limits.find(key);
    const std::size_t limit = it == limits.end() ? 1 : it->second;
    if (h.size() >= limit) return false;
    h.insert(holder);
    return true;
  }
  void release(const std::string& key, const std::string& holder) override {
    holders[key].erase(holder);
    ++releases;
  }
  void restore(const std::string& key, const std::string& holder) override {
    holders[key].insert(holder);
  }
  std::map<std::string, std::set<std::string>> holders;
  std::map<std::string, std::size_t> limits;
  int releases = 0;
};

const char* const mutex_dag = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      synchronization: {mutex: {name: deploy}}
      dag:
        tasks:
          - {name: a, template: leaf}
          - {name: b, template: leaf, depends: a}
    - name: leaf
      container: {image: x, command: ["true"]}
)";

// Two workflows, "one" and "two", whose operators share one lock table as
// the runtime's manager is shared.
struct sharing_lock_table {
  explicit sharing_lock_table(const char* yaml) {
    one.env.sync = &sync;
    two.env.sync = &sync;
    ok = static_cast<bool>(one.create(yaml, "one")) && static_cast<bool>(two.create(yaml, "two"));
  }
  counting_sync sync;
  harness one, two;
  bool ok = false;
};

const std::string deploy = "default/mutex/deploy";

TEST(operator_sync, dag_template_mutex_runs_two_workflows_one_after_the_other) {
  sharing_lock_table p(mutex_dag);
  ASSERT_TRUE(p.ok);
  auto& sync = p.sync;
  auto& one = p.one;
  auto& two = p.two;

  EXPECT_EQ(one.step().launches.size(), 1u);
  EXPECT_EQ(sync.holders[deploy], (std::set<std::string>{"default/one/one"}));

  // The second workflow runs, but its dag node waits Pending for the lock.
  auto out = two.step();
  EXPECT_TRUE(out.launches.empty());
  EXPECT_EQ(two.op->phase(), "Running");
  EXPECT_EQ(two.node_phase("two"), "Pending");
  EXPECT_NE(two.node("two").value("message", "").find(deploy), std::string::npos);
  EXPECT_EQ(two.node_phase("a"), "<none>");

  // Still waiting while the first one has tasks to run.
  ASSERT_TRUE(one.finish("a", exited(0)));
  EXPECT_EQ(one.step().launches.size(), 1u);
  EXPECT_TRUE(two.step().launches.empty());

  EXPECT_EQ(one.run(), "Succeeded");
  EXPECT_TRUE(sync.holders[deploy].empty());

  out = two.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(two.display(out.launches[0].node_id), "a");
  EXPECT_EQ(sync.holders[deploy], (std::set<std::string>{"default/two/two"}));
  EXPECT_EQ(two.node_phase("two"), "Running");
  EXPECT_EQ(two.node("two").value("message", ""), "");
  EXPECT_EQ(two.run(), "Succeeded");
  EXPECT_TRUE(sync.holders[deploy].empty());
  EXPECT_EQ(one.count_launched("a") + two.count_launched("a"), 2u);
}

TEST(operator_sync, steps_template_semaphore_of_two_lets_two_of_three_run) {
  counting_sync sync;
  const std::string key = "default/semaphore/limits/guarded";
  sync.limits[key] = 2;
  harness h;
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
          - {name: a, template: guarded}
          - {name: b, template: guarded}
          - {name: c, template: guarded}
    - name: guarded
      synchronization:
        semaphores: [{configMapKeyRef: {name: limits, key: guarded}}]
      steps:
        - - {name: work, template: leaf}
    - name: leaf
      container: {image: x, command: ["true"]}
)"));
  auto out = h.step();
  ASSERT_EQ(out.launches.size(), 2u);
  EXPECT_EQ(sync.holders[key].size(), 2u);
  std::set<std::string> started;
  for (const auto& t : out.launches) started.insert(h.op->node_json(t.node_id)["name"]);
  const std::string waiting = started.count("wf.a[0].work") == 0   ? "a"
                              : started.count("wf.b[0].work") == 0 ? "b"
                                                                   : "c";
  EXPECT_EQ(h.node_phase(waiting), "Pending");
  EXPECT_NE(h.node(waiting).value("message", "").find(key), std::string::npos);

  // One finishes: its steps node releases, the third takes the slot.
  const auto first = out.launches[0].node_id;
  h.running.erase(first);
  h.op->complete_node(first, exited(0), h.clock.now());
  out = h.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(h.op->node_json(out.launches[0].node_id)["name"], "wf." + waiting + "[0].work");
  EXPECT_EQ(sync.holders[key].size(), 2u);
  EXPECT_EQ(h.node_phase(waiting), "Running");
  EXPECT_EQ(h.run(), "Succeeded");
  EXPECT_TRUE(sync.holders[key].empty());
}

TEST(operator_sync, dag_lock_is_released_when_the_dag_fails) {
  sharing_lock_table p(mutex_dag);
  ASSERT_TRUE(p.ok);
  auto& sync = p.sync;
  auto& one = p.one;
  auto& two = p.two;
  one.step();
  two.step();
  EXPECT_EQ(one.run([](const std::string&, const task&) { return exited(1); }), "Failed");
  EXPECT_EQ(one.node_phase("one"), "Failed");
  EXPECT_TRUE(sync.holders[deploy].empty());
  EXPECT_EQ(two.run(), "Succeeded");
}

TEST(operator_sync, terminate_releases_a_held_lock_and_fails_a_waiting_node) {
  sharing_lock_table p(mutex_dag);
  ASSERT_TRUE(p.ok);
  auto& sync = p.sync;
  auto& one = p.one;
  auto& two = p.two;
  one.step();
  two.step();
  ASSERT_EQ(two.node_phase("two"), "Pending");

  // The waiting one goes first: it never held the lock and never runs.
  ASSERT_TRUE(two.op->terminate(two.clock.now()));
  EXPECT_EQ(two.run(), "Failed");
  EXPECT_EQ(two.node_phase("two"), "Failed");
  EXPECT_TRUE(two.launched.empty());
  EXPECT_EQ(sync.holders[deploy], (std::set<std::string>{"default/one/one"}));

  ASSERT_TRUE(one.op->terminate(one.clock.now()));
  one.step();
  ASSERT_EQ(one.killed, (std::vector<std::string>{"a"}));
  outcome killed;
  killed.what = outcome::kind::signaled;
  killed.signal = 15;
  ASSERT_TRUE(one.finish("a", killed));
  one.step();
  EXPECT_EQ(one.op->phase(), "Failed");
  EXPECT_TRUE(sync.holders[deploy].empty());
}

TEST(operator_sync, workflow_deadline_fails_a_dag_waiting_for_its_lock) {
  counting_sync sync;
  sync.holders[deploy].insert("default/other");
  harness h;
  h.env.sync = &sync;
  ASSERT_TRUE(h.create(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  activeDeadlineSeconds: 30
  templates:
    - name: main
      synchronization: {mutex: {name: deploy}}
      steps:
        - - {name: a, template: leaf}
    - name: leaf
      container: {image: x, command: ["true"]}
)"));
  h.step();
  EXPECT_EQ(h.node_phase("wf"), "Pending");
  h.clock.advance(std::chrono::seconds(31));
  EXPECT_EQ(h.run(), "Failed");
  EXPECT_EQ(h.node("wf").value("message", ""), "Step exceeded its deadline");
  EXPECT_TRUE(h.launched.empty());
  EXPECT_EQ(sync.holders[deploy], (std::set<std::string>{"default/other"}));
}

// A new server: an empty lock table, `saved` restored from its JSON and
// recovered, and a second workflow that shares the table.
struct restarted {
  explicit restarted(const json& saved) {
    restored.env.sync = &sync;
    two.env.sync = &sync;
    ok = static_cast<bool>(restored.create_json(saved));
    if (ok) restored.op->recover(restored.clock.now());
  }
  counting_sync sync;
  harness restored, two;
  bool ok = false;
};

TEST(operator_sync, a_running_dag_takes_its_lock_back_after_a_restart) {
  counting_sync before;
  harness one;
  one.env.sync = &before;
  ASSERT_TRUE(one.create(mutex_dag, "one"));
  ASSERT_EQ(one.step().launches.size(), 1u);
  ASSERT_TRUE(one.finish("a", exited(0)));
  ASSERT_EQ(one.step().launches.size(), 1u);  // b runs
  const json saved = one.wf();

  restarted r(saved);
  ASSERT_TRUE(r.ok);
  auto& after = r.sync;
  auto& restored = r.restored;
  auto& two = r.two;
  EXPECT_EQ(after.holders[deploy], (std::set<std::string>{"default/one/one"}));
  // Operated before the restored one: it must not get the lock first.
  ASSERT_TRUE(two.create(mutex_dag, "two"));
  EXPECT_TRUE(two.step().launches.empty());
  EXPECT_EQ(two.node_phase("two"), "Pending");
  restored.step();
  // b was running when the server went away: it errors, the dag ends and lets go.
  EXPECT_EQ(restored.node_phase("b"), "Error");
  EXPECT_EQ(restored.op->phase(), "Error");
  EXPECT_TRUE(after.holders[deploy].empty());
  EXPECT_EQ(two.run(), "Succeeded");
}

const char* const retried_mutex = R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: deploy, template: flaky}
    - name: flaky
      synchronization: {mutex: {name: deploy}}
      retryStrategy: {limit: "2", retryPolicy: Always, backoff: {duration: "10s"}}
      container: {image: x, command: ["true"]}
)";

TEST(operator_sync, a_retried_template_keeps_its_mutex_through_the_backoff_between_attempts) {
  sharing_lock_table p(retried_mutex);
  ASSERT_TRUE(p.ok);
  auto& sync = p.sync;
  auto& one = p.one;
  auto& two = p.two;
  auto out = one.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(one.display(out.launches[0].node_id), "deploy(0)");
  // The Retry node holds the lock, as in Argo, not each attempt.
  ASSERT_EQ(sync.holders[deploy].size(), 1u);
  const std::string holder = *sync.holders[deploy].begin();
  EXPECT_EQ(holder, "default/one/" + one.node("deploy").value("id", ""));

  EXPECT_TRUE(two.step().launches.empty());
  EXPECT_EQ(two.node_phase("deploy"), "Pending");
  EXPECT_NE(two.node("deploy").value("message", "").find(deploy), std::string::npos);

  // The first attempt fails; during the backoff nobody else gets the lock.
  ASSERT_TRUE(one.finish("deploy(0)", exited(1)));
  EXPECT_TRUE(one.step().launches.empty());
  EXPECT_EQ(sync.holders[deploy], (std::set<std::string>{holder}));
  EXPECT_TRUE(two.step().launches.empty());

  one.clock.advance(std::chrono::seconds(10));
  out = one.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(one.display(out.launches[0].node_id), "deploy(1)");
  EXPECT_EQ(sync.holders[deploy], (std::set<std::string>{holder}));
  ASSERT_TRUE(one.finish("deploy(1)", exited(0)));
  one.step();
  EXPECT_EQ(one.op->phase(), "Succeeded");
  EXPECT_EQ(one.node_phase("deploy"), "Succeeded");
  EXPECT_TRUE(sync.holders[deploy].empty());

  EXPECT_EQ(two.run(), "Succeeded");
  EXPECT_EQ(two.node_phase("deploy"), "Succeeded");
  EXPECT_TRUE(sync.holders[deploy].empty());
}

TEST(operator_sync, a_retry_node_takes_its_lock_back_after_a_restart_and_retries_under_it) {
  counting_sync before;
  harness one;
  one.env.sync = &before;
  ASSERT_TRUE(one.create(retried_mutex, "one"));
  ASSERT_EQ(one.step().launches.size(), 1u);  // deploy(0) runs
  const json saved = one.wf();

  restarted r(saved);
  ASSERT_TRUE(r.ok);
  auto& after = r.sync;
  auto& restored = r.restored;
  auto& two = r.two;
  const std::string holder = "default/one/" + restored.node("deploy").value("id", "");
  EXPECT_EQ(after.holders[deploy], (std::set<std::string>{holder}));
  ASSERT_TRUE(two.create(retried_mutex, "two"));
  EXPECT_TRUE(two.step().launches.empty());

  // The attempt that was running errors; the next one runs under the lock.
  restored.step();
  EXPECT_EQ(restored.node_phase("deploy(0)"), "Error");
  restored.clock.advance(std::chrono::seconds(10));
  auto out = restored.step();
  ASSERT_EQ(out.launches.size(), 1u);
  EXPECT_EQ(restored.display(out.launches[0].node_id), "deploy(1)");
  EXPECT_EQ(after.holders[deploy], (std::set<std::string>{holder}));
  EXPECT_TRUE(two.step().launches.empty());
  EXPECT_EQ(restored.run(), "Succeeded");
  EXPECT_TRUE(after.holders[deploy].empty());
  EXPECT_EQ(two.run(), "Succeeded");
}

TEST(operator_sync, dag_mutex_example_runs_one_rollout_after_the_other) {
  std::ifstream in(std::string(KAIROS_EXAMPLES_DIR) + "/sync-dag-mutex.yaml");
  ASSERT_TRUE(in) << "example missing";
  std::stringstream text;
  text << in.rdbuf();
  counting_sync sync;
  harness h;
  h.env.sync = &sync;
  ASSERT_TRUE(h.create(text.str()));
  std::vector<std::string> order;
  EXPECT_EQ(h.run([&](const std::string&, const task& t) {
    order.push_back(h.op->node_json(t.node_id)["name"]);
    return exited(0);
  }),
            "Succeeded");
  ASSERT_EQ(order.size(), 4u);
  // Whichever rollout went first ran both its steps before the other began.
  const std::string first = order[0].substr(0, order[0].rfind('.'));
  const std::string second = first == "wf.staging" ? "wf.production" : "wf.staging";
  EXPECT_EQ(order, (std::vector<std::string>{first + ".migrate", first + ".switch",
                                             second + ".migrate", second + ".switch"}));
  EXPECT_EQ(h.node_phase("staging"), "Succeeded");
  EXPECT_EQ(h.node_phase("production"), "Succeeded");
  EXPECT_TRUE(sync.holders["default/mutex/rollout"].empty());
}

}  // namespace
}  // namespace kairos::engine::testing
