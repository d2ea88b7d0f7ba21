#pragma once

// Settings of the argoWorkflow and k8s triggers: both hand a Workflow to the
// embedded engine.

#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors::workflow_trigger {

struct config {
  // nullopt: submit; otherwise the action on the named workflow.
  std::optional<engine::workflow_action> action;
  nlohmann::json resource;  // a Workflow manifest
  std::vector<spec::trigger_parameter> parameters;
};

result<config> read_config(const spec::trigger& t);

}  // namespace kairos::sensors::workflow_trigger
