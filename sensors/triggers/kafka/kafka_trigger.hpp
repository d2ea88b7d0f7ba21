#pragma once

#include <chrono>
#include <memory>

#include "kairos/sensors/trigger.hpp"

namespace kairos::sensors::kafka_trigger {

// How long a firing waits for its delivery report; Argo's sarama producer
// times out after 10s.
inline constexpr std::chrono::milliseconds default_delivery_timeout{10000};

result<std::unique_ptr<trigger_action>> make(const spec::trigger& t,
                                             const trigger_services& services);

// As make(), with the delivery timeout chosen (tests).
result<std::unique_ptr<trigger_action>> make_with_timeout(const spec::trigger& t,
                                                          const trigger_services& services,
                                                          std::chrono::milliseconds timeout);

}  // namespace kairos::sensors::kafka_trigger
