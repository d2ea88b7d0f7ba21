#pragma once

// Checks on a workflow spec that depend on how it is used, which the spec
// reader alone cannot know.

#include <string>

#include "kairos/spec/workflow.hpp"
#include "yaml_reader.hpp"

namespace kairos::spec {

// A spec that is run as it stands (a Workflow, a CronWorkflow's
// workflowSpec) needs an entrypoint unless it takes one from the
// WorkflowTemplate it references; a WorkflowTemplate may be a library of
// templates without one.
void check_runnable_workflow(reader_context& ctx, const yaml_node& spec_node,
                             const std::string& spec_path, const workflow_spec& spec);

}  // namespace kairos::spec
