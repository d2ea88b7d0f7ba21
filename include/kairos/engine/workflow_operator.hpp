#pragma once

// The workflow controller's logic, free of threads, timers and I/O: given
// the workflow and the time, it decides which nodes start, which are killed
// and when it wants to be called again. The runtime (engine/) owns the
// threads, persists what changed before acting on it, and feeds executor
// outcomes back. Tests and benchmarks drive it directly with a fake
// executor and a manual clock.
//
// Work is incremental: a call touches the nodes that changed and their
// dependents, never the whole graph, so a run of N nodes costs O(N).

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/executor.hpp"
#include "kairos/spec/workflow.hpp"

namespace kairos::engine {

// Mutexes and semaphores of `synchronization`, kept by the runtime across
// workflows. Keys are "<namespace>/mutex/<name>" and
// "<namespace>/semaphore/<configmap>/<key>".
class sync_manager {
 public:
  virtual ~sync_manager() = default;
  // True when `holder` now holds (or already held) the lock. Otherwise the
  // holder is queued and the runtime operates its workflow again on release.
  virtual bool try_acquire(const std::string& key, const std::string& holder) = 0;
  virtual void release(const std::string& key, const std::string& holder) = 0;
  // After a restart: `holder` held the lock before and still runs under it,
  // so it holds it again whatever the queue (Argo rebuilds its holders from
  // the workflows' status the same way).
  virtual void restore(const std::string& key, const std::string& holder) {
    try_acquire(key, holder);
  }
};

struct operator_environment {
  // Resolves templateRef: the named template of a WorkflowTemplate (or, with
  // cluster_scope, a ClusterWorkflowTemplate) in namespace `ns`.
  std::function<result<spec::template_spec>(const spec::template_ref& ref, const std::string& ns)>
      resolve_template_ref;
  // Reads <data-dir>/secrets/<name>/<key>; used for env valueFrom.secretKeyRef
  // and http header secrets.
  std::function<result<std::string>(const spec::secret_key_selector&)> read_secret;
  sync_manager* sync = nullptr;  // null: synchronization is not supported
  // emptyDir volumes live at <volumes_root>/<workflow uid>/<volume name>.
  std::filesystem::path volumes_root;
  executor_capabilities capabilities;
  // The spec as the spec module already read it from this very manifest,
  // when the submitter has it (a 2,000-task spec takes 25 ms to read again,
  // and a few to copy: the operator takes it over). Empty: the operator
  // reads the manifest's spec itself.
  std::optional<spec::workflow_spec> parsed_spec;
};

struct operate_outcome {
  std::vector<task> launches;                   // start these leaf nodes
  std::vector<std::string> kills;               // kill these running nodes (node ids)
  std::optional<clock::time_point> requeue_at;  // operate again then (backoff, suspend, deadline)
  std::vector<std::string> changed_nodes;       // persist these nodes
  bool status_changed = false;                  // persist the workflow's status
  bool completed = false;                       // the workflow reached a final phase
};

class workflow_operator {
 public:
  // `workflow` is the Argo Workflow object: metadata (name, namespace, uid,
  // creationTimestamp set), spec (with workflowTemplateRef already merged in
  // by the runtime) and, for a restored workflow, status including
  // status.nodes. Invalid specs that only show at this point (an unknown
  // templateRef, say) fail here with a precise message.
  static result<std::unique_ptr<workflow_operator>> create(nlohmann::json workflow,
                                                           operator_environment env);
  virtual ~workflow_operator() = default;

  // After a restart: every leaf node that was Running becomes Error with the
  // message "the executor restarted"; retries apply on the next operate().
  virtual void recover(clock::time_point now) = 0;
  // Advances the workflow as far as it can go at `now`.
  virtual operate_outcome operate(clock::time_point now) = 0;
  // A launched node finished; call operate() afterwards.
  virtual void complete_node(const std::string& node_id, const outcome& o,
                             clock::time_point now) = 0;
  // A running node reported its own progress ("N/M", Argo's
  // ARGO_PROGRESS_FILE). True when its progress changed, which the next
  // operate() reports among the changed nodes; anything else is ignored.
  virtual bool report_progress(const std::string& node_id, const std::string& text) = 0;

  // Lifecycle actions (Argo semantics). Each returns an error when it does not
  // apply (resume of a workflow that is not suspended, retry of a running one).
  virtual result<void> suspend() = 0;
  virtual result<void> resume(clock::time_point now) = 0;     // the workflow and its suspend nodes
  virtual result<void> stop(clock::time_point now) = 0;       // exit handlers still run
  virtual result<void> terminate(clock::time_point now) = 0;  // no exit handlers
  virtual result<void> retry(clock::time_point now) = 0;      // re-run failed nodes only

  virtual std::string phase() const = 0;
  // The whole object, status.nodes included (Argo's JSON shape).
  virtual nlohmann::json workflow_json() const = 0;
  // The object without status.nodes, and one node's NodeStatus: what the
  // runtime persists after each change.
  virtual nlohmann::json workflow_json_without_nodes() const = 0;
  virtual nlohmann::json node_json(const std::string& node_id) const = 0;
  // node_json's text as dump_json_replacing prints it, with the node's name
  // and phase: what the runtime stores for a changed node. An operator may
  // print it without building the tree.
  struct node_text {
    std::string name, phase, body;
  };
  virtual node_text node_json_text(const std::string& node_id) const;
};

}  // namespace kairos::engine
