#pragma once

// Settings of the http trigger, read from its spec per firing.

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kairos/core/result.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors::http_trigger {

struct config {
  std::string url;
  std::string method;
  std::chrono::milliseconds timeout{0};
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<spec::secure_header> secure_headers;
  std::optional<spec::basic_auth> basic_auth;
  std::vector<spec::trigger_parameter> payload;
  std::vector<spec::trigger_parameter> dynamic_headers;
  std::string host;
  bool insecure_skip_verify = false;
  // Statuses that count as success; empty: any 2xx.
  std::vector<std::int32_t> allow;
};

result<config> read_config(const spec::trigger& t);

// Whether `status` is a success under `allow`.
bool status_allowed(const config& c, int status);

}  // namespace kairos::sensors::http_trigger
