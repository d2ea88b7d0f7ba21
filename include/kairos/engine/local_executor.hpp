#pragma once

// Runs leaf nodes as local processes (and http templates with the shared
// HTTP client). Each node gets <nodes_root>/<workflow_uid>/<node_id>/ with
// its log, script, work dir and private /tmp, its own process group and,
// when the kernel allows it, its own mount namespace in which /tmp and the
// volumes are bind-mounted.
//
// Paths in a task are as the node sees them. With private mounts a path under
// /tmp is the node's private tmp directory and a path under a volume's
// mount_path is inside that volume's host_path; every other path (and every
// path without private mounts) is the host path as is.
//
// Like a container, a node ends when its main process does: whatever is left
// in its process group is then killed. An http task is bounded by its own
// timeout; kill() does not interrupt it.

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "kairos/engine/executor.hpp"

namespace kairos::engine {

struct local_executor_settings {
  std::filesystem::path nodes_root;
  std::filesystem::path artifacts_root;
  // Between SIGTERM and SIGKILL when a node is killed.
  std::chrono::milliseconds kill_grace{2000};
  // Bound on a process node's captured stdout (outcome.result) and on each
  // output parameter read from a file.
  std::size_t max_result_bytes = 256 * 1024;
  // Try a mount namespace per node (private /tmp, volumes at mount paths).
  bool private_mounts = true;
  // After the main process exits, how long to keep reading output written
  // by processes that left its process group before closing the log.
  std::chrono::milliseconds drain_after_exit{2000};
  // How often a running node's progress file (ARGO_PROGRESS_FILE) is read,
  // as Argo's executor reads it (ARGO_PROGRESS_FILE_TICK_DURATION).
  std::chrono::milliseconds progress_interval{3000};
};

class local_executor final : public executor {
 public:
  // `io` runs the asynchronous waits (process exit, pipes, timers, http);
  // blocking work (artifacts, fork) runs on the executor's own threads.
  // Construction probes for mount namespaces and calls kill_orphans().
  local_executor(boost::asio::any_io_executor io, local_executor_settings s);
  ~local_executor() override;
  local_executor(const local_executor&) = delete;
  local_executor& operator=(const local_executor&) = delete;

  executor_capabilities capabilities() const override;
  void start(task t, completion done) override;
  // Each process node finds ARGO_PROGRESS_FILE in its environment, naming a
  // file in its directory where it may write "N/M".
  void start_reporting(task t, completion done, progress_report progress) override;
  void kill(const std::string& workflow_uid, const std::string& node_id) override;
  std::filesystem::path log_path(const std::string& workflow_uid,
                                 const std::string& node_id) const override;

  // SIGKILLs the process groups recorded under nodes_root by an earlier
  // kairos process that is gone (a crash or restart left them running).
  // Groups of a live owner, and recycled pids, are left alone.
  void kill_orphans();

  // How many times a spare directory was listed to see that it is empty (a
  // test seam: one unchanged since its last listing is not listed again).
  std::size_t spare_listings() const;

  struct impl;

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace kairos::engine
