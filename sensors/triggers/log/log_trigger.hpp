#pragma once

#include <memory>

#include "kairos/sensors/trigger.hpp"

namespace kairos::sensors::log_trigger {

result<std::unique_ptr<trigger_action>> make(const spec::trigger& t,
                                             const trigger_services& services);

}  // namespace kairos::sensors::log_trigger
