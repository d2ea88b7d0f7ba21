#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace kairos {

// Installs the process-wide logger. `level` is one of spdlog's level names
// (trace, debug, info, warn, error, critical, off).
void setup_logging(std::string_view level, bool json_format = false);

}  // namespace kairos
