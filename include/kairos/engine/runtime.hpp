#pragma once

// The workflow engine: owns the threads, the store writes and the timers
// around the pure workflow_operator, and implements workflow_service for the
// API, sensors and cron.
//
// Each workflow has a strand. operate() runs on it; what operate() changed
// is written to the store on a blocking pool, and only once that write has
// returned are launches and kills handed to the executor, so every phase
// change is durable before it has effects. Executor completions are posted
// back to the strand. requeue_at becomes an Asio timer measured against the
// injected clock; with a manual clock, tests move the clock and call
// check_timers().

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/executor.hpp"
#include "kairos/engine/workflow_operator.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace kairos::engine {

struct runtime_settings {
  // secrets/<name>/<key>, configmaps/<name>/<key> (semaphore limits) and
  // volumes/<workflow uid>/<volume> live here.
  std::filesystem::path data_dir = ".kairos";
  std::size_t threads = 2;  // run operate() and timers
  // Given, operate() and the timers run on this context instead, and
  // `threads` is unused: on the executor's, a node's exit reaches its
  // workflow without a wake-up of another thread. Its owner runs it, and
  // stops it (joining its threads) after stop() and before destroying the
  // runtime.
  boost::asio::io_context* io = nullptr;
  // Semaphore limits by key ("<ns>/semaphore/<configmap>/<key>"); they
  // override <data_dir>/configmaps/<configmap>/<key>.
  std::map<std::string, std::int64_t> semaphore_limits;
};

using operator_factory = std::function<result<std::unique_ptr<workflow_operator>>(
    nlohmann::json workflow, operator_environment env)>;

// workflow_operator::create.
operator_factory default_operator_factory();

class runtime final : public workflow_service {
 public:
  runtime(runtime_settings settings, store::database& db, engine::executor& exec,
          const kairos::clock& clock, operator_factory factory = default_operator_factory());
  ~runtime() override;
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  // Loads every workflow that had not finished, marks its running nodes as
  // failed by the restart (workflow_operator::recover) and continues it.
  // Returns how many workflows were resumed. Call once, before submit.
  result<std::size_t> recover();
  // Stops the threads. Running nodes are left to the executor; a later
  // recover() picks their workflows up.
  void stop();

  result<store::workflow_record> submit(const spec::resource& workflow,
                                        const submit_options& options) override;
  // The same, taking over the workflow's manifest and spec instead of
  // copying them (a 2,000-task manifest and spec take several ms to copy).
  result<store::workflow_record> submit(spec::resource&& workflow, const submit_options& options);
  result<store::workflow_record> act(const std::string& ns, const std::string& name,
                                     workflow_action action) override;
  result<std::string> logs(const std::string& ns, const std::string& name,
                           const std::string& node) override;

  // The stored workflow with status.nodes filled from the node records.
  result<nlohmann::json> get(const std::string& ns, const std::string& name);
  // Blocks until the workflow is no longer active (finished, or not known),
  // then returns get(). unavailable after `timeout`.
  result<nlohmann::json> wait(const std::string& ns, const std::string& name,
                              std::chrono::milliseconds timeout);
  // Operates every workflow whose requeue time has come by clock.now().
  // The engine's own timer does this for a real clock.
  void check_timers();
  // Workflows currently held in memory (not finished).
  std::size_t active_count() const;
  // Whether the executor gives nodes private mounts, and why not.
  executor_capabilities capabilities() const;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kairos::engine
