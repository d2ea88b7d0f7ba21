#pragma once

// Typed spec of Workflow, WorkflowTemplate and ClusterWorkflowTemplate, with Argo's field names in snake_case.
// PLACEHOLDER: filled in by the spec work.

namespace kairos::spec {

struct workflow_spec {};

}  // namespace kairos::spec
