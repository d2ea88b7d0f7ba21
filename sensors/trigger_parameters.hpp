#pragma once

#include "kairos/core/result.hpp"
#include "kairos/sensors/event.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors {

// Applies a trigger's own `parameters` (dests such as `http.url` or
// `argoWorkflow.source.resource.metadata.name`) to a copy of the trigger.
// Supported dests: the resource of argoWorkflow/k8s, http url, method and
// headers.
result<spec::trigger> apply_template_parameters(const spec::trigger& t, const event_map& events);

}  // namespace kairos::sensors
