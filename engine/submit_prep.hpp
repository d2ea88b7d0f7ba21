#pragma once

// Submit-time work on a Workflow manifest that needs no threads: merging a
// referenced WorkflowTemplate, applying submit parameters and checking that
// every parameter a template names is defined.

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::engine::detail {

// Argo's merge of spec.workflowTemplateRef: the template's spec is the base,
// the workflow's own spec fields win, and arguments are merged by name (the
// workflow's value wins). workflowTemplateRef stays in the merged spec.
nlohmann::json merge_template_spec(const nlohmann::json& workflow_spec,
                                   const nlohmann::json& template_spec);

// Overrides (or adds) spec.arguments.parameters by name.
void apply_parameters(nlohmann::json& manifest,
                      const std::vector<std::pair<std::string, std::string>>& parameters);

// `{{workflow.parameters.x}}` needs x in spec.arguments.parameters and
// `{{inputs.parameters.x}}` needs x among the template's inputs. The
// message names the template and the reference.
result<void> check_parameters_defined(const nlohmann::json& spec);

}  // namespace kairos::engine::detail
