#include "kairos/engine/local_executor.hpp"

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "../../core/http_test_server.hpp"
#include "node_files.hpp"
#include "spawn.hpp"

namespace kairos::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, const std::string& content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

// What a node writes to `fifo` up to its first newline; empty when nothing
// comes within a minute.
std::string line_from(const fs::path& fifo) {
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  if (fd < 0) return {};
  std::string text;
  while (text.find('\n') == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 60000) <= 0) break;
    char buf[64];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

// Whether the process behind a pidfd ends within a generous bound.
bool exits(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return ::poll(&p, 1, 30000) == 1;
}

input_artifact stored(std::string name, std::string path, std::string key) {
  input_artifact a;
  a.name = std::move(name);
  a.path = std::move(path);
  a.repository_key = std::move(key);
  return a;
}

input_artifact raw(std::string name, std::string path, std::string content, int mode) {
  input_artifact a;
  a.name = std::move(name);
  a.path = std::move(path);
  a.raw = std::move(content);
  a.mode = mode;
  return a;
}

input_artifact fetched(std::string name, std::string path, std::string url) {
  input_artifact a;
  a.name = std::move(name);
  a.path = std::move(path);
  a.http_url = std::move(url);
  return a;
}

class local_executor_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("kairos-executor-test-" + std::to_string(rd()));
    fs::create_directories(root_);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    executor_.reset();
    work_.reset();
    io_.stop();
    thread_.join();
    std::error_code ec;
    fs::remove_all(root_, ec);
    if (!outside_.empty()) fs::remove_all(outside_, ec);
  }

  local_executor& make(local_executor_settings s = {}) {
    if (s.nodes_root.empty()) s.nodes_root = root_ / "nodes";
    if (s.artifacts_root.empty()) s.artifacts_root = root_ / "artifacts";
    // Lets a root machine run the suite as a host without mount namespaces.
    if (std::getenv("KAIROS_EXECUTOR_TEST_NO_MOUNTS")) s.private_mounts = false;
    executor_ = std::make_unique<local_executor>(io_.get_executor(), s);
    return *executor_;
  }

  // An executor whose data lives outside /tmp, where the default root of
  // these tests is; returns that directory (removed after the test).
  fs::path make_outside_tmp(const std::string& tag) {
    outside_ =
        fs::path("/var/tmp") / ("kairos-executor-" + tag + "-test-" + std::to_string(::getpid()));
    local_executor_settings s;
    s.nodes_root = outside_ / "nodes";
    s.artifacts_root = outside_ / "artifacts";
    make(s);
    return outside_;
  }

  local_executor& exec() {
    if (!executor_) make();
    return *executor_;
  }

  bool private_mounts() { return exec().capabilities().private_mounts; }

  static task process(std::string node, std::vector<std::string> argv) {
    task t;
    t.workflow_uid = "wf-uid";
    t.workflow_name = "wf";
    t.node_id = std::move(node);
    process_task p;
    p.argv = std::move(argv);
    t.work = std::move(p);
    return t;
  }

  static task shell(std::string node, const std::string& script) {
    return process(std::move(node), {"sh", "-c", script});
  }

  static process_task& proc(task& t) { return std::get<process_task>(t.work); }

  std::future<outcome> start(task t) {
    auto promise = std::make_shared<std::promise<outcome>>();
    auto future = promise->get_future();
    auto calls = std::make_shared<int>(0);
    exec().start(std::move(t), [promise, calls](outcome o) {
      // `done` must fire exactly once; a second call would throw here.
      ++*calls;
      promise->set_value(std::move(o));
    });
    return future;
  }

  outcome run(task t) {
    auto f = start(std::move(t));
    if (f.wait_for(60s) != std::future_status::ready) {
      ADD_FAILURE() << "node did not finish";
      return {};
    }
    return f.get();
  }

  // A node's directory, where its log goes.
  fs::path dir_of(const std::string& node) { return exec().log_path("wf-uid", node).parent_path(); }
  // The spare directories in a workflow's directory, sorted.
  std::vector<fs::path> spares_of(const std::string& uid) {
    std::vector<fs::path> found;
    std::error_code ec;
    const fs::path workflow_dir = exec().log_path(uid, "_").parent_path().parent_path();
    for (const auto& e : fs::directory_iterator(workflow_dir, ec))
      if (e.path().filename().string().rfind("spare+", 0) == 0) found.push_back(e.path());
    std::sort(found.begin(), found.end());
    return found;
  }
  // Its work directory's name there: its private /tmp when it has one.
  std::string work_name() { return private_mounts() ? "tmp" : "work"; }

  // The node's own directory is visible to it even with a private /tmp, so
  // a fifo there lets a node say it is running without the test sleeping.
  fs::path fifo_in_node_dir(const std::string& node) {
    const fs::path dir = dir_of(node);
    fs::create_directories(dir);
    const fs::path fifo = dir / "ready.fifo";
    EXPECT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    return fifo;
  }

  fs::path root_;
  fs::path outside_;  // see make_outside_tmp
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::thread thread_;
  std::unique_ptr<local_executor> executor_;
};

TEST_F(local_executor_test, exit_code_is_reported) {
  auto o = run(shell("exit-3", "exit 3"));
  EXPECT_EQ(o.what, outcome::kind::exited);
  EXPECT_EQ(o.exit_code, 3);
  EXPECT_NE(o.message.find("exit code 3"), std::string::npos) << o.message;
  auto ok = run(shell("exit-0", "true"));
  EXPECT_EQ(ok.what, outcome::kind::exited);
  EXPECT_EQ(ok.exit_code, 0);
}

TEST_F(local_executor_test, stdout_is_the_result_with_one_trailing_newline_trimmed) {
  auto o = run(shell("echo", "printf 'hello\\nworld\\n\\n'"));
  ASSERT_EQ(o.what, outcome::kind::exited);
  EXPECT_EQ(o.result, "hello\nworld\n");
}

// A result goes into JSON documents, which must be UTF-8; the log keeps the
// bytes as they came.
TEST_F(local_executor_test, bytes_of_a_result_that_are_not_utf8_become_replacement_characters) {
  auto o = run(shell("latin1", "printf 'caf\\351\\n'"));
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.result, "caf\xEF\xBF\xBD");
  EXPECT_EQ(read_file(exec().log_path("wf-uid", "latin1")), "caf\xE9\n");

  if (!private_mounts()) GTEST_SKIP() << exec().capabilities().private_mounts_reason;
  task t = shell("param", "printf 'ab\\303' > /tmp/p.txt");
  t.output_parameters = {{"p", "/tmp/p.txt"}};
  auto p = run(std::move(t));
  ASSERT_EQ(p.what, outcome::kind::exited) << p.message;
  ASSERT_TRUE(p.parameters["p"].has_value());
  EXPECT_EQ(*p.parameters["p"], "ab\xEF\xBF\xBD");
}

TEST_F(local_executor_test, stderr_and_stdout_both_reach_the_log) {
  auto o = run(shell("both", "echo to-out; echo to-err >&2"));
  ASSERT_EQ(o.what, outcome::kind::exited);
  EXPECT_EQ(o.result, "to-out");
  const std::string log = read_file(exec().log_path("wf-uid", "both"));
  EXPECT_NE(log.find("to-out"), std::string::npos) << log;
  EXPECT_NE(log.find("to-err"), std::string::npos) << log;
}

TEST_F(local_executor_test, a_silent_node_leaves_no_log_and_stderr_alone_makes_one) {
  auto quiet = run(shell("quiet", "true"));
  ASSERT_EQ(quiet.what, outcome::kind::exited) << quiet.message;
  EXPECT_FALSE(fs::exists(exec().log_path("wf-uid", "quiet")));
  // Kept, or handed on as a spare where nothing is bound inside it.
  EXPECT_TRUE(fs::is_directory(dir_of("quiet")) || !spares_of("wf-uid").empty());

  auto err_only = run(shell("err-only", "echo complaint >&2; exit 3"));
  ASSERT_EQ(err_only.what, outcome::kind::exited) << err_only.message;
  EXPECT_EQ(err_only.exit_code, 3);
  EXPECT_EQ(err_only.result, "");
  EXPECT_EQ(read_file(exec().log_path("wf-uid", "err-only")), "complaint\n");
}

TEST_F(local_executor_test, result_is_bounded_but_log_keeps_everything) {
  local_executor_settings s;
  s.max_result_bytes = 10;
  make(s);
  auto o = run(shell("long", "i=0; while [ $i -lt 100 ]; do printf x; i=$((i+1)); done"));
  ASSERT_EQ(o.what, outcome::kind::exited);
  EXPECT_EQ(o.result, std::string(10, 'x'));
  EXPECT_EQ(read_file(exec().log_path("wf-uid", "long")), std::string(100, 'x'));
}

TEST_F(local_executor_test, script_source_is_written_and_its_path_appended) {
  task t = process("script", {"sh"});
  proc(t).script_source = "echo \"from script $0\"\n";
  auto o = run(std::move(t));
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.result.rfind("from script ", 0), 0u) << o.result;
  const fs::path script(o.result.substr(std::string("from script ").size()));
  EXPECT_EQ(script.filename(), "script");
  EXPECT_EQ(read_file(script), "echo \"from script $0\"\n");
}

TEST_F(local_executor_test, env_holds_the_task_values_and_basics_but_not_the_servers) {
  ::setenv("KAIROS_EXECUTOR_TEST_SECRET", "server-only", 1);
  task t =
      shell("env", "echo \"$GREETING|${KAIROS_EXECUTOR_TEST_SECRET:-unset}|${PATH:+has-path}\"");
  proc(t).env = {{"GREETING", "hi there"}};
  auto o = run(std::move(t));
  ::unsetenv("KAIROS_EXECUTOR_TEST_SECRET");
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.result, "hi there|unset|has-path");
}

TEST_F(local_executor_test, a_node_reports_progress_through_argo_progress_file_while_it_runs) {
  local_executor_settings s;
  s.progress_interval = 5ms;
  make(s);
  const fs::path fifo = fifo_in_node_dir("busy");
  // The node's own ARGO_PROGRESS_FILE wins over one the template sets, as in
  // Argo, where the executor names it.
  task t = shell("busy",
                 "case \"$ARGO_PROGRESS_FILE\" in /*) ;; *) exit 9;; esac; "
                 "echo 1/4 > \"$ARGO_PROGRESS_FILE\"; read go < '" +
                     fifo.string() + "'; printf ' 3/4\\n' > \"$ARGO_PROGRESS_FILE\"");
  proc(t).env = {{"ARGO_PROGRESS_FILE", "/nowhere/progress"}};
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> reports;
  auto promise = std::make_shared<std::promise<outcome>>();
  auto finished = promise->get_future();
  exec().start_reporting(
      std::move(t), [promise](outcome o) { promise->set_value(std::move(o)); },
      [&](std::string text) {
        std::lock_guard lock(m);
        reports.push_back(std::move(text));
        cv.notify_all();
      });
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 60s, [&] { return !reports.empty(); }))
        << "no progress was passed on";
    EXPECT_EQ(reports.front(), "1/4");  // trimmed of its newline
  }
  // Let the node write its last figure and end.
  std::ofstream(fifo) << "go\n";
  ASSERT_EQ(finished.wait_for(60s), std::future_status::ready);
  const auto o = finished.get();
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.exit_code, 0);
  // Read once more as it ended, whether or not a tick saw it first.
  EXPECT_EQ(o.progress, std::optional<std::string>("3/4"));
  std::lock_guard lock(m);
  EXPECT_LE(reports.size(), 2u);

  // A node that reports nothing has no progress.
  auto quiet = run(shell("quiet", "true"));
  EXPECT_FALSE(quiet.progress.has_value());
}

TEST_F(local_executor_test, a_node_run_again_does_not_read_its_last_runs_progress) {
  auto first = run(shell("again", "echo 2/3 > \"$ARGO_PROGRESS_FILE\""));
  EXPECT_EQ(first.progress, std::optional<std::string>("2/3"));
  auto second = run(shell("again", "true"));
  ASSERT_EQ(second.what, outcome::kind::exited) << second.message;
  EXPECT_FALSE(second.progress.has_value()) << *second.progress;
}

TEST_F(local_executor_test, a_fifo_or_link_at_the_progress_file_is_not_read) {
  // Opening a fifo to read would wait for a writer, on an I/O thread.
  auto fifo = run(shell("fifo", "mkfifo \"$ARGO_PROGRESS_FILE\""));
  ASSERT_EQ(fifo.what, outcome::kind::exited) << fifo.message;
  EXPECT_EQ(fifo.exit_code, 0);
  EXPECT_FALSE(fifo.progress.has_value());
  const fs::path elsewhere = root_ / "figure";
  std::ofstream(elsewhere) << "1/2\n";
  auto link = run(shell("link", "ln -s '" + elsewhere.string() + "' \"$ARGO_PROGRESS_FILE\""));
  ASSERT_EQ(link.what, outcome::kind::exited) << link.message;
  EXPECT_FALSE(link.progress.has_value());
}

TEST_F(local_executor_test, working_dir_defaults_to_the_nodes_private_tmp_or_work_dir) {
  auto o = run(shell("pwd-default", "pwd; echo here > relative.txt; cat /tmp/relative.txt"));
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  if (private_mounts()) {
    // The node's own /tmp, where relative and /tmp paths meet.
    EXPECT_EQ(o.result, "/tmp\nhere");
  } else {
    EXPECT_EQ(fs::path(o.result.substr(0, o.result.find('\n'))).filename(), "work") << o.result;
  }
  EXPECT_EQ(read_file(dir_of("pwd-default") / work_name() / "relative.txt"), "here\n");

  task t = shell("pwd-root", "pwd");
  proc(t).working_dir = "/";
  auto root = run(std::move(t));
  EXPECT_EQ(root.result, "/");
}

TEST_F(local_executor_test, missing_working_dir_fails_to_start) {
  task t = shell("bad-wd", "pwd");
  proc(t).working_dir = "/definitely/not/here";
  auto o = run(std::move(t));
  EXPECT_EQ(o.what, outcome::kind::failed_to_start);
  EXPECT_NE(o.message.find("/definitely/not/here"), std::string::npos) << o.message;
}

TEST_F(local_executor_test, missing_command_fails_to_start_naming_it) {
  auto o = run(process("missing", {"kairos-no-such-command-xyz", "arg"}));
  EXPECT_EQ(o.what, outcome::kind::failed_to_start);
  EXPECT_NE(o.message.find("kairos-no-such-command-xyz"), std::string::npos) << o.message;
  EXPECT_NE(read_file(exec().log_path("wf-uid", "missing")).find("kairos-no-such-command-xyz"),
            std::string::npos);
}

// A lone launch waits for the executor's own thread; one still waiting
// there when the executor goes away must not start a process that the
// executor's destructor, already past its kills, would leave running.
TEST_F(local_executor_test, a_launch_still_queued_as_the_executor_goes_away_starts_nothing) {
  const fs::path marker = root_ / "started";
  std::promise<void> open_gate;
  auto gate = open_gate.get_future().share();
  exec();
  boost::asio::post(io_, [gate] { gate.wait(); });
  auto f = start(shell("late", "touch " + marker.string()));
  executor_.reset();
  open_gate.set_value();
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  const auto o = f.get();
  EXPECT_EQ(o.what, outcome::kind::error);
  EXPECT_NE(o.message.find("shutting down"), std::string::npos) << o.message;
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(local_executor_test, kill_terminates_the_whole_process_group) {
  const fs::path fifo = fifo_in_node_dir("victim");
  auto f =
      start(shell("victim", "sleep 100 & echo \"$$ $!\" > '" + fifo.string() + "'; sleep 100"));

  // The node reports its pids through the fifo once both sleeps run.
  const std::string pids = line_from(fifo);
  pid_t shell_pid = 0, background_pid = 0;
  std::istringstream(pids) >> shell_pid >> background_pid;
  ASSERT_GT(shell_pid, 0) << "the node never reported its pids";
  ASSERT_GT(background_pid, 0);
  EXPECT_EQ(::getpgid(background_pid), shell_pid);

  // pidfds tell when a process has ended without polling /proc.
  const int shell_fd = static_cast<int>(::syscall(SYS_pidfd_open, shell_pid, 0));
  const int background_fd = static_cast<int>(::syscall(SYS_pidfd_open, background_pid, 0));
  ASSERT_GE(shell_fd, 0);
  ASSERT_GE(background_fd, 0);
  exec().kill("wf-uid", "victim");
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  auto o = f.get();
  EXPECT_EQ(o.what, outcome::kind::signaled);
  EXPECT_EQ(o.signal, SIGTERM);
  EXPECT_TRUE(exits(shell_fd));
  EXPECT_TRUE(exits(background_fd));
  ::close(shell_fd);
  ::close(background_fd);
}

// Like a container whose main process ended: the rest of its group goes,
// also what no longer holds the node's output.
TEST_F(local_executor_test,
       a_process_the_node_leaves_running_without_its_output_is_killed_when_it_ends) {
  const fs::path fifo = fifo_in_node_dir("leaver");
  auto f = start(shell("leaver", "sleep 100 >/dev/null 2>&1 & echo $! > '" + fifo.string() + "'"));
  const pid_t left = std::atoi(line_from(fifo).c_str());
  ASSERT_GT(left, 0) << "the node never reported its pid";
  // Opened before the node's end is known; gone already is gone.
  const int left_fd = static_cast<int>(::syscall(SYS_pidfd_open, left, 0));
  ASSERT_TRUE(left_fd >= 0 || errno == ESRCH);
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  auto o = f.get();
  EXPECT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.exit_code, 0);
  if (left_fd >= 0) {
    EXPECT_TRUE(exits(left_fd)) << "the process the node left behind still runs";
    ::close(left_fd);
  }
}

TEST_F(local_executor_test, kill_escalates_to_sigkill_after_the_grace_period) {
  local_executor_settings s;
  s.kill_grace = 100ms;
  make(s);
  const fs::path fifo = fifo_in_node_dir("stubborn");
  auto f = start(shell(
      "stubborn", "trap '' TERM; echo ready > '" + fifo.string() + "'; while :; do sleep 1; done"));
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  pollfd p{fd, POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 60000), 0);
  ::close(fd);
  exec().kill("wf-uid", "stubborn");
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  auto o = f.get();
  EXPECT_EQ(o.what, outcome::kind::signaled);
  EXPECT_EQ(o.signal, SIGKILL);
}

TEST_F(local_executor_test, kill_of_unknown_or_finished_node_is_a_no_op) {
  exec().kill("wf-uid", "never-started");
  auto o = run(shell("quick", "echo done"));
  exec().kill("wf-uid", "quick");
  EXPECT_EQ(o.what, outcome::kind::exited);
  EXPECT_EQ(o.result, "done");
}

TEST_F(local_executor_test, parallel_nodes_writing_the_same_tmp_file_do_not_collide) {
  if (!private_mounts()) GTEST_SKIP() << exec().capabilities().private_mounts_reason;
  const fs::path host_file = "/tmp/kairos-executor-test-shared.txt";
  std::error_code ec;
  fs::remove(host_file, ec);
  std::vector<std::future<outcome>> futures;
  for (int i = 0; i < 4; ++i) {
    const std::string me = "writer-" + std::to_string(i);
    task t = shell(me, "echo " + me + " > " + host_file.string() + "; cat " + host_file.string());
    t.output_parameters = {{"out", host_file.string()}};
    futures.push_back(start(std::move(t)));
  }
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(futures[static_cast<std::size_t>(i)].wait_for(60s), std::future_status::ready);
    auto o = futures[static_cast<std::size_t>(i)].get();
    const std::string me = "writer-" + std::to_string(i);
    EXPECT_EQ(o.result, me);
    ASSERT_TRUE(o.parameters["out"].has_value());
    EXPECT_EQ(*o.parameters["out"], me + "\n");
  }
  EXPECT_FALSE(fs::exists(host_file)) << "a node wrote the host's /tmp";
}

// A node that left nothing in its directory hands it on as a spare, under
// a name no node has, and later nodes run in it as it is (no rename, no new
// inodes). A node that left a file there, or its progress, has the
// directory under its own name; a node's log is always in its own.
TEST_F(local_executor_test, a_node_that_left_nothing_hands_its_directory_to_the_next_one) {
  // Outside /tmp: under it, the node's directory is bound back inside its
  // private /tmp, which then is never empty.
  make_outside_tmp("spare");
  const std::string work = work_name();

  auto quiet = run(process("quiet", {"true"}));
  ASSERT_EQ(quiet.what, outcome::kind::exited) << quiet.message;
  EXPECT_FALSE(fs::exists(dir_of("quiet")));
  auto spares = spares_of("wf-uid");
  ASSERT_EQ(spares.size(), 1u);
  const fs::path spare = spares.front();
  EXPECT_TRUE(fs::is_empty(spare / work));

  // Runs in quiet's directory, finds it empty, and leaves a file in it,
  // which then is under its own name.
  auto leaves = run(shell("leaves", "ls -A; touch left.txt"));
  ASSERT_EQ(leaves.what, outcome::kind::exited) << leaves.message;
  EXPECT_EQ(leaves.result, "");
  EXPECT_TRUE(fs::exists(dir_of("leaves") / work / "left.txt"));
  EXPECT_TRUE(spares_of("wf-uid").empty());

  // So this node gets a new directory, which it hands on in turn.
  auto next = run(shell("next", "ls -A"));
  ASSERT_EQ(next.what, outcome::kind::exited) << next.message;
  EXPECT_EQ(next.result, "") << "a node saw the files another node left";
  EXPECT_TRUE(fs::exists(dir_of("leaves") / work / "left.txt"));
  EXPECT_FALSE(fs::exists(dir_of("next")));
  ASSERT_EQ(spares_of("wf-uid").size(), 1u);

  // A node that writes a log has it in its own directory and still hands
  // on the spare it ran in.
  auto talks = run(shell("talks", "echo hi"));
  ASSERT_EQ(talks.what, outcome::kind::exited) << talks.message;
  EXPECT_EQ(read_file(exec().log_path("wf-uid", "talks")), "hi\n");
  EXPECT_FALSE(fs::exists(dir_of("talks") / work));
  ASSERT_EQ(spares_of("wf-uid").size(), 1u);
  auto after = run(process("after", {"true"}));
  ASSERT_EQ(after.what, outcome::kind::exited) << after.message;
  EXPECT_EQ(read_file(exec().log_path("wf-uid", "talks")), "hi\n");

  // A node in a spare reports its progress through the spare's path, read
  // as it ends; the file then is under the node's own name.
  auto reports = run(shell("reports", "printf 2/3 > \"$ARGO_PROGRESS_FILE\""));
  ASSERT_EQ(reports.what, outcome::kind::exited) << reports.message;
  EXPECT_EQ(reports.progress, std::optional<std::string>("2/3"));
  EXPECT_EQ(read_file(dir_of("reports") / "progress"), "2/3");
  EXPECT_TRUE(spares_of("wf-uid").empty());
  EXPECT_FALSE(fs::exists(dir_of("after")));

  // One that logs and leaves a file: what it left joins its log.
  ASSERT_EQ(run(process("quiet-again", {"true"})).what, outcome::kind::exited);
  ASSERT_EQ(spares_of("wf-uid").size(), 1u);
  auto both = run(shell("both", "echo hello; touch kept.txt"));
  ASSERT_EQ(both.what, outcome::kind::exited) << both.message;
  EXPECT_EQ(read_file(exec().log_path("wf-uid", "both")), "hello\n");
  EXPECT_TRUE(fs::exists(dir_of("both") / work / "kept.txt"));
  EXPECT_TRUE(spares_of("wf-uid").empty());
}

// A spare goes where the node that takes it runs: into that node's
// workflow directory, under a spare's name there. Names an earlier kairos
// left are skipped, never replaced.
TEST_F(local_executor_test, a_spare_moves_to_the_workflow_of_the_node_that_takes_it) {
  make_outside_tmp("crossing");
  const std::string work = work_name();
  const fs::path other_dir = exec().log_path("other-uid", "_").parent_path().parent_path();
  write_file(other_dir / "spare+0" / "kept.txt", "from before");
  write_file(other_dir / "spare+1" / "kept.txt", "from before");

  ASSERT_EQ(run(process("here", {"true"})).what, outcome::kind::exited);
  ASSERT_EQ(spares_of("wf-uid").size(), 1u);
  task t = shell("there", "ls -A");
  t.workflow_uid = "other-uid";
  auto there = run(std::move(t));
  ASSERT_EQ(there.what, outcome::kind::exited) << there.message;
  EXPECT_EQ(there.result, "");
  EXPECT_TRUE(spares_of("wf-uid").empty());
  const auto moved = spares_of("other-uid");
  ASSERT_EQ(moved.size(), 3u);
  EXPECT_EQ(read_file(other_dir / "spare+0" / "kept.txt"), "from before");
  EXPECT_EQ(read_file(other_dir / "spare+1" / "kept.txt"), "from before");
  EXPECT_EQ(std::count_if(moved.begin(), moved.end(),
                          [&](const fs::path& d) { return fs::is_directory(d / work); }),
            1);
}

// A node that cannot hand its directory on (a script) renames a spare to
// its own name, through the workflow directory it holds open; that
// directory made again, the rename still happens.
TEST_F(local_executor_test, a_spare_is_taken_after_its_workflow_directory_was_made_again) {
  make_outside_tmp("respare");
  ASSERT_EQ(run(process("first", {"true"})).what, outcome::kind::exited);
  auto spares = spares_of("wf-uid");
  ASSERT_EQ(spares.size(), 1u);
  // The workflow's directory is replaced by a new one holding the spare.
  const fs::path parent = spares.front().parent_path();
  const fs::path old = parent.string() + ".old";
  fs::rename(parent, old);
  fs::create_directories(parent);
  fs::rename(old / spares.front().filename(), spares.front());
  task t = process("second", {"sh"});
  proc(t).script_source = "exit 0\n";
  auto second = run(std::move(t));
  ASSERT_EQ(second.what, outcome::kind::exited) << second.message;
  EXPECT_TRUE(spares_of("wf-uid").empty());
  EXPECT_TRUE(fs::is_directory(dir_of("second") / work_name()));
  EXPECT_TRUE(fs::exists(dir_of("second") / "script"));
  EXPECT_TRUE(fs::is_empty(old));
}

// A spare is listed once its clock has passed it; while neither of its
// directories changes, the next nodes take it and hand it on without
// listing it again, and a change lists it anew.
TEST_F(local_executor_test, a_spare_is_listed_again_only_after_its_directories_changed) {
  make_outside_tmp("relist");
  const std::string work = work_name();
  // Until the coarse clock has passed the directory's time by the
  // filesystem's granularity (dated_before), when the executor starts to
  // keep it. About one tick on ext4.
  auto clock_passes = [](const fs::path& d) {
    struct stat st {};
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    for (;;) {
      timespec now{};
      ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
      if (detail::dated_before(st.st_mtim, now)) return;
      std::this_thread::yield();
    }
  };

  ASSERT_EQ(run(process("first", {"true"})).what, outcome::kind::exited);
  auto spares = spares_of("wf-uid");
  ASSERT_EQ(spares.size(), 1u);
  const fs::path spare = spares.front();
  const std::size_t first_listings = exec().spare_listings();
  clock_passes(spare);
  clock_passes(spare / work);
  // Listed once more at most: as the second node takes it, unless the
  // clock had passed it already when the first node's end listed it (a
  // slow build). From then on its times are kept.
  ASSERT_EQ(run(process("second", {"true"})).what, outcome::kind::exited);
  const std::size_t listed = exec().spare_listings();
  EXPECT_LE(listed, first_listings + 1);
  EXPECT_EQ(spares_of("wf-uid"), spares);
  for (const char* node : {"third", "fourth"}) {
    ASSERT_EQ(run(process(node, {"true"})).what, outcome::kind::exited);
    EXPECT_EQ(spares_of("wf-uid"), spares);
    EXPECT_EQ(exec().spare_listings(), listed) << node << ": an unchanged spare was listed again";
  }

  // Something put in the spare since: listed, found, given to the node that
  // ran in it last, and not handed on. The next node's new directory is
  // listed as it is offered.
  write_file(spare / work / "stray.txt", "left");
  auto next = run(shell("next", "ls -A"));
  ASSERT_EQ(next.what, outcome::kind::exited) << next.message;
  EXPECT_EQ(next.result, "") << "a node saw a file put in the spare it took";
  EXPECT_EQ(exec().spare_listings(), listed + 2);
  EXPECT_EQ(read_file(dir_of("fourth") / work / "stray.txt"), "left");
  ASSERT_EQ(spares_of("wf-uid").size(), 1u);
  EXPECT_NE(spares_of("wf-uid"), spares);
}

// Nodes whose data directory is outside /tmp share pooled namespaces; the
// default root of these tests is under /tmp, which keeps to one per node.
TEST_F(local_executor_test, nodes_reusing_a_pooled_namespace_see_only_their_own_tmp) {
  const fs::path outside = make_outside_tmp("pool");
  if (!private_mounts()) GTEST_SKIP() << exec().capabilities().private_mounts_reason;
  const fs::path volume = outside / "volumes" / "v";
  write_file(volume / "in.txt", "volume data");
  // One after another, so each node can take the namespace the last one
  // gave back.
  for (int i = 0; i < 3; ++i) {
    const std::string me = "pooled-" + std::to_string(i);
    // The first node has a volume within /tmp; the later ones must see
    // neither it nor the files the nodes before them wrote.
    const std::string look = i == 0 ? "test -e /tmp/vol/in.txt || echo no-volume; "
                                    : "ls -A /tmp; test ! -e /tmp/vol/in.txt || echo leaked; ";
    task t = shell(me, look + "echo " + me + " > /tmp/mine.txt");
    if (i == 0) proc(t).mounts = {{volume, "/tmp/vol", false}};
    t.output_parameters = {{"mine", "/tmp/mine.txt"}};
    auto o = run(std::move(t));
    ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
    EXPECT_EQ(o.exit_code, 0);
    EXPECT_EQ(o.result, "") << "node " << i << " saw an earlier node's /tmp";
    ASSERT_TRUE(o.parameters["mine"].has_value());
    EXPECT_EQ(*o.parameters["mine"], me + "\n");
  }
  EXPECT_EQ(read_file(volume / "in.txt"), "volume data");
  EXPECT_FALSE(fs::exists("/tmp/mine.txt")) << "a node wrote the host's /tmp";
}

// A silent node leaves its directory and its namespace to the next one,
// whose /tmp is then already bound; past max_uses the namespace is retired
// and a fresh one bound as usual. Every node must still find /tmp empty and
// its own.
TEST_F(local_executor_test, silent_nodes_in_a_row_each_get_an_empty_tmp_of_their_own) {
  make_outside_tmp("warm");
  if (!private_mounts()) GTEST_SKIP() << exec().capabilities().private_mounts_reason;
  const int nodes = detail::namespace_pool::max_uses + 6;
  for (int i = 0; i < nodes; ++i) {
    const std::string me = "silent-" + std::to_string(i);
    // Silent, so its directory is offered to the next node: the check speaks
    // through the exit code only.
    // Each also takes away everyone's right to write its /tmp, which the
    // next one must have back.
    auto o = run(shell(me,
                       "test -z \"$(ls -A /tmp)\" || exit 3; "
                       "test \"$(stat -c %d:%i /tmp)\" = \"$(stat -c %d:%i .)\" || exit 4; "
                       "test \"$(stat -c %a /tmp)\" = 1777 || exit 5; chmod 700 /tmp"));
    ASSERT_EQ(o.what, outcome::kind::exited) << me << ": " << o.message;
    ASSERT_EQ(o.exit_code, 0) << me
                              << (o.exit_code == 3   ? ": /tmp was not empty"
                                  : o.exit_code == 4 ? ": /tmp is not its work directory"
                                                     : ": /tmp is not 1777");
  }
}

TEST(namespace_pool, hands_a_released_namespace_out_again_and_retires_it_after_max_uses) {
  detail::namespace_pool pool;
  auto first = pool.acquire();
  if (!first) GTEST_SKIP() << first.error().message;
  EXPECT_EQ(pool.idle(), 0u);
  // Held namespaces are never handed out twice.
  auto second = pool.acquire();
  ASSERT_TRUE(second);
  EXPECT_NE(*first, *second);
  EXPECT_EQ(pool.release(*second), -1);
  EXPECT_EQ(pool.release(*first), -1);
  EXPECT_EQ(pool.idle(), 2u);
  int fd = -1;
  int retired = -1;
  for (int use = 2; use <= detail::namespace_pool::max_uses + 1 && retired < 0; ++use) {
    auto again = pool.acquire();
    ASSERT_TRUE(again);
    fd = *again;
    retired = pool.release(fd);
  }
  EXPECT_EQ(retired, fd) << "a namespace is retired after max_uses nodes";
  EXPECT_EQ(pool.idle(), 1u);
  ::close(retired);
}

TEST(dated_before, needs_the_clock_past_a_time_by_the_granularity_its_digits_suggest) {
  // A time with nanoseconds: a microsecond later is enough.
  EXPECT_FALSE(detail::dated_before({100, 5}, {100, 1004}));
  EXPECT_TRUE(detail::dated_before({100, 5}, {100, 1005}));
  // A time on a whole millisecond may be cut to seconds: two are needed.
  EXPECT_FALSE(detail::dated_before({100, 3'000'000}, {102, 2'999'999}));
  EXPECT_TRUE(detail::dated_before({100, 3'000'000}, {102, 3'000'000}));
  EXPECT_FALSE(detail::dated_before({100, 0}, {101, 999'999'999}));
  EXPECT_TRUE(detail::dated_before({100, 0}, {102, 0}));
}

TEST(start_ticks_between, is_the_tick_both_readings_share_and_unknown_across_a_boundary) {
  const long hz = ::sysconf(_SC_CLK_TCK);
  if (hz <= 0 || 1000000000L % hz != 0) GTEST_SKIP() << "tick length is not whole nanoseconds";
  const long long tick = 1000000000LL / hz;
  EXPECT_EQ(detail::start_ticks_between(5 * tick + 1, 6 * tick - 1), 5u);
  EXPECT_EQ(detail::start_ticks_between(5 * tick, 5 * tick), 5u);
  EXPECT_FALSE(detail::start_ticks_between(5 * tick - 1, 5 * tick).has_value());
  EXPECT_FALSE(detail::start_ticks_between(6 * tick, 5 * tick).has_value()) << "readings reversed";
  EXPECT_FALSE(detail::start_ticks_between(0, 5 * tick).has_value()) << "no reading before";
}

// The start time keys the orphan registry; it must be the one /proc shows,
// or a later server would spare (or kill) the wrong process group.
TEST(spawn_process, knows_the_start_time_that_proc_shows_without_reading_it) {
  int known = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    detail::spawn_spec spec;
    spec.executable = "/bin/sleep";
    spec.argv = {"sleep", "5"};
    const int sink = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    spec.stdout_fd = sink;
    spec.stderr_fd = sink;
    auto child = detail::spawn_process(spec);
    ::close(sink);
    ASSERT_TRUE(child) << child.error().message;
    if (child->pidfd >= 0) ::close(child->pidfd);
    const auto from_proc = detail::process_start_time(child->pid);
    ::kill(child->pid, SIGKILL);
    int status = 0;
    ::waitpid(child->pid, &status, 0);
    ASSERT_TRUE(from_proc.has_value());
    // Unknown only when the spawn straddled a tick boundary.
    if (!child->start_ticks) continue;
    EXPECT_EQ(*child->start_ticks, *from_proc);
    ++known;
  }
  EXPECT_GT(known, 0) << "every spawn straddled a clock tick";
}

void count_usr1(int) {}

// The child shares this process's memory until it execs, so no handler of
// ours may stay installed in it; and a node expects the dispositions a
// freshly started process has, SIGPIPE included, and glibc's own two
// signals too when the server was started with them ignored (as the first
// CI run of this test was).
TEST(spawn_process, the_child_starts_with_default_signal_dispositions_and_comes_with_a_pidfd) {
  struct sigaction handler {};
  handler.sa_handler = count_usr1;
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_usr1 {};
  struct sigaction old_pipe {};
  struct sigaction old_usr2 {};
  ASSERT_EQ(::sigaction(SIGUSR1, &handler, &old_usr1), 0);
  ASSERT_EQ(::sigaction(SIGPIPE, &ignore, &old_pipe), 0);
  ASSERT_EQ(::sigaction(SIGUSR2, &ignore, &old_usr2), 0);
  // Another test's spawn may have read the dispositions a moment ago.
  detail::forget_signal_dispositions();

  int out[2];
  ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
  detail::spawn_spec spec;
  spec.executable = "/bin/cat";
  spec.argv = {"cat", "/proc/self/status"};
  spec.stdout_fd = out[1];
  spec.stderr_fd = out[1];
  auto child = detail::spawn_process(spec);
  ::close(out[1]);
  ::sigaction(SIGUSR1, &old_usr1, nullptr);
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::sigaction(SIGUSR2, &old_usr2, nullptr);
  ASSERT_TRUE(child) << child.error().message;

  std::string status;
  char buf[4096];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) status.append(buf, n);
  ::close(out[0]);
  auto field = [&](const std::string& name) {
    const auto at = status.find("\n" + name + ":");
    if (at == std::string::npos) return std::string("(missing)");
    const auto begin = status.find_first_not_of(" \t", at + name.size() + 2);
    return status.substr(begin, status.find('\n', begin) - begin);
  };
  EXPECT_EQ(field("SigIgn"), "0000000000000000") << status;
  EXPECT_EQ(field("SigCgt"), "0000000000000000") << status;
  EXPECT_EQ(field("SigBlk"), "0000000000000000") << status;

  // The pidfd turns readable when the child has exited, and not before.
  ASSERT_GE(child->pidfd, 0) << "kernels since 5.2 hand one out with the clone";
  pollfd p{child->pidfd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 30000), 1);
  int wait_status = -1;
  EXPECT_EQ(::waitpid(child->pid, &wait_status, 0), child->pid);
  EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
  ::close(child->pidfd);
}

TEST(spawn_process, a_child_that_cannot_exec_reports_why) {
  detail::spawn_spec spec;
  spec.executable = "/nonexistent/kairos-no-such-tool";
  spec.argv = {"kairos-no-such-tool"};
  const int sink = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  spec.stdout_fd = sink;
  spec.stderr_fd = sink;
  auto child = detail::spawn_process(spec);
  ::close(sink);
  ASSERT_FALSE(child);
  EXPECT_NE(child.error().message.find("cannot execute /nonexistent/kairos-no-such-tool"),
            std::string::npos)
      << child.error().message;
}

TEST_F(local_executor_test, volume_is_visible_at_its_mount_path) {
  if (!private_mounts()) GTEST_SKIP() << exec().capabilities().private_mounts_reason;
  const fs::path volume = root_ / "volumes" / "data";
  write_file(volume / "in.txt", "from the host");
  task t = shell(
      "vol", "cat /mnt/kairos-test-data/in.txt; echo from-node > /mnt/kairos-test-data/out.txt");
  proc(t).mounts = {{volume, "/mnt/kairos-test-data", false}};
  auto o = run(std::move(t));
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.result, "from the host");
  EXPECT_EQ(read_file(volume / "out.txt"), "from-node\n");
  std::error_code ec;
  fs::remove("/mnt/kairos-test-data", ec);
}

TEST_F(local_executor_test, read_only_volume_rejects_writes) {
  if (!private_mounts()) GTEST_SKIP() << exec().capabilities().private_mounts_reason;
  const fs::path volume = root_ / "volumes" / "ro";
  write_file(volume / "in.txt", "x");
  task t = shell("ro", "cat /tmp/ro/in.txt && touch /tmp/ro/new.txt");
  proc(t).mounts = {{volume, "/tmp/ro", true}};
  auto o = run(std::move(t));
  EXPECT_EQ(o.what, outcome::kind::exited);
  EXPECT_NE(o.exit_code, 0);
  EXPECT_FALSE(fs::exists(volume / "new.txt"));
}

TEST_F(local_executor_test, volumes_without_a_mount_namespace_fail_clearly) {
  local_executor_settings s;
  s.private_mounts = false;
  make(s);
  EXPECT_FALSE(exec().capabilities().private_mounts);
  EXPECT_FALSE(exec().capabilities().private_mounts_reason.empty());
  task t = shell("vol", "true");
  proc(t).mounts = {{root_ / "v", "/data", false}};
  auto o = run(std::move(t));
  EXPECT_EQ(o.what, outcome::kind::error);
  EXPECT_NE(o.message.find("mount namespace"), std::string::npos) << o.message;
  // Plain nodes still run.
  EXPECT_EQ(run(shell("plain", "echo ok")).result, "ok");
}

TEST_F(local_executor_test, output_parameters_are_read_from_files) {
  task t = shell("params", "printf 'v1' > out1.txt; mkdir -p /tmp/p; echo v2 > /tmp/p/two");
  t.output_parameters = {{"one", "out1.txt"}, {"two", "/tmp/p/two"}, {"absent", "/tmp/p/none"}};
  auto o = run(std::move(t));
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  ASSERT_TRUE(o.parameters.at("one").has_value());
  EXPECT_EQ(*o.parameters.at("one"), "v1");
  ASSERT_TRUE(o.parameters.at("two").has_value());
  EXPECT_EQ(*o.parameters.at("two"), "v2\n");
  EXPECT_FALSE(o.parameters.at("absent").has_value());
}

TEST_F(local_executor_test, output_artifact_is_stored_as_tgz_and_feeds_an_input_artifact) {
  task producer = shell("producer",
                        "mkdir -p /tmp/kx/dir && echo alpha > /tmp/kx/dir/a.txt && "
                        "echo beta > /tmp/kx/dir/b.txt && echo gamma > /tmp/kx/one.txt");
  producer.output_artifacts = {{"dir", "/tmp/kx/dir", false, false},
                               {"one", "/tmp/kx/one.txt", false, false},
                               {"plain", "/tmp/kx/one.txt", true, false}};
  auto made = run(std::move(producer));
  ASSERT_EQ(made.what, outcome::kind::exited) << made.message;
  ASSERT_EQ(made.artifacts.size(), 3u);
  EXPECT_EQ(made.artifacts[0].repository_key, "wf-uid/producer/dir.tgz");
  EXPECT_TRUE(made.artifacts[0].archived);
  EXPECT_TRUE(fs::is_regular_file(root_ / "artifacts" / made.artifacts[0].repository_key));
  EXPECT_FALSE(made.artifacts[2].archived);
  EXPECT_EQ(read_file(root_ / "artifacts" / made.artifacts[2].repository_key), "gamma\n");

  task consumer = shell("consumer", "cat /tmp/in/a.txt /tmp/in/b.txt /tmp/single.txt /tmp/p.txt");
  consumer.input_artifacts.push_back(stored("dir", "/tmp/in", made.artifacts[0].repository_key));
  consumer.input_artifacts.push_back(
      stored("one", "/tmp/single.txt", made.artifacts[1].repository_key));
  consumer.input_artifacts.push_back(
      stored("plain", "/tmp/p.txt", made.artifacts[2].repository_key));
  auto used = run(std::move(consumer));
  ASSERT_EQ(used.what, outcome::kind::exited) << used.message;
  EXPECT_EQ(used.result, "alpha\nbeta\ngamma\ngamma");
}

TEST_F(local_executor_test, missing_output_artifact_is_an_error_unless_optional) {
  task t = shell("no-art", "true");
  t.output_artifacts = {{"opt", "/tmp/nothing-here", false, true}};
  auto fine = run(std::move(t));
  EXPECT_EQ(fine.what, outcome::kind::exited);
  EXPECT_TRUE(fine.artifacts.empty());

  task u = shell("no-art-2", "true");
  u.output_artifacts = {{"needed", "/tmp/nothing-here", false, false}};
  auto bad = run(std::move(u));
  EXPECT_EQ(bad.what, outcome::kind::error);
  EXPECT_NE(bad.message.find("needed"), std::string::npos) << bad.message;
}

TEST_F(local_executor_test, raw_input_artifact_is_written_with_its_mode) {
  task t = shell("raw", "cat /tmp/r/raw.txt; stat -c ' %a' /tmp/r/raw.txt");
  t.input_artifacts.push_back(raw("r", "/tmp/r/raw.txt", "raw text", 0600));
  auto o = run(std::move(t));
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.result, "raw text 600");
}

TEST_F(local_executor_test, unknown_stored_artifact_is_an_error) {
  task t = shell("lost", "true");
  t.input_artifacts.push_back(stored("gone", "/tmp/x", "no/such.tgz"));
  auto o = run(std::move(t));
  EXPECT_EQ(o.what, outcome::kind::error);
  EXPECT_NE(o.message.find("gone"), std::string::npos) << o.message;
  task u = shell("escape", "true");
  u.input_artifacts.push_back(stored("up", "/tmp/x", "../../etc/passwd"));
  EXPECT_EQ(run(std::move(u)).what, outcome::kind::error);
}

TEST_F(local_executor_test, http_input_artifact_is_fetched) {
  kairos::testing::http_test_server server([](const auto& req) {
    return std::optional(kairos::testing::http_test_server::make(200, "downloaded"));
  });
  task t = shell("http-in", "cat /tmp/h.txt");
  t.input_artifacts.push_back(fetched("h", "/tmp/h.txt", server.url("/file")));
  auto o = run(std::move(t));
  ASSERT_EQ(o.what, outcome::kind::exited) << o.message;
  EXPECT_EQ(o.result, "downloaded");
}

TEST_F(local_executor_test, http_task_reports_status_headers_and_body) {
  kairos::testing::http_test_server server([](const auto& req) {
    auto res = kairos::testing::http_test_server::make(
        req.target() == "/ok" ? 200 : 503, std::string(req.method_string()) + " " + req.body());
    res.set("X-Answer", "42");
    return std::optional(std::move(res));
  });
  task t;
  t.workflow_uid = "wf-uid";
  t.node_id = "http";
  http_task h;
  h.method = "POST";
  h.url = server.url("/ok");
  h.body = "payload";
  t.work = h;
  auto o = run(std::move(t));
  ASSERT_EQ(o.what, outcome::kind::http_response) << o.message;
  EXPECT_EQ(o.http_status, 200);
  EXPECT_EQ(o.result, "POST payload");
  EXPECT_EQ(o.http_headers["X-Answer"], "42");

  task bad;
  bad.node_id = "http-bad";
  http_task b;
  b.url = "not a url";
  bad.work = b;
  EXPECT_EQ(run(std::move(bad)).what, outcome::kind::error);
}

// A group that an earlier kairos process left behind: a stand-in child in
// its own group, and a pid that no longer runs to stand for its owner.
struct left_behind {
  pid_t group = 0;
  std::string group_start;  // /proc/<pid>/stat field 22
  pid_t dead_owner = 0;
  std::string boot;
};

left_behind leave_a_group_behind() {
  left_behind out;
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  char sleep_arg[] = "100";
  char sleep_name[] = "sleep";
  char* argv[] = {sleep_name, sleep_arg, nullptr};
  EXPECT_EQ(::posix_spawnp(&out.group, "sleep", nullptr, &attr, argv, environ), 0);
  posix_spawnattr_destroy(&attr);

  out.dead_owner = ::fork();
  if (out.dead_owner == 0) ::_exit(0);
  ::waitpid(out.dead_owner, nullptr, 0);

  std::ifstream stat("/proc/" + std::to_string(out.group) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 1));
  for (int i = 3; i <= 22; ++i) fields >> out.group_start;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> out.boot;
  return out;
}

void expect_killed(pid_t group) {
  int status = 0;
  ASSERT_EQ(::waitpid(group, &status, 0), group);
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

// The registry files of this process's executors, by their contents.
std::vector<std::string> group_registries(const fs::path& nodes_root) {
  std::vector<std::string> out;
  const std::string ours = "groups." + std::to_string(::getpid()) + ".";
  for (const auto& e : fs::directory_iterator(nodes_root))
    if (e.path().filename().string().rfind(ours, 0) == 0) out.push_back(read_file(e.path()));
  return out;
}

TEST_F(local_executor_test, orphaned_group_in_a_dead_owners_registry_is_killed) {
  const auto old = leave_a_group_behind();
  std::string header = "kairos-groups-v1 " + old.boot;
  header.resize(63, ' ');
  std::string slot = std::to_string(old.group) + " " + old.group_start;
  slot.resize(31, ' ');
  std::string blank(31, ' ');
  const fs::path file = root_ / "nodes" / ("groups." + std::to_string(old.dead_owner) + ".1.0");
  write_file(file, header + "\n" + blank + "\n" + slot + "\n");

  make();  // construction runs kill_orphans()
  expect_killed(old.group);
  EXPECT_FALSE(fs::exists(file));
}

TEST_F(local_executor_test, orphaned_group_in_an_older_versions_pgid_file_is_killed) {
  const auto old = leave_a_group_behind();
  write_file(root_ / "nodes" / "old-wf" / "old-node" / "pgid",
             std::to_string(old.group) + " " + old.group_start + " " +
                 std::to_string(old.dead_owner) + " 1 " + old.boot + "\n");

  make();
  expect_killed(old.group);
  EXPECT_FALSE(fs::exists(root_ / "nodes" / "old-wf" / "old-node" / "pgid"));
}

TEST_F(local_executor_test, running_nodes_are_recorded_for_orphan_cleanup_and_cleared_after) {
  const fs::path fifo = fifo_in_node_dir("recorded");
  auto f = start(shell("recorded", "echo $$ > '" + fifo.string() + "'; sleep 100"));
  const int fd = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(fd, 0);
  pollfd p{fd, POLLIN, 0};
  ASSERT_GT(::poll(&p, 1, 60000), 0);
  char buf[32] = {};
  ASSERT_GT(::read(fd, buf, sizeof buf - 1), 0);
  ::close(fd);
  const std::string leader = std::to_string(std::atoi(buf));
  auto recorded = [&] {
    auto files = group_registries(root_ / "nodes");
    return files.size() == 1 && files[0].find("\n" + leader + " ") != std::string::npos;
  };
  // The record is written once the spawn returns, which may be after the
  // child has already run its first command.
  for (int i = 0; i < 6000 && !recorded(); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(recorded());
  exec().kill_orphans();  // our own live nodes are not orphans
  EXPECT_TRUE(recorded());
  exec().kill("wf-uid", "recorded");
  ASSERT_EQ(f.wait_for(60s), std::future_status::ready);
  EXPECT_FALSE(recorded());
  // No file was made for the node's group, and its slot is blank again.
  EXPECT_FALSE(fs::exists(dir_of("recorded") / "pgid"));
  const auto files = group_registries(root_ / "nodes");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].find_first_of("0123456789", 64), std::string::npos) << files[0];
}

}  // namespace
}  // namespace kairos::engine
