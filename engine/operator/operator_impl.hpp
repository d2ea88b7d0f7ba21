#pragma once

// The workflow operator's state. Every NodeStatus is a `node`; the nodes
// that still execute carry an `exec` frame saying how (a leaf, a DAG, a
// step list, a loop, a retry) and which node waits for them. Work is driven
// by a queue of nodes to advance: a finished child is handed to its parent
// as an event, so one completion touches that node, its parent and the
// dependents it unblocks, never the whole graph.
//
// After a restart the frames are rebuilt by executing from the root again:
// node names are deterministic, so each template finds its existing node
// and a fulfilled one is reported to its parent without running again.

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/engine/workflow_operator.hpp"

namespace kairos::engine::op {

using json = nlohmann::json;
using time_point = clock::time_point;

namespace phase {
inline constexpr const char* pending = "Pending";
inline constexpr const char* running = "Running";
inline constexpr const char* succeeded = "Succeeded";
inline constexpr const char* failed = "Failed";
inline constexpr const char* error = "Error";
inline constexpr const char* skipped = "Skipped";
inline constexpr const char* omitted = "Omitted";
}  // namespace phase

bool is_fulfilled(const std::string& p);
bool is_failed_or_error(const std::string& p);

// Variables visible to `{{...}}`: flat names such as "tasks.a.outputs.result".
// A scope chains to its parent (template inputs, then the workflow).
struct scope {
  const scope* parent = nullptr;
  std::unordered_map<std::string, std::string> vars;
  std::unordered_map<std::string, json> artifacts;  // "tasks.a.outputs.artifacts.x" -> artifact

  const std::string* find(const std::string& name) const;
  const json* find_artifact(const std::string& name) const;
  // Nested JSON of every variable in the chain, for `{{=expr}}`.
  json expr_env() const;
};

// A call of a template: what a node executes.
struct invocation {
  const spec::template_spec* tmpl = nullptr;
  std::string template_name;
  std::vector<std::pair<std::string, std::string>> params;  // resolved inputs.parameters
  std::vector<json> artifacts;                              // resolved inputs.artifacts
  std::string boundary_id;
  const spec::template_call* call = nullptr;  // the task or step, when there is one
  int retries = 0;                            // attempt index for {{retries}}
  bool attempt = false;                       // a retry attempt: no retry wrapper again
};

enum class exec_kind { leaf, suspend, dag, steps, retry, loop_group, step_group, exit_wrapper };

struct dag_state;
struct steps_state;
struct group_state;

struct exec {
  exec_kind kind = exec_kind::leaf;
  invocation inv;
  int parent = -1;               // the node waiting for this one
  std::vector<int> events;       // children that finished, not yet processed
  std::shared_ptr<scope> local;  // inputs.* (+ workflow chain)
  bool begun = false;
  // leaf
  bool launched = false;
  bool waiting_sync = false;
  bool killed_for_deadline = false;
  bool killed_for_shutdown = false;
  std::vector<std::string> locks;
  std::optional<time_point> deadline;
  std::string deadline_message;
  // retry
  std::optional<time_point> retry_at;
  std::unique_ptr<dag_state> dag;
  std::unique_ptr<steps_state> steps;
  std::unique_ptr<group_state> group;
};

struct node {
  std::string id, name, display_name, type, template_name, phase, message, boundary_id;
  std::optional<time_point> started_at, finished_at;
  std::vector<std::string> children, outbound;
  json inputs;   // null or {parameters, artifacts}
  json outputs;  // null or {parameters, result, exitCode, artifacts}
  json extra;    // other persisted fields, kept as they were
  std::unique_ptr<exec> ex;
  // In an operate_outcome's changed_nodes once (restored nodes were).
  bool published = false;
  // Held back by the workflow's parallelism before it was ever published:
  // Argo creates no node for such a task, so while it stays Pending it is
  // left out of changed_nodes, the workflow's nodes and its parents'
  // children (see concealed()). A Retry node whose first attempt is held
  // back is held back with it: Argo creates neither.
  bool throttled = false;
  // Finished, with children added since it was last stored (see
  // note_new_child).
  bool children_unstored = false;
  std::vector<int> listed_by;  // nodes whose children name this one
};

// --- depends expressions -----------------------------------------------------

struct depends_expr {
  enum class op { leaf, and_, or_, not_ };
  op kind = op::leaf;
  int task = -1;
  std::string result;  // Succeeded, Failed, ... ; empty: the bare task name
  std::vector<depends_expr> args;
};

struct dag_task_state {
  int node = -1;
  int waiting = 0;  // dependencies not resolved yet
  bool started = false;
  bool resolved = false;
  bool needed = true;
  bool exit_started = false;
  std::string final_phase;  // phase of the task node once resolved
  std::string branch;       // Argo's branch phase for the DAG's own phase
};

struct dag_state {
  const spec::dag_template* dag = nullptr;
  std::vector<dag_task_state> tasks;
  std::unordered_map<std::string, int> index;
  std::vector<std::vector<int>> deps;        // task -> tasks it waits for
  std::vector<std::vector<int>> dependents;  // task -> tasks waiting for it
  std::vector<depends_expr> logic;
  std::vector<char> failure_handled;  // a dependent names a failure result of it
  std::vector<int> targets;
  std::shared_ptr<scope> vars;  // tasks.*
  std::deque<int> ready;
  std::unordered_map<int, int> task_of_node;  // node idx -> task
  std::unordered_map<int, int> exit_of_node;  // exit handler node idx -> task
  int active = 0;
  int unresolved = 0;
  bool fail_fast_tripped = false;
};

struct steps_state {
  int group = -1;                        // index of the running step group
  int group_node = -1;                   // its node
  std::vector<int> members;              // nodes of the running group (a looped step: one per item)
  std::vector<std::size_t> member_step;  // member -> its step in the group
  std::unordered_map<int, std::size_t> member_index;  // node -> position in members
  int pending = 0;
  std::shared_ptr<scope> vars;  // steps.*
  std::vector<std::string> prev_outbound;
};

struct group_child {
  std::string name, display;
  invocation inv;
};

struct group_state {
  std::vector<group_child> planned;
  std::size_t next = 0;
  std::vector<int> children;
  int active = 0;
  int done = 0;
  std::int64_t parallelism = 0;
  bool fail_fast = false;
  std::string failed_child;
};

// "(0:item)" label of a loop child.
std::string item_label(std::size_t i, const json& item);
std::string item_text(const json& item);
bool is_loop(const spec::template_call& call);
// item and item.<key> of one loop item.
void set_item_vars(scope& sc, const json& item);

// Argo's node id: the workflow name for the root, else "<wf>-<fnv32a(name)>".
std::string node_id_of(const std::string& workflow_name, const std::string& node_name);

// Parses a depends expression (already expanded from `dependencies` when
// needed); task names resolve through `index`.
result<depends_expr> parse_depends(const std::string& text,
                                   const std::unordered_map<std::string, int>& index);

class operator_impl final : public workflow_operator {
 public:
  static result<std::unique_ptr<workflow_operator>> make(json workflow, operator_environment env);

  void recover(time_point now) override;
  operate_outcome operate(time_point now) override;
  void complete_node(const std::string& node_id, const outcome& o, time_point now) override;
  bool report_progress(const std::string& node_id, const std::string& text) override;
  result<void> suspend() override;
  result<void> resume(time_point now) override;
  result<void> stop(time_point now) override;
  result<void> terminate(time_point now) override;
  result<void> retry(time_point now) override;
  std::string phase() const override { return phase_; }
  json workflow_json() const override;
  json workflow_json_without_nodes() const override;
  json node_json(const std::string& node_id) const override;
  node_text node_json_text(const std::string& node_id) const override;

  // --- shared between the files of the operator ------------------------------
  // operator_impl.cpp
  int find_node(const std::string& name) const;
  int create_node(const std::string& name, const std::string& display, const std::string& type,
                  const std::string& template_name, const std::string& boundary_id);
  void add_child(int parent, int child);
  void mark_changed(int idx);
  // A parent gained a child. A finished Pod's children are the tasks and
  // steps that ran after it: nothing reads them back but the DAG and steps
  // walks, which add them again after a restart. Storing such a parent at
  // every launch wrote two rows per dependency; its new children are stored
  // at most this long after, and when the workflow finishes.
  static constexpr auto children_store_lag = std::chrono::seconds(1);
  // Once due, at most this many such parents go with one step, and the
  // rest follow within children_slice_gap.
  static constexpr std::size_t children_per_step = 64;
  static constexpr auto children_slice_gap = std::chrono::milliseconds(5);
  void note_new_child(int parent);
  void enqueue(int idx);
  void set_phase(int idx, const std::string& p, const std::string& message = {});
  void finish_node(int idx, const std::string& p, const std::string& message = {});
  void child_finished(int idx);
  void add_timer(time_point at, int idx);
  const spec::template_spec* resolve_template(const spec::template_call& call, std::string& err);
  const spec::template_spec* find_template(const std::string& name) const;

  // templates.cpp
  // Starts (or finds) the node `name` executing `inv`, waited for by `parent`.
  int execute(const std::string& name, const std::string& display, invocation inv, int parent);
  // The invocation of `call`'s template with its arguments substituted in `sc`.
  result<invocation> make_invocation(const spec::template_call& call, const scope& sc,
                                     const std::string& boundary_id);
  result<invocation> make_invocation(const spec::template_spec& t, const std::string& name,
                                     const spec::arguments& args, const scope& sc,
                                     const std::string& boundary_id);
  result<std::string> substitute(const std::string& text, const scope& sc,
                                 bool keep_unresolved = false) const;
  void advance(int idx);
  void advance_leaf(int idx);
  void hold_back(int idx);
  bool concealed(const node& n) const;
  // Whether a child's id shows in its parent's children (see concealed()).
  bool child_shown(const std::string& id) const;
  void advance_suspend(int idx);
  void launch(int idx);
  void finish_leaf(int idx, const outcome& o);
  // The index of a launched leaf that has not finished; -1 for any other id.
  int running_leaf(const std::string& node_id) const;
  // Keeps a valid reported "N/M" as the node's progress; true when it changed.
  bool keep_progress(int idx, const std::string& text);
  void collect_template_outputs(int idx, const std::string& result);
  bool acquire_locks(int idx, const spec::synchronization& sync, const std::string& holder);
  void release_locks(int idx);
  std::vector<std::string> lock_keys(const spec::synchronization& sync) const;
  // The gate of a dag or steps node: true once it holds its template's
  // locks (or needs none); otherwise it waits in blocked_ or has finished.
  bool take_node_locks(int idx);
  // Why a node that has not started must not start now; empty when it may.
  std::string why_not_start() const;
  std::int64_t effective_deadline_seconds(int idx, std::string& why);

  // retries.cpp
  bool has_retry(const invocation& inv) const;
  void advance_retry(int idx);

  // dag.cpp
  void begin_dag(int idx);
  void advance_dag(int idx);
  // steps.cpp
  void begin_steps(int idx);
  void advance_steps(int idx);
  void advance_group(int idx);
  // Expands `call` (a loop, `when`, or a plain call) into node `name` under
  // `parent`; returns the node.
  // With expand_loop false a looped call runs once, as one item of a loop
  // its caller expanded (steps put the items straight into the StepGroup).
  int start_call(const spec::template_call& call, const std::string& name,
                 const std::string& display, const scope& sc, const std::string& boundary_id,
                 int parent, bool evaluate_when, bool expand_loop = true);
  // The items of a withItems/withParam/withSequence call, in order.
  result<std::vector<json>> loop_items(const spec::template_call& call, const scope& sc);
  void publish_outputs(scope& sc, const std::string& prefix, int idx);
  void publish_aggregate(scope& sc, const std::string& prefix, const std::vector<int>& children);

  // phases.cpp
  void begin_workflow(time_point now);
  void advance_workflow();
  void finish_workflow(const std::string& p, const std::string& message);
  json failures_json() const;
  void check_deadlines(time_point now);
  void kill_running(bool for_deadline, const std::string& message);

  // --- state ------------------------------------------------------------------
  json wf_;  // metadata, spec and status without nodes
  spec::workflow_spec spec_;
  operator_environment env_;
  std::string name_, ns_, uid_;
  time_point created_{};
  std::string phase_ = phase::pending;
  std::string message_;
  std::optional<time_point> started_at_, finished_at_;
  json global_params_ = json::array();
  json global_artifacts_ = json::array();
  bool suspended_ = false;
  std::string shutdown_;  // "", "Stop", "Terminate"
  bool deadline_passed_ = false;
  bool needs_mounts_error_checked_ = false;
  std::string volumes_error_;
  std::string wf_lock_holder_;
  bool wf_locks_held_ = false;

  std::shared_ptr<scope> globals_;
  std::deque<spec::template_spec> ref_templates_;
  std::map<std::string, const spec::template_spec*> ref_cache_;

  std::deque<node> nodes_;  // a deque: references stay valid while nodes are added
  std::unordered_map<std::string, int> by_name_, by_id_;
  int root_ = -1;
  int exit_root_ = -1;
  bool main_done_ = false;

  time_point now_{};
  std::deque<int> queue_;
  std::vector<char> queued_;
  std::multimap<time_point, int> timers_;
  std::vector<int> blocked_;  // leaves waiting for parallelism or a lock
  // dag/steps nodes that were Running when the server restarted: they held
  // their template's locks and take them back without queueing. recover()
  // restores what the node's template name finds; the gate corrects that
  // once the node's real template is known (a templateRef, say).
  std::map<int, std::vector<std::string>> restored_running_;
  std::set<int> running_leaves_;
  std::vector<char> changed_;
  std::vector<int> changed_list_;
  // Nodes throttled before they were ever published: while there are none,
  // no node is concealed and children need no filtering.
  std::size_t unpublished_throttled_ = 0;
  std::vector<std::pair<int, int>> children_added_;  // (parent, child) since the last operate()
  // Finished leaves whose stored children lag behind, and since when.
  std::vector<int> unstored_children_;
  time_point unstored_since_{};
  operate_outcome out_;
  std::vector<std::string> pending_kills_;  // from actions, handed out by operate()
  bool status_changed_ = false;
};

}  // namespace kairos::engine::op
