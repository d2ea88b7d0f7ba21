#pragma once

#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "kairos/spec/cron_workflow.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/metadata.hpp"
#include "kairos/spec/sensor.hpp"
#include "kairos/spec/workflow.hpp"

namespace kairos::spec {

// Workflow, WorkflowTemplate and ClusterWorkflowTemplate share one spec type,
// as they do in Argo.
using resource_spec =
    std::variant<workflow_spec, cron_workflow_spec, event_source_spec, sensor_spec>;

// One loaded, validated manifest.
struct resource {
  spec::kind kind = spec::kind::workflow;
  object_meta metadata;
  resource_spec spec;
  // The document as JSON, normalised: metadata.namespace is filled in for
  // namespaced kinds, and `status` is dropped. This is what the store keeps
  // and what the API returns, so Argo tooling sees the shape it expects.
  nlohmann::json manifest;
  // Where it was read from, for messages.
  std::string file;
  int line = 0;
};

}  // namespace kairos::spec
