#pragma once

#include <chrono>

#include "kairos/core/result.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors::log_trigger {

struct config {
  // Zero logs every firing; otherwise at most one line per interval.
  std::chrono::seconds interval{0};
};

result<config> read_config(const spec::trigger& t);

}  // namespace kairos::sensors::log_trigger
