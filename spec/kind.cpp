#include "kairos/spec/kind.hpp"

namespace kairos::spec {

namespace {
struct kind_names {
  kind k;
  std::string_view name;
  std::string_view collection;
};
constexpr kind_names names[] = {
    {kind::workflow, "Workflow", "workflows"},
    {kind::workflow_template, "WorkflowTemplate", "workflow-templates"},
    {kind::cluster_workflow_template, "ClusterWorkflowTemplate", "cluster-workflow-templates"},
    {kind::cron_workflow, "CronWorkflow", "cron-workflows"},
    {kind::event_source, "EventSource", "event-sources"},
    {kind::sensor, "Sensor", "sensors"},
};
}  // namespace

std::string_view kind_name(kind k) noexcept {
  for (const auto& n : names)
    if (n.k == k) return n.name;
  return "Unknown";
}

std::string_view kind_collection(kind k) noexcept {
  for (const auto& n : names)
    if (n.k == k) return n.collection;
  return "unknown";
}

std::optional<kind> parse_kind(std::string_view name) noexcept {
  for (const auto& n : names)
    if (n.name == name) return n.k;
  return std::nullopt;
}

std::optional<kind> parse_collection(std::string_view collection) noexcept {
  for (const auto& n : names)
    if (n.collection == collection) return n.k;
  return std::nullopt;
}

bool is_namespaced(kind k) noexcept {
  return k != kind::cluster_workflow_template;
}

}  // namespace kairos::spec
