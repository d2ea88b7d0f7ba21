#include "kafka/config.hpp"

#include <fmt/format.h>

#include "kairos/spec/kafka_security.hpp"

namespace kairos::eventsources {

result<kafka_source_settings> kafka_settings_from(const spec::kafka_event_source& spec,
                                                  const spec::secret_resolver* secrets) {
  kafka_source_settings s;
  s.brokers = spec.url;
  s.topic = spec.topic;
  if (s.brokers.empty()) return make_error(errc::invalid_argument, "url: no brokers");
  if (s.topic.empty()) return make_error(errc::invalid_argument, "topic is required");
  if (spec.consumer_group) {
    s.group = spec.consumer_group->group_name;
    s.oldest = spec.consumer_group->oldest;
    // sarama's strategies by librdkafka name; sarama's sticky is an eager
    // protocol, librdkafka only has the cooperative variant.
    switch (spec.consumer_group->rebalance_strategy) {
      case spec::kafka_rebalance_strategy::range:
        s.assignment_strategy = "range";
        break;
      case spec::kafka_rebalance_strategy::roundrobin:
        s.assignment_strategy = "roundrobin";
        break;
      case spec::kafka_rebalance_strategy::sticky:
        s.assignment_strategy = "cooperative-sticky";
        break;
    }
  } else if (spec.partition_number) {
    s.partition = *spec.partition_number;
  } else {
    return make_error(errc::invalid_argument, "either consumerGroup or partition is required");
  }
  s.json_body = spec.json_body;
  s.limit_events_per_second = spec.limit_events_per_second;
  auto security = spec::kafka_security_properties(spec.tls, spec.sasl, secrets);
  if (!security) return std::move(security).error();
  s.properties = std::move(*security);
  for (const auto& [k, v] : spec.config) {
    for (auto forced : kafka_forced_properties)
      if (k == forced)
        return make_error(errc::invalid_argument,
                          fmt::format("config: \"{}\" cannot be set: kairos commits an offset only "
                                      "after its event is journaled",
                                      k));
    s.properties.emplace_back(k, v);
  }
  for (const auto& [k, v] : spec.metadata) s.metadata[k] = v;
  if (spec.filter && !spec.filter->expression.empty()) s.filter = spec.filter->expression;
  return s;
}

}  // namespace kairos::eventsources
