#pragma once

// Settings of one Kafka event, read from its spec. Secrets (TLS material,
// SASL credentials) are resolved here into librdkafka properties so the
// source itself never reads files.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::eventsources {

struct kafka_source_settings {
  std::string brokers;  // bootstrap.servers
  std::string topic;
  // Consumer group mode when set; otherwise one assigned partition.
  std::optional<std::string> group;
  std::int32_t partition = 0;
  bool oldest = false;                        // auto.offset.reset earliest instead of latest
  std::string assignment_strategy = "range";  // partition.assignment.strategy
  bool json_body = false;
  std::int64_t limit_events_per_second = 0;  // 0: unlimited
  // Security properties derived from tls/sasl, then the spec's `config`
  // passthrough, in the order they are applied.
  std::vector<std::pair<std::string, std::string>> properties;
  nlohmann::json metadata = nlohmann::json::object();
  std::optional<std::string> filter;

  // Back-pressure: partitions are paused while this many messages are taken
  // from Kafka but not yet journaled, and resumed below half of it.
  std::size_t max_in_flight = 16384;
  // ... and while the journal is this many events ahead of the slowest
  // sensor, resumed at half of it. The journal is on disk, so this bounds
  // how far ingest runs ahead of processing, not memory.
  std::int64_t max_journal_backlog = 100000;
  // How often the journal backlog is looked at.
  std::chrono::milliseconds backlog_check_interval{50};
  // Polling stops (partitions are not paused: a pause makes librdkafka drop
  // what it prefetched and fetch it again) while the messages in flight and
  // the journal's lead over the slowest sensor add up to this many, and goes
  // on at half of it. Sensors
  // then find the newest events in the store's memory instead of parsing
  // them from SQLite, and Kafka, itself a durable log, keeps the rest. Zero
  // turns it off. While holding, the backlog is looked at this often.
  std::int64_t hold_journal_backlog = 4096;
  std::chrono::milliseconds hold_check_interval{2};
  std::size_t append_threads = 4;
  // Messages journaled in one transaction, at most.
  std::size_t append_batch = 4096;
  // How long one consumer poll blocks; bounds how late stop() is noticed.
  std::chrono::milliseconds poll_timeout{100};
  // Offsets of journaled messages are committed at most this often (and on
  // revoke and stop).
  std::chrono::milliseconds commit_interval{200};
};

// Properties the source forces after the passthrough, because delivery
// guarantees depend on them.
inline constexpr std::string_view kafka_forced_properties[] = {"enable.auto.commit",
                                                               "enable.auto.offset.store"};

result<kafka_source_settings> kafka_settings_from(const spec::kafka_event_source& spec,
                                                  const spec::secret_resolver* secrets);

}  // namespace kairos::eventsources
