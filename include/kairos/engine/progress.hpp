#pragma once

// Argo's workflow progress ("N/M": finished and total work units) for a
// workflow document that carries its nodes under status.nodes.
//
// A node that does work (Pod, HTTP, Suspend, and Container or Plugin were
// they supported) counts 1/1 once Succeeded, Skipped or Omitted and 0/1
// otherwise; a failed one stays 0/1. A pod may report its own "N/M" (Argo's
// ARGO_PROGRESS_FILE), kept in its node's progress: that figure counts
// instead, made whole (M/M) when the node succeeds, as Argo does; a failed
// node keeps the last one it reported. The workflow's progress is the sum over
// all working nodes, as in Argo. A DAG or Steps node sums the working nodes
// within its boundary; a StepGroup, TaskGroup or Retry node sums its
// children. A sum with nothing in it is left out, as Argo leaves it.
//
// Argo sums, for every grouping node, all it reaches through children
// links, which run on from a step to the next group and from a task to its
// dependents: its StepGroups count every later step too, and the work is
// quadratic in a long chain. The sums here stay within what a node holds
// and take linear time; the workflow's figure is the same.
//
// Computed when the document is read rather than stored with each node: a
// DAG's progress changes whenever any task below it finishes, and storing
// that would rewrite the DAG's node at every step.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kairos::engine {

// Sets status.progress and each node's progress. A document without
// status.nodes gets progress "0/0", as a workflow that has not started.
void set_progress(nlohmann::json& workflow);

// Finished and total work units, "N/M".
struct work_progress {
  std::int64_t done = 0;
  std::int64_t total = 0;

  // "N/M" with 0 <= N <= M and M > 0, as Argo accepts a reported figure.
  static std::optional<work_progress> parse(std::string_view text);

  // Counts `count` nodes of this type and phase, which reported `reported`
  // of themselves (empty: nothing), by the rules above; also serves a
  // workflow summed without its nodes at hand (the list).
  void add(std::string_view node_type, std::string_view node_phase, std::int64_t count = 1,
           std::string_view reported = {});
  work_progress& operator+=(const work_progress& other);
  std::string text() const;
};

}  // namespace kairos::engine
