#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include "fake_engine.hpp"
#include "kairos/core/clock.hpp"
#include "kairos/core/text.hpp"
#include "kairos/engine/runtime.hpp"
#include "kairos/spec/loader.hpp"
#include "kairos/store/store.hpp"

namespace kairos::engine {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto generous = std::chrono::milliseconds(10000);

spec::resource load_one(const std::string& yaml) {
  auto loaded = spec::load_text(yaml, "test.yaml");
  EXPECT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].to_string());
  return loaded.resources.at(0);
}

const char* two_leaves = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: pair-
spec:
  entrypoint: a
  templates:
  - name: a
    container: {image: alpine, command: ["true"]}
  - name: b
    container: {image: alpine, command: ["true"]}
)";

// Each run of its one node holds the mutex "prod".
const char* locked = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: locked-}
spec:
  entrypoint: deploy
  templates:
  - name: deploy
    metadata: {annotations: {kairos.test/mutex: prod}}
    container: {image: alpine, command: ["true"]}
)";

class runtime_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kairos-runtime-test-" + random_suffix(12));
    fs::create_directories(dir_);
    store::settings s;
    s.data_dir = dir_;
    auto db = store::database::open(s);
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    exec_ = std::make_unique<testing::fake_executor>(dir_ / "logs");
  }
  void TearDown() override {
    if (rt_) rt_->stop();
    exec_->drain();
    rt_.reset();
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // `io`: the runtime operates there instead of on threads of its own.
  runtime& make_runtime(boost::asio::io_context* io = nullptr) {
    runtime_settings s;
    s.data_dir = dir_;
    s.io = io;
    rt_ = std::make_unique<runtime>(s, *db_, *exec_, clock_, testing::fake_operator_factory(log_));
    return *rt_;
  }
  // Stores what a killed server leaves behind: `manifest` as workflow
  // `name` (uid "uid-<name>") in `phase`.
  void store_left_behind(json manifest, const std::string& name, const std::string& phase) {
    manifest["metadata"] = {{"name", name}, {"namespace", "default"}, {"uid", "uid-" + name}};
    manifest["status"] = {{"phase", phase}, {"startedAt", "2024-01-01T00:00:00Z"}};
    store::workflow_record r;
    r.namespace_ = "default";
    r.name = name;
    r.uid = "uid-" + name;
    r.phase = phase;
    r.body = std::move(manifest);
    ASSERT_TRUE(db_->create_workflow(r));
  }
  std::string stored_node_phase(const std::string& uid, const std::string& id) {
    auto nodes = db_->list_nodes(uid);
    if (!nodes) return "?";
    for (const auto& n : *nodes)
      if (n.node_id == id) return n.phase;
    return "";
  }

  fs::path dir_;
  std::unique_ptr<store::database> db_;
  std::unique_ptr<testing::fake_executor> exec_;
  manual_clock clock_{std::chrono::system_clock::time_point(std::chrono::hours(24 * 20000))};
  testing::fake_log log_;
  std::unique_ptr<runtime> rt_;
};

TEST_F(runtime_test, submit_names_stores_and_runs_the_workflow_to_its_final_phase) {
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->name.rfind("pair-", 0), 0u);
  EXPECT_EQ(rec->name.size(), std::string("pair-").size() + 5);
  EXPECT_FALSE(rec->uid.empty());
  EXPECT_FALSE(rec->body["metadata"].value("creationTimestamp", "").empty());

  auto done = rt.wait("default", rec->name, generous);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ((*done)["status"]["phase"], "Succeeded");
  EXPECT_EQ((*done)["status"]["nodes"]["a"]["phase"], "Succeeded");
  EXPECT_EQ((*done)["status"]["nodes"]["b"]["phase"], "Succeeded");
  auto stored = db_->get_workflow("default", rec->name);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->phase, "Succeeded");
  EXPECT_FALSE(stored->body["status"].contains("nodes"));
  EXPECT_EQ(rt.active_count(), 0u);
}

// The cron controller builds its runs' resources by hand: the manifest is
// filled in and the typed spec left empty. The engine must read such a
// workflow from its manifest; only a submitter that says the spec was read
// from that manifest has it used as is.
TEST_F(runtime_test, a_resource_whose_spec_was_not_read_is_read_from_its_manifest) {
  runtime_settings s;
  s.data_dir = dir_;
  rt_ = std::make_unique<runtime>(s, *db_, *exec_, clock_, default_operator_factory());
  auto loaded = load_one(two_leaves);
  spec::resource by_hand;
  by_hand.kind = spec::kind::workflow;
  by_hand.metadata = loaded.metadata;
  by_hand.manifest = loaded.manifest;
  auto rec = rt_->submit(by_hand, {});
  ASSERT_TRUE(rec) << rec.error().message;

  submit_options read;
  read.spec_read_from_manifest = true;
  auto again = rt_->submit(loaded, read);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->name, rec->name);
}

TEST_F(runtime_test, a_node_is_stored_as_running_before_the_executor_starts_it) {
  std::vector<std::string> seen;
  std::mutex m;
  exec_->auto_exit = {{"a", 0}, {"b", 1}};
  exec_->on_start = [&](const task& t) {
    std::lock_guard lock(m);
    seen.push_back(stored_node_phase(t.workflow_uid, t.node_id));
  };
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec);
  auto done = rt.wait("default", rec->name, generous);
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["status"]["phase"], "Failed");
  std::lock_guard lock(m);
  EXPECT_EQ(seen, (std::vector<std::string>{"Running", "Running"}));
}

TEST_F(runtime_test, a_requeue_time_is_honoured_on_the_injected_clock) {
  exec_->auto_exit = {{"late", 0}};
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: later}
spec:
  entrypoint: late
  templates:
  - name: late
    metadata: {annotations: {kairos.test/requeue-seconds: "30"}}
    container: {image: alpine, command: ["true"]}
)"),
                       {});
  ASSERT_TRUE(rec) << rec.error().message;
  // Nothing starts while the clock stands still, however often timers run.
  rt.check_timers();
  EXPECT_FALSE(rt.wait("default", "later", 200ms));
  EXPECT_TRUE(exec_->started().empty());
  clock_.advance(29s);
  rt.check_timers();
  EXPECT_FALSE(rt.wait("default", "later", 200ms));
  EXPECT_TRUE(exec_->started().empty());
  clock_.advance(1s);
  rt.check_timers();
  auto done = rt.wait("default", "later", generous);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ((*done)["status"]["phase"], "Succeeded");
}

TEST_F(runtime_test, recovery_resumes_unfinished_workflows_without_rerunning_succeeded_nodes) {
  // What a killed server leaves behind: a Running workflow whose node a
  // succeeded and whose node b was running.
  store_left_behind(load_one(two_leaves).manifest, "crashed", "Running");
  ASSERT_TRUE(db_->put_nodes(
      {{"uid-crashed", "a", "crashed.a", "Succeeded", json{{"id", "a"}, {"phase", "Succeeded"}}},
       {"uid-crashed", "b", "crashed.b", "Running", json{{"id", "b"}, {"phase", "Running"}}}}));

  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  auto& rt = make_runtime();
  auto resumed = rt.recover();
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(*resumed, 1u);
  auto done = rt.wait("default", "crashed", generous);
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["status"]["phase"], "Succeeded");
  EXPECT_EQ(exec_->started(), std::vector<std::string>{"b"});
}

TEST_F(runtime_test, finished_workflows_are_not_resumed) {
  store::workflow_record r;
  r.namespace_ = "default";
  r.name = "old";
  r.uid = "uid-old";
  r.phase = "Succeeded";
  r.body = load_one(two_leaves).manifest;
  r.body["status"] = {{"phase", "Succeeded"}};
  ASSERT_TRUE(db_->create_workflow(r));
  auto& rt = make_runtime();
  auto resumed = rt.recover();
  ASSERT_TRUE(resumed);
  EXPECT_EQ(*resumed, 0u);
}

TEST_F(runtime_test, workflow_template_ref_is_merged_with_the_workflows_arguments_winning) {
  store::resource_record t;
  t.kind = "WorkflowTemplate";
  t.namespace_ = "default";
  t.name = "greeter";
  t.body = json::parse(R"({"apiVersion":"argoproj.io/v1alpha1","kind":"WorkflowTemplate",
    "metadata":{"name":"greeter","namespace":"default"},
    "spec":{"entrypoint":"a","arguments":{"parameters":[{"name":"who","value":"world"},{"name":"n","value":"1"}]},
            "templates":[{"name":"a","container":{"image":"alpine","command":["echo","{{workflow.parameters.who}}"]}}]}})");
  ASSERT_TRUE(db_->create_resource(t));
  exec_->auto_exit = {{"a", 0}};
  auto& rt = make_runtime();
  submit_options opts;
  opts.parameters = {{"n", "7"}};
  auto rec = rt.submit(load_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: from-ref-}
spec:
  workflowTemplateRef: {name: greeter}
  arguments:
    parameters: [{name: who, value: kairos}]
)"),
                       opts);
  ASSERT_TRUE(rec) << rec.error().message;
  std::lock_guard lock(log_.mutex);
  ASSERT_EQ(log_.created.size(), 1u);
  const auto& spec = log_.created[0]["spec"];
  EXPECT_EQ(spec["entrypoint"], "a");
  EXPECT_EQ(spec["templates"].size(), 1u);
  EXPECT_EQ(spec["arguments"]["parameters"],
            json::parse(R"([{"name":"who","value":"kairos"},{"name":"n","value":"7"}])"));
}

TEST_F(runtime_test, a_missing_workflow_template_is_rejected_at_submit) {
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: orphan}
spec:
  workflowTemplateRef: {name: nowhere}
)"),
                       {});
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error().code, errc::not_found);
  EXPECT_NE(rec.error().message.find("WorkflowTemplate default/nowhere"), std::string::npos);
}

TEST_F(runtime_test, an_undefined_parameter_is_rejected_at_submit_and_nothing_is_stored) {
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: undefined-param}
spec:
  entrypoint: a
  templates:
  - name: a
    container: {image: alpine, command: [echo, "{{workflow.parameters.missing}}"]}
)"),
                       {});
  ASSERT_FALSE(rec);
  EXPECT_EQ(rec.error().code, errc::invalid_argument);
  EXPECT_NE(rec.error().message.find("workflow.parameters.missing"), std::string::npos);
  EXPECT_FALSE(db_->get_workflow("default", "undefined-param"));
}

TEST_F(runtime_test, an_operator_rejection_fails_the_submit_with_its_message) {
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: rejected}
spec:
  entrypoint: reject-me
  templates:
  - name: reject-me
    container: {image: alpine, command: ["true"]}
)"),
                       {});
  ASSERT_FALSE(rec);
  EXPECT_NE(rec.error().message.find("fake operator rejects this"), std::string::npos);
  EXPECT_FALSE(db_->get_workflow("default", "rejected"));
}

TEST_F(runtime_test, a_taken_name_fails_with_already_exists) {
  auto& rt = make_runtime();
  const char* named = R"(
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: once}
spec:
  entrypoint: a
  templates:
  - name: a
    container: {image: alpine, command: ["true"]}
)";
  ASSERT_TRUE(rt.submit(load_one(named), {}));
  auto again = rt.submit(load_one(named), {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::already_exists);
  ASSERT_TRUE(exec_->wait_started(1));
  EXPECT_TRUE(exec_->finish("a", 0));
  EXPECT_TRUE(rt.wait("default", "once", generous));
}

TEST_F(runtime_test, suspend_and_resume_reach_the_operator_of_a_running_workflow) {
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec);
  ASSERT_TRUE(exec_->wait_started(2));
  EXPECT_TRUE(rt.act("default", rec->name, workflow_action::suspend));
  auto bad = rt.act("default", rec->name, workflow_action::stop);
  EXPECT_TRUE(bad);
  EXPECT_TRUE(rt.act("default", rec->name, workflow_action::resume));
  auto again = rt.act("default", rec->name, workflow_action::resume);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "workflow is not suspended");
  exec_->finish("a", 0);
  exec_->finish("b", 0);
  ASSERT_TRUE(rt.wait("default", rec->name, generous));
  std::lock_guard lock(log_.mutex);
  EXPECT_EQ(log_.actions, (std::vector<std::string>{"suspend", "stop", "resume", "resume"}));
}

TEST_F(runtime_test, retry_of_a_failed_workflow_reruns_only_its_failed_nodes) {
  exec_->auto_exit = {{"a", 0}, {"b", 1}};
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec);
  auto first = rt.wait("default", rec->name, generous);
  ASSERT_TRUE(first);
  ASSERT_EQ((*first)["status"]["phase"], "Failed");
  exec_->auto_exit["b"] = 0;
  auto retried = rt.act("default", rec->name, workflow_action::retry);
  ASSERT_TRUE(retried) << retried.error().message;
  ASSERT_TRUE(exec_->wait_started(3));
  auto second = rt.wait("default", rec->name, generous);
  ASSERT_TRUE(second);
  EXPECT_EQ((*second)["status"]["phase"], "Succeeded");
  EXPECT_EQ(exec_->started().size(), 3u);
  EXPECT_EQ(exec_->started().back(), "b");
}

TEST_F(runtime_test, resubmit_starts_a_new_workflow_from_the_same_spec) {
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rt.wait("default", rec->name, generous));
  auto again = rt.act("default", rec->name, workflow_action::resubmit);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_NE(again->name, rec->name);
  EXPECT_NE(again->uid, rec->uid);
  auto done = rt.wait("default", again->name, generous);
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["status"]["phase"], "Succeeded");
  EXPECT_EQ(exec_->started().size(), 4u);
}

TEST_F(runtime_test, logs_concatenate_node_logs_and_filter_by_node) {
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec);
  ASSERT_TRUE(rt.wait("default", rec->name, generous));
  fs::create_directories(dir_ / "logs" / rec->uid);
  std::ofstream(dir_ / "logs" / rec->uid / "a.log") << "from a\n";
  std::ofstream(dir_ / "logs" / rec->uid / "b.log") << "from b";
  auto all = rt.logs("default", rec->name, "");
  ASSERT_TRUE(all);
  EXPECT_NE(all->find("from a\n"), std::string::npos);
  EXPECT_NE(all->find("from b\n"), std::string::npos);
  auto one = rt.logs("default", rec->name, "b");
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, "from b\n");
  auto none = rt.logs("default", rec->name, "zzz");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, errc::not_found);
}

TEST_F(runtime_test, a_workflow_waiting_for_a_mutex_runs_when_the_holder_releases_it) {
  auto& rt = make_runtime();
  auto first = rt.submit(load_one(locked), {});
  ASSERT_TRUE(first);
  ASSERT_TRUE(exec_->wait_started(1));
  auto second = rt.submit(load_one(locked), {});
  ASSERT_TRUE(second);
  // The second is operated (and queued on the mutex) but cannot start.
  EXPECT_FALSE(rt.wait("default", second->name, 200ms));
  EXPECT_EQ(exec_->started().size(), 1u);
  EXPECT_TRUE(exec_->finish("deploy", 0));
  ASSERT_TRUE(rt.wait("default", first->name, generous));
  ASSERT_TRUE(exec_->wait_started(2));
  EXPECT_TRUE(exec_->finish("deploy", 0));
  auto done = rt.wait("default", second->name, generous);
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["status"]["phase"], "Succeeded");
}

TEST_F(runtime_test, after_a_restart_the_lock_holder_runs_before_a_workflow_queued_on_it) {
  const auto mutexed = load_one(locked).manifest;
  // The holder was running its node under the mutex when the server died;
  // the waiter, created later, is listed (and so recovered) first.
  store_left_behind(mutexed, "holder", "Running");
  ASSERT_TRUE(db_->put_nodes({{"uid-holder", "deploy", "holder.deploy", "Running",
                               json{{"id", "deploy"}, {"phase", "Running"}}}}));
  store_left_behind(mutexed, "waiter", "Pending");

  std::mutex m;
  std::condition_variable cv;
  bool waiter_operated = false;
  std::vector<std::string> order;
  exec_->on_start = [&](const task& t) {
    std::lock_guard lock(m);
    order.push_back(t.workflow_name);
  };
  // Widens the race: before the holder is rebuilt, give the waiter (already
  // recovered) every chance to be operated and take the free mutex.
  log_.on_operate = [&](const std::string& name) {
    std::lock_guard lock(m);
    if (name == "waiter") waiter_operated = true;
    cv.notify_all();
  };
  log_.on_create = [&](const std::string& name) {
    if (name != "holder") return;
    std::unique_lock lock(m);
    cv.wait_for(lock, 300ms, [&] { return waiter_operated; });
  };
  auto& rt = make_runtime();
  auto resumed = rt.recover();
  ASSERT_TRUE(resumed) << resumed.error().message;
  EXPECT_EQ(*resumed, 2u);
  ASSERT_TRUE(exec_->wait_started(1));
  EXPECT_FALSE(rt.wait("default", "waiter", 200ms));
  EXPECT_EQ(exec_->started().size(), 1u);
  EXPECT_TRUE(exec_->finish("deploy", 0));
  ASSERT_TRUE(rt.wait("default", "holder", generous));
  ASSERT_TRUE(exec_->wait_started(2));
  EXPECT_TRUE(exec_->finish("deploy", 0));
  ASSERT_TRUE(rt.wait("default", "waiter", generous));
  std::lock_guard lock(m);
  EXPECT_EQ(order, (std::vector<std::string>{"holder", "waiter"}));
}

TEST_F(runtime_test, a_duplicate_submit_is_refused_and_leaves_the_running_workflows_lock_alone) {
  auto& rt = make_runtime();
  auto named = load_one(locked);
  named.metadata.generate_name.clear();
  named.metadata.name = "deploy-1";
  auto first = rt.submit(named, {});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(exec_->wait_started(1));

  auto again = rt.submit(named, {});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::already_exists);
  // The mutex is still the first one's: another workflow waits for it.
  auto other = rt.submit(load_one(locked), {});
  ASSERT_TRUE(other);
  EXPECT_FALSE(rt.wait("default", other->name, 200ms));
  EXPECT_EQ(exec_->started().size(), 1u);
  EXPECT_TRUE(exec_->finish("deploy", 0));
  ASSERT_TRUE(rt.wait("default", "deploy-1", generous));
  ASSERT_TRUE(exec_->wait_started(2));
  EXPECT_TRUE(exec_->finish("deploy", 0));
  ASSERT_TRUE(rt.wait("default", other->name, generous));
}

TEST_F(runtime_test, concurrent_submits_of_one_name_create_and_run_it_once) {
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  auto& rt = make_runtime();
  auto named = load_one(two_leaves);
  named.metadata.generate_name.clear();
  named.metadata.name = "once";
  std::atomic<int> created{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = rt.submit(named, {});
      if (r)
        ++created;
      else if (r.error().code == errc::already_exists)
        ++refused;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(refused.load(), 7);
  auto done = rt.wait("default", "once", generous);
  ASSERT_TRUE(done);
  EXPECT_EQ((*done)["status"]["phase"], "Succeeded");
  EXPECT_EQ(exec_->started().size(), 2u);
}

TEST_F(runtime_test, a_submitted_workflow_is_stored_with_its_first_nodes_before_any_starts) {
  std::mutex m;
  std::vector<std::string> phases;
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  std::vector<std::string> node_phases;
  exec_->on_start = [&](const task& t) {
    auto w = db_->get_workflow("default", t.workflow_name);
    auto node = stored_node_phase(t.workflow_uid, t.node_id);
    std::lock_guard lock(m);
    phases.push_back(w ? w->phase : "missing");
    node_phases.push_back(node);
  };
  auto& rt = make_runtime();
  auto rec = rt.submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec);
  // What submit returns is what was stored: the workflow already running.
  // (The node may have finished by now; what it was at its start is below.)
  EXPECT_EQ(rec->phase, "Running");
  ASSERT_TRUE(rt.wait("default", rec->name, generous));
  std::lock_guard lock(m);
  EXPECT_EQ(phases, (std::vector<std::string>{"Running", "Running"}));
  EXPECT_EQ(node_phases, (std::vector<std::string>{"Running", "Running"}));
}

// Driven by the test's own io_context, polled on this thread: every step of
// the workflow runs here, none on a thread of the runtime's.
TEST_F(runtime_test, a_runtime_given_a_context_operates_on_it_and_starts_no_threads) {
  boost::asio::io_context io;
  std::vector<std::thread::id> starters;
  std::mutex m;
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  exec_->on_start = [&](const task&) {
    std::lock_guard lock(m);
    starters.push_back(std::this_thread::get_id());
  };
  auto rec = make_runtime(&io).submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec) << rec.error().message;
  // Nothing runs the context yet, so nothing has started.
  EXPECT_TRUE(exec_->started().empty());
  const auto deadline = std::chrono::steady_clock::now() + generous;
  while (rt_->active_count() > 0 && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(10));
  auto stored = db_->get_workflow("default", rec->name);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->phase, "Succeeded");
  {
    std::lock_guard lock(m);
    EXPECT_EQ(starters, (std::vector<std::thread::id>(2, std::this_thread::get_id())));
  }
  rt_->stop();
  exec_->drain();
  rt_.reset();  // before `io`, whose services its strands and timer use
}

TEST_F(runtime_test, work_queued_on_a_given_context_launches_nothing_once_the_runtime_stopped) {
  boost::asio::io_context io;
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  auto rec = make_runtime(&io).submit(load_one(two_leaves), {});
  ASSERT_TRUE(rec) << rec.error().message;
  rt_->stop();
  // The owner runs what was queued before it stops its context: the first
  // launch, stored before submit returned, is left for recover().
  io.poll();
  EXPECT_TRUE(exec_->started().empty());
  EXPECT_EQ(stored_node_phase(rec->uid, "a"), "Running");
  exec_->drain();
  rt_.reset();
}

TEST_F(runtime_test, many_workflows_run_concurrently_and_every_one_finishes) {
  exec_->auto_exit = {{"a", 0}, {"b", 0}};
  auto& rt = make_runtime();
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) {
    auto rec = rt.submit(load_one(two_leaves), {});
    ASSERT_TRUE(rec);
    names.push_back(rec->name);
  }
  for (const auto& n : names) {
    auto done = rt.wait("default", n, generous);
    ASSERT_TRUE(done) << n;
    EXPECT_EQ((*done)["status"]["phase"], "Succeeded");
  }
  EXPECT_EQ(exec_->started().size(), 80u);
}

TEST_F(runtime_test, actions_on_unknown_workflows_are_not_found) {
  auto& rt = make_runtime();
  auto r = rt.act("default", "ghost", workflow_action::suspend);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::not_found);
}

}  // namespace
}  // namespace kairos::engine
