#pragma once

// The seam between the workflow controller and whatever runs a leaf node.
// The local process executor implements it; a Kubernetes or container
// executor could replace it without touching the controller. Every value in
// a task is final: templates are already substituted and secrets resolved.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace kairos::engine {

// An emptyDir volume (one host directory per workflow and volume name) seen
// by the node at mount_path.
struct volume_mount {
  std::filesystem::path host_path;
  std::string mount_path;
  bool read_only = false;
};

struct process_task {
  std::string image;  // recorded only; nothing is pulled
  // command followed by args. For a script template the executor writes
  // `script_source` to a file and appends that file's path.
  std::vector<std::string> argv;
  std::optional<std::string> script_source;
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;  // as the node sees it; empty: the node's own directory
  std::vector<volume_mount> mounts;
};

struct http_task {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
  bool insecure_skip_verify = false;
};

// An input artifact placed at `path` (as the node sees it) before start.
struct input_artifact {
  std::string name;
  std::string path;
  // Exactly one source: a stored artifact (key in the artifact repository),
  // raw content, or an http URL.
  std::string repository_key;
  std::optional<std::string> raw;
  std::string http_url;
  std::vector<std::pair<std::string, std::string>> http_headers;
  std::optional<int> mode;
};

// An output collected after the node ends, from `path` as the node saw it.
struct output_parameter_file {
  std::string name;
  std::string path;
};

struct output_artifact_file {
  std::string name;
  std::string path;
  bool archive_none = false;  // default: tar + gzip
  bool optional = false;
};

struct task {
  std::string workflow_uid;
  std::string workflow_name;
  std::string node_id;
  std::variant<process_task, http_task> work;
  std::vector<input_artifact> input_artifacts;
  std::vector<output_parameter_file> output_parameters;
  std::vector<output_artifact_file> output_artifacts;
};

struct stored_artifact {
  std::string name;
  std::string repository_key;  // relative to the artifact repository root
  bool archived = true;        // tar.gz; false: the file as it was
};

struct outcome {
  enum class kind {
    exited,           // the process ran and exited; exit_code is set
    signaled,         // killed by a signal (terminate, deadline, or anything else)
    failed_to_start,  // could not be started (missing command, bad working dir, ...)
    http_response,    // an http task got a response; http_status and result are set
    error,            // anything else; message says what
  };
  kind what = kind::error;
  int exit_code = -1;
  int signal = 0;
  int http_status = 0;
  std::map<std::string, std::string> http_headers;
  // Process stdout (bounded to 256 KiB, one trailing newline trimmed) or the
  // http response body.
  std::string result;
  // Values read from output_parameters; absent when the file did not exist.
  std::map<std::string, std::optional<std::string>> parameters;
  std::vector<stored_artifact> artifacts;
  std::string message;  // human-readable, for node.status.message on failure
  // What the node last reported of its own progress (Argo's
  // ARGO_PROGRESS_FILE), as read; the controller decides whether it is a
  // valid "N/M".
  std::optional<std::string> progress;
};

struct executor_capabilities {
  // Each node sees its own /tmp and its volumes at their mount paths (a
  // private mount namespace). Without it, manifests with volumeMounts fail
  // clearly at start.
  bool private_mounts = false;
  std::string private_mounts_reason;  // why not, when false
};

class executor {
 public:
  using completion = std::function<void(outcome)>;
  // Called, from any thread, with what a running node reports of its own
  // progress each time that changes.
  using progress_report = std::function<void(std::string)>;
  virtual ~executor() = default;

  virtual executor_capabilities capabilities() const = 0;
  // Starts the task and returns at once; `done` is called exactly once, from
  // any thread, when the node has finished and its outputs are collected.
  virtual void start(task t, completion done) = 0;
  // start(), passing on the progress a running node reports of itself; not
  // called after `done`. An executor whose nodes cannot report starts them
  // as start() does.
  virtual void start_reporting(task t, completion done, progress_report progress) {
    static_cast<void>(progress);
    start(std::move(t), std::move(done));
  }
  // Kills the node's whole process group (SIGTERM, then SIGKILL after a
  // grace period). `done` of that node still fires, with kind::signaled.
  virtual void kill(const std::string& workflow_uid, const std::string& node_id) = 0;
  // The node's combined stdout and stderr so far.
  virtual std::filesystem::path log_path(const std::string& workflow_uid,
                                         const std::string& node_id) const = 0;
};

}  // namespace kairos::engine
