#include "config.hpp"

#include <fmt/format.h>

namespace kairos::sensors::workflow_trigger {

result<config> read_config(const spec::trigger& t) {
  config c;
  const auto& tt = t.template_;
  if (tt.argo_workflow) {
    c.resource = tt.argo_workflow->source.resource;
    c.parameters = tt.argo_workflow->parameters;
    switch (tt.argo_workflow->operation) {
      case spec::argo_workflow_operation::submit:
        break;
      case spec::argo_workflow_operation::resubmit:
        c.action = engine::workflow_action::resubmit;
        break;
      case spec::argo_workflow_operation::retry:
        c.action = engine::workflow_action::retry;
        break;
      case spec::argo_workflow_operation::resume:
        c.action = engine::workflow_action::resume;
        break;
      case spec::argo_workflow_operation::suspend:
        c.action = engine::workflow_action::suspend;
        break;
      case spec::argo_workflow_operation::terminate:
        c.action = engine::workflow_action::terminate;
        break;
      case spec::argo_workflow_operation::stop:
        c.action = engine::workflow_action::stop;
        break;
    }
  } else if (tt.k8s) {
    c.resource = tt.k8s->source.resource;
    c.parameters = tt.k8s->parameters;
  } else {
    return make_error(errc::internal, "not a workflow trigger");
  }
  if (!c.resource.is_object())
    return make_error(errc::invalid_argument,
                      fmt::format("trigger \"{}\": source.resource must be a mapping", tt.name));
  const auto kind = c.resource.value("kind", std::string());
  if (kind != "Workflow")
    return make_error(errc::invalid_argument,
                      fmt::format("trigger \"{}\": source.resource is a \"{}\"; kairos triggers "
                                  "create Workflows (use spec.workflowTemplateRef for templates)",
                                  tt.name, kind));
  return c;
}

}  // namespace kairos::sensors::workflow_trigger
