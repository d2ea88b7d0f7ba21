#pragma once

// Argo's workflow progress ("N/M": finished and total work units) for a
// workflow document that carries its nodes under status.nodes.
//
// A node that does work (Pod, HTTP, Suspend, and Container or Plugin were
// they supported) counts 1/1 once Succeeded, Skipped or Omitted and 0/1
// otherwise; a failed one stays 0/1. The workflow's progress is the sum over
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

#include <string_view>

#include <nlohmann/json.hpp>

namespace kairos::engine {

// Sets status.progress and each node's progress. A document without
// status.nodes gets progress "0/0", as a workflow that has not started.
void set_progress(nlohmann::json& workflow);

// The rules above, for a workflow summed without its nodes at hand.
bool counts_as_work(std::string_view node_type);
bool counts_as_done(std::string_view node_phase);

}  // namespace kairos::engine
