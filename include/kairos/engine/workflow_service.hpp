#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kairos/core/result.hpp"
#include "kairos/spec/resource.hpp"
#include "kairos/store/store.hpp"

namespace kairos::engine {

struct submit_options {
  // `-p name=value` and --parameter-file entries; they override
  // spec.arguments.parameters of the same name.
  std::vector<std::pair<std::string, std::string>> parameters;
  // Labels added to the workflow's metadata (e.g. the submitting sensor).
  std::vector<std::pair<std::string, std::string>> labels;
  // The resource's `spec` is the spec module's reading of its very manifest
  // (spec::load_file or spec::load_json), so the engine may use it instead
  // of reading the manifest again. Leave false for a resource built by hand
  // (the cron controller's stamped runs fill in only the manifest).
  bool spec_read_from_manifest = false;
};

enum class workflow_action { retry, resubmit, suspend, resume, stop, terminate };

std::string_view to_string(workflow_action a) noexcept;

// What the API, sensors and cron use to create and steer workflows. The
// engine implements it; another implementation may forward to an Argo
// Workflows server instead.
class workflow_service {
 public:
  virtual ~workflow_service() = default;

  // Accepts a validated Workflow (or a Workflow that references a
  // WorkflowTemplate), assigns its name (metadata.generateName), uid and
  // creationTimestamp, and stores it. A Workflow whose name is taken fails
  // with already_exists, which makes deterministic names idempotent.
  virtual result<store::workflow_record> submit(const spec::resource& workflow,
                                                const submit_options& options) = 0;
  virtual result<store::workflow_record> act(const std::string& ns, const std::string& name,
                                             workflow_action action) = 0;
  // The combined log of the workflow's nodes (or of one node, when `node`
  // is set), oldest line first.
  virtual result<std::string> logs(const std::string& ns, const std::string& name,
                                   const std::string& node) = 0;
};

}  // namespace kairos::engine
