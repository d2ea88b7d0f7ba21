#include "workflow_trigger.hpp"

#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config.hpp"
#include "kairos/sensors/parameters.hpp"
#include "kairos/spec/loader.hpp"

namespace kairos::sensors::workflow_trigger {
namespace {

std::string_view action_name(engine::workflow_action a) {
  switch (a) {
    case engine::workflow_action::retry:
      return "retry";
    case engine::workflow_action::resubmit:
      return "resubmit";
    case engine::workflow_action::suspend:
      return "suspend";
    case engine::workflow_action::resume:
      return "resume";
    case engine::workflow_action::stop:
      return "stop";
    case engine::workflow_action::terminate:
      return "terminate";
  }
  return "act on";
}

class action final : public trigger_action {
 public:
  explicit action(engine::workflow_service& workflows) : workflows_(workflows) {}

  result<void> execute(const spec::trigger& t, const firing& f) override {
    // Read per firing: trigger-level parameters may have rewritten the spec.
    auto c = read_config(t);
    if (!c) return std::move(c).error();
    config_ = std::move(*c);
    nlohmann::json doc = config_.resource;
    if (auto r = apply_parameters(doc, config_.parameters, f.events); !r) return r;
    if (!doc.is_object() || !doc["metadata"].is_object())
      doc["metadata"] = nlohmann::json::object();
    auto& meta = doc["metadata"];
    const auto ns_it = meta.find("namespace");
    const std::string ns =
        ns_it != meta.end() && ns_it->is_string() && !ns_it->get<std::string>().empty()
            ? ns_it->get<std::string>()
            : f.sensor_namespace;
    meta["namespace"] = ns;
    std::string name = meta.value("name", std::string());
    if (!config_.action) {
      // A name derived from the events makes a replay's submission collide
      // with the first one instead of running the workflow twice.
      if (name.empty()) {
        name = workflow_name_for(f.sensor_name, f.trigger_name, f.key);
        meta["name"] = name;
        meta.erase("generateName");
      }
      return submit(doc, f, ns, name);
    }
    if (name.empty())
      return make_error(errc::invalid_argument,
                        fmt::format("trigger \"{}\": operation {} needs the workflow's "
                                    "metadata.name (set it or pass it as a parameter)",
                                    t.template_.name, action_name(*config_.action)));
    auto r = workflows_.act(ns, name, *config_.action);
    if (!r) return std::move(r).error();
    spdlog::info("sensor {}/{} trigger {}: {} workflow {}/{}", f.sensor_namespace, f.sensor_name,
                 f.trigger_name, action_name(*config_.action), ns, name);
    return {};
  }

 private:
  result<void> submit(const nlohmann::json& doc, const firing& f, const std::string& ns,
                      const std::string& name) {
    const auto source =
        fmt::format("sensor {}/{} trigger {}", f.sensor_namespace, f.sensor_name, f.trigger_name);
    auto loaded = spec::load_json(doc, source);
    if (!loaded.ok() || loaded.resources.size() != 1)
      return make_error(errc::invalid_argument,
                        fmt::format("{}: the workflow is not valid: {}", source,
                                    spec::to_string(loaded.diagnostics)));
    engine::submit_options options;
    options.labels = {{"events.argoproj.io/sensor", f.sensor_name},
                      {"events.argoproj.io/trigger", f.trigger_name}};
    options.spec_read_from_manifest = true;  // load_json just read both
    auto r = workflows_.submit(loaded.resources.front(), options);
    if (!r) {
      if (r.error().code == errc::already_exists) {
        spdlog::info("{}: workflow {}/{} already submitted", source, ns, name);
        return {};
      }
      return std::move(r).error();
    }
    spdlog::info("{}: submitted workflow {}/{}", source, r->namespace_, r->name);
    return {};
  }

  config config_;
  engine::workflow_service& workflows_;
};

}  // namespace

result<std::unique_ptr<trigger_action>> make(const spec::trigger& t,
                                             const trigger_services& services) {
  auto c = read_config(t);
  if (!c) return std::move(c).error();
  if (!services.workflows)
    return make_error(errc::failed_precondition, "workflow triggers need a workflow service");
  return std::unique_ptr<trigger_action>(new action(*services.workflows));
}

}  // namespace kairos::sensors::workflow_trigger
