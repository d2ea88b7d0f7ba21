#pragma once

// Trigger parameters as Argo Events resolves them (sensors/triggers/params.go):
// a source (dependency event, dataKey/contextKey gjson paths, data/context
// templates, a default value, raw data) and an sjson destination with
// overwrite, append or prepend.

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/sensors/event.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors {

// A resolved value: text, and whether it is raw JSON (useRawData on a
// non-string value) to be inserted as JSON rather than as a string.
struct parameter_value {
  std::string text;
  bool raw = false;
};

// Order as in Argo: the template (dataTemplate, else contextTemplate) over
// {"Input": data or context}; then the key (dataKey, else contextKey); with
// neither, the whole event {"context", "data"}; then the default `value`.
// An error when none of them yields a value.
result<parameter_value> resolve_parameter(const spec::trigger_parameter_source& src,
                                          const event_map& events);

// Applies each parameter to `doc` in order.
result<void> apply_parameters(nlohmann::json& doc,
                              const std::vector<spec::trigger_parameter>& params,
                              const event_map& events);

// An http/kafka payload: a fresh object built from the parameters.
result<nlohmann::json> build_payload(const std::vector<spec::trigger_parameter>& params,
                                     const event_map& events);

}  // namespace kairos::sensors
