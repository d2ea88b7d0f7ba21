#pragma once

// A stand-in operator and executor, so the runtime is tested on its own:
// the operator runs one leaf node per container template, all in parallel,
// and succeeds when they all exit 0. A template annotated
// `kairos.test/requeue-seconds: N` (metadata.annotations) makes its node
// wait N seconds on the clock before it starts.

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/engine/runtime.hpp"

namespace kairos::engine::testing {

struct fake_log {
  std::mutex mutex;
  std::vector<std::string> actions;     // "suspend", "retry", ...
  std::vector<nlohmann::json> created;  // every workflow the factory saw
  // Called, outside the mutex, with the workflow's name: by the factory
  // before it builds an operator, and by each operate().
  std::function<void(const std::string&)> on_create;
  std::function<void(const std::string&)> on_operate;
};

operator_factory fake_operator_factory(fake_log& log);

class fake_executor final : public executor {
 public:
  explicit fake_executor(std::filesystem::path log_dir) : log_dir_(std::move(log_dir)) {}
  ~fake_executor() override { drain(); }

  executor_capabilities capabilities() const override { return {}; }
  void start(task t, completion done) override;
  void kill(const std::string& workflow_uid, const std::string& node_id) override;
  std::filesystem::path log_path(const std::string& workflow_uid,
                                 const std::string& node_id) const override;

  // Runs before `done` is stored; the test may look at the store here.
  std::function<void(const task&)> on_start;
  // Exit codes by node id; nodes not listed wait for finish().
  std::map<std::string, int> auto_exit;

  // Completes a started node; false when it has not started yet.
  bool finish(const std::string& node_id, int exit_code);
  // Waits (real time, bounded) until `n` tasks have started in total.
  bool wait_started(std::size_t n);
  std::vector<std::string> started() const;
  std::vector<std::string> killed() const;
  // Waits for the threads that deliver auto_exit outcomes and drops the
  // completions never delivered. Call it before the runtime goes: the
  // completions hold the runtime's workflow state.
  void drain();

 private:
  std::filesystem::path log_dir_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> started_;
  std::vector<std::string> killed_;
  std::map<std::string, completion> pending_;
  std::vector<std::thread> deliveries_;
};

}  // namespace kairos::engine::testing
