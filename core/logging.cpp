#include "kairos/core/logging.hpp"

#include <string>

#include <spdlog/sinks/stdout_color_sinks.h>

namespace kairos {

void setup_logging(std::string_view level, bool json_format) {
  auto logger = spdlog::stderr_color_mt("kairos");
  logger->set_level(spdlog::level::from_str(std::string(level)));
  if (json_format) {
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace kairos
