#pragma once

// Argo Events' dependency filters (sensors/dependencies/filter.go): data,
// exprs, context and time, combined with filtersLogicalOperator; data and
// exprs filters combine with their own operators.

#include <string>
#include <vector>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/sensors/event.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors {

// Whether an event passes; `reason` says why not (for the debug log).
struct filter_outcome {
  bool pass = true;
  std::string reason;
};

// All filters of a dependency. `clock` is only consulted when the event has
// no parseable context.time.
filter_outcome apply_filters(const spec::event_dependency& dependency, const event& e,
                             const kairos::clock& clock);

// The single filter kinds. An error means the filter could not be applied
// (missing path, bad regex, bad number), which Argo treats as not passing
// unless another filter passes under `or`.
result<bool> filter_data(const std::vector<spec::data_filter>& filters, spec::logical_operator op,
                         const event& e);
result<bool> filter_exprs(const std::vector<spec::expr_filter>& filters, spec::logical_operator op,
                          const event& e);
bool filter_context(const spec::event_context_filter& expected, const event& e);
result<bool> filter_time(const spec::time_filter& window, const event& e,
                         const kairos::clock& clock);

}  // namespace kairos::sensors
