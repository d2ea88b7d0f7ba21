#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kairos/core/result.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::spec {

// Argo's `tls` and `sasl` blocks of a Kafka source or trigger as librdkafka
// properties, with the secrets read. Argo turns TLS on whenever the block is
// present, as sarama's Net.TLS.Enable does.
result<std::vector<std::pair<std::string, std::string>>> kafka_security_properties(
    const std::optional<tls_config>& tls, const std::optional<sasl_config>& sasl,
    const secret_resolver* secrets);

}  // namespace kairos::spec
