#pragma once

// Settings of the kafka trigger, read from its spec per firing (after the
// trigger's parameters are applied).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kairos/core/result.hpp"
#include "kairos/sensors/event.hpp"
#include "kairos/spec/secret.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors::kafka_trigger {

struct config {
  std::string brokers;
  std::string topic;
  std::int32_t partition = 0;
  // Argo sets it as the message key; the key's hash then picks the
  // partition and `partition` is not used.
  std::optional<std::string> key;
  std::vector<std::pair<std::string, std::string>> headers;
  // librdkafka producer properties: acks, compression, tls/sasl.
  std::vector<std::pair<std::string, std::string>> properties;
  std::vector<spec::trigger_parameter> payload;
};

// Applies `kafka.*` dests of the trigger's parameters and the kafka block's
// own parameters (dests relative to it, as Argo applies them), resolves
// secrets, and returns the producer settings.
result<config> read_config(const spec::trigger& t, const event_map& events,
                           const spec::secret_resolver& secrets);

}  // namespace kairos::sensors::kafka_trigger
