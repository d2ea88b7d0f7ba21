#pragma once

#include <optional>
#include <string_view>

namespace kairos::spec {

inline constexpr std::string_view api_version = "argoproj.io/v1alpha1";

enum class kind {
  workflow,
  workflow_template,
  cluster_workflow_template,
  cron_workflow,
  event_source,
  sensor,
};

inline constexpr kind all_kinds[] = {
    kind::workflow,      kind::workflow_template, kind::cluster_workflow_template,
    kind::cron_workflow, kind::event_source,      kind::sensor};

// "Workflow", "WorkflowTemplate", ...
std::string_view kind_name(kind k) noexcept;
// The REST collection: "workflows", "workflow-templates", "cluster-workflow-templates",
// "cron-workflows", "event-sources", "sensors".
std::string_view kind_collection(kind k) noexcept;
std::optional<kind> parse_kind(std::string_view name) noexcept;
std::optional<kind> parse_collection(std::string_view collection) noexcept;
// ClusterWorkflowTemplate is the only cluster-scoped kind.
bool is_namespaced(kind k) noexcept;

}  // namespace kairos::spec
