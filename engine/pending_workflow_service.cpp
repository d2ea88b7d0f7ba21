#include "kairos/engine/pending_workflow_service.hpp"

#include <utility>

#include <nlohmann/json.hpp>

#include "kairos/core/text.hpp"
#include "kairos/spec/kind.hpp"

namespace kairos::engine {

namespace {

// Checks that the template a workflow references exists, so a submission
// that could never run fails now rather than when execution arrives.
result<void> check_template_ref(store::database& db, const nlohmann::json& manifest,
                                const std::string& ns) {
  const auto spec = manifest.find("spec");
  if (spec == manifest.end() || !spec->is_object()) return {};
  const auto ref = spec->find("workflowTemplateRef");
  if (ref == spec->end() || !ref->is_object()) return {};
  const std::string name = ref->value("name", std::string());
  if (name.empty())
    return make_error(errc::invalid_argument, "spec.workflowTemplateRef.name is required");
  const bool cluster = ref->value("clusterScope", false);
  const std::string kind(spec::kind_name(cluster ? spec::kind::cluster_workflow_template
                                                 : spec::kind::workflow_template));
  auto found = db.get_resource(kind, cluster ? std::string() : ns, name);
  if (found) return {};
  if (found.error().code == errc::not_found) {
    return make_error(errc::not_found, kind + " " + (cluster ? name : ns + "/" + name) +
                                           " referenced by spec.workflowTemplateRef not found");
  }
  return std::move(found).error();
}

void apply_parameters(nlohmann::json& manifest, const submit_options& options) {
  if (options.parameters.empty()) return;
  auto& params = manifest["spec"]["arguments"]["parameters"];
  if (!params.is_array()) params = nlohmann::json::array();
  for (const auto& [name, value] : options.parameters) {
    bool replaced = false;
    for (auto& p : params) {
      if (p.is_object() && p.value("name", std::string()) == name) {
        p["value"] = value;
        replaced = true;
      }
    }
    if (!replaced) params.push_back({{"name", name}, {"value", value}});
  }
}

}  // namespace

pending_workflow_service::pending_workflow_service(store::database& db, const kairos::clock& clock)
    : db_(db), clock_(clock) {}

result<store::workflow_record> pending_workflow_service::submit(const spec::resource& workflow,
                                                                const submit_options& options) {
  if (workflow.kind != spec::kind::workflow) {
    return make_error(errc::invalid_argument, "cannot submit a " +
                                                  std::string(spec::kind_name(workflow.kind)) +
                                                  "; only a Workflow can be submitted");
  }
  const std::string ns = workflow.metadata.namespace_.empty() ? std::string(spec::default_namespace)
                                                              : workflow.metadata.namespace_;
  std::string name = workflow.metadata.name;
  if (name.empty()) {
    if (workflow.metadata.generate_name.empty())
      return make_error(errc::invalid_argument,
                        "metadata.name or metadata.generateName is required");
    name = workflow.metadata.generate_name + random_suffix(5);
  }

  nlohmann::json manifest =
      workflow.manifest.is_object() ? workflow.manifest : nlohmann::json::object();
  if (auto ref = check_template_ref(db_, manifest, ns); !ref) return std::move(ref).error();

  const std::string uid = random_uuid();
  const std::string created = format_rfc3339(clock_.now());
  auto& meta = manifest["metadata"];
  meta["name"] = name;
  meta["namespace"] = ns;
  meta["uid"] = uid;
  meta["creationTimestamp"] = created;
  for (const auto& [key, value] : options.labels) meta["labels"][key] = value;
  apply_parameters(manifest, options);
  manifest["status"] = {{"phase", "Pending"},
                        {"message", "workflow execution is not available yet in this build"}};

  store::workflow_record record;
  record.namespace_ = ns;
  record.name = name;
  record.uid = uid;
  record.phase = "Pending";
  record.created_at = created;
  record.body = std::move(manifest);
  return db_.create_workflow(std::move(record));
}

result<store::workflow_record> pending_workflow_service::act(const std::string& ns,
                                                             const std::string& name,
                                                             workflow_action action) {
  auto found = db_.get_workflow(ns, name);
  if (!found) return std::move(found).error();
  return make_error(errc::unavailable, "cannot " + std::string(to_string(action)) + " workflow " +
                                           ns + "/" + name +
                                           ": workflow execution is not available yet");
}

result<std::string> pending_workflow_service::logs(const std::string& ns, const std::string& name,
                                                   const std::string& node) {
  auto found = db_.get_workflow(ns, name);
  if (!found) return std::move(found).error();
  return std::string();
}

}  // namespace kairos::engine
