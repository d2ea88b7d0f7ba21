#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/engine/executor.hpp"
#include "kairos/engine/runtime.hpp"
#include "kairos/spec/resource.hpp"
#include "kairos/store/store.hpp"
#include "parameters.hpp"

namespace kairos::cli {

// Where the engine's work runs.
enum class engine_layout {
  // The executor's I/O thread (pidfds, pipes, http templates) apart from the
  // runtime's two threads (operate() and its commits): a server's I/O never
  // waits for a workflow's store write.
  separate,
  // One thread for both, for a process that runs one workflow (kairos run):
  // a node's exit reaches its workflow, and the next launch the executor,
  // without waking another thread.
  one_thread,
};

// The engine as a process runs it: the local process executor and the
// runtime over a store. Stopping (or destroying) stops the runtime, then the
// I/O thread, then the executor.
class engine_host {
 public:
  static result<std::unique_ptr<engine_host>> start(store::database& db,
                                                    const std::filesystem::path& data_dir,
                                                    engine_layout layout = engine_layout::separate);
  ~engine_host();
  engine_host(const engine_host&) = delete;
  engine_host& operator=(const engine_host&) = delete;

  engine::runtime& runtime() { return *runtime_; }
  engine::executor_capabilities capabilities() const;

 private:
  engine_host() = default;
  struct io;
  std::unique_ptr<io> io_;
  std::unique_ptr<engine::executor> executor_;
  std::unique_ptr<engine::runtime> runtime_;
};

struct local_run_settings {
  // Empty: a temporary directory, removed afterwards.
  std::filesystem::path data_dir;
  std::chrono::milliseconds timeout{std::chrono::hours(24)};
};

// One `kairos run`: its store and engine, opened on a thread of their own
// from construction on, so that opening them (a new database syncs its files
// several times; the executor probes the kernel and starts its threads)
// overlaps reading the manifest. Nothing runs until submit(): the store's
// unfinished workflows are recovered there, after the manifest proved valid.
class local_run {
 public:
  explicit local_run(local_run_settings settings);
  // Stops the engine, closes the store and removes a temporary directory.
  ~local_run();
  local_run(const local_run&) = delete;
  local_run& operator=(const local_run&) = delete;

  // Stores the WorkflowTemplates in `also_store` (so templateRef works),
  // resumes the store's unfinished workflows and submits one validated
  // Workflow, which the engine takes over.
  result<void> submit(spec::resource&& workflow,
                      const std::vector<const spec::resource*>& also_store,
                      const parameter_list& parameters);
  // Waits for the submitted Workflow and returns it, finished, with
  // status.nodes.
  result<nlohmann::json> wait();

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace kairos::cli
