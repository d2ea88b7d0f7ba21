// The explicit table of trigger types: adding a type means adding its folder
// and one row here, nothing registers itself.
#include <string_view>

#include <fmt/format.h>

#include "http/http_trigger.hpp"
#include "kafka/kafka_trigger.hpp"
#include "kairos/sensors/trigger.hpp"
#include "log/log_trigger.hpp"
#include "workflow/workflow_trigger.hpp"

namespace kairos::sensors {
namespace {

using factory = result<std::unique_ptr<trigger_action>> (*)(const spec::trigger&,
                                                            const trigger_services&);

struct entry {
  spec::trigger_type type;
  std::string_view name;
  factory make;
};

constexpr entry table[] = {
    {spec::trigger_type::argo_workflow, "argoWorkflow", &workflow_trigger::make},
    {spec::trigger_type::k8s, "k8s", &workflow_trigger::make},
    {spec::trigger_type::http, "http", &http_trigger::make},
    {spec::trigger_type::log, "log", &log_trigger::make},
    {spec::trigger_type::kafka, "kafka", &kafka_trigger::make},
};

}  // namespace

result<std::unique_ptr<trigger_action>> make_trigger_action(const spec::trigger& trigger,
                                                            const trigger_services& services) {
  const auto type = trigger.template_.type();
  for (const auto& e : table)
    if (e.type == type) return e.make(trigger, services);
  return make_error(errc::invalid_argument,
                    fmt::format("trigger \"{}\": this trigger type is not supported by kairos",
                                trigger.template_.name));
}

}  // namespace kairos::sensors
