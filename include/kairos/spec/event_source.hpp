#pragma once

// Typed spec of an Argo Events EventSource (argoproj.io/v1alpha1, Argo
// Events v1.9), with Argo's field names in snake_case. Only the source types
// kairos runs are modelled; the reader rejects the others by name.
//
// Defaults that Argo applies at run time are filled in here, so consumers
// never have to know them.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/spec/secret.hpp"

namespace kairos::spec {

// `filter.expression`: an expression over the event, evaluated by the source
// before the event is journaled.
struct event_source_filter {
  std::string expression;
};

// Argo's TLSConfig, shared by Kafka sources and HTTP/Kafka triggers.
struct tls_config {
  std::optional<secret_key_selector> ca_cert_secret;
  std::optional<secret_key_selector> client_cert_secret;
  std::optional<secret_key_selector> client_key_secret;
  bool insecure_skip_verify = false;
  bool enabled = false;
};

enum class sasl_mechanism { plain, scram_sha_256, scram_sha_512 };

// Argo's SASLConfig. Argo defaults the mechanism to PLAIN.
struct sasl_config {
  sasl_mechanism mechanism = sasl_mechanism::plain;
  std::optional<secret_key_selector> user_secret;
  std::optional<secret_key_selector> password_secret;
};

// Argo Events' Backoff (not Argo Workflows' retry backoff). Unset members mean "the consumer's
// default": Argo's own defaults differ between connection backoff and trigger retries.
struct event_backoff {
  // Argo accepts an integer (nanoseconds) or a Go duration string.
  std::optional<std::chrono::nanoseconds> duration;
  std::optional<double> factor;
  std::optional<double> jitter;
  std::optional<int> steps;
};

inline constexpr std::int64_t default_max_payload_size = 1048576;  // 1 MiB, as in Argo

// Argo's WebhookContext: one HTTP endpoint of the shared listener.
struct webhook_context {
  std::string endpoint;  // starts with '/'
  std::string method;    // an HTTP method in upper case
  std::string port;      // as written (Argo's type is a string)
  std::uint16_t port_number = 0;
  std::optional<secret_key_selector> auth_secret;  // bearer token the caller must present
  std::optional<secret_key_selector> server_cert_secret;
  std::optional<secret_key_selector> server_key_secret;
  std::int64_t max_payload_size = default_max_payload_size;
  std::map<std::string, std::string> metadata;
};

struct webhook_event_source {
  webhook_context webhook;  // inline in Argo's YAML
  std::optional<event_source_filter> filter;
};

// A repository filter: events from other repositories are dropped.
struct github_repository {
  std::string owner;
  std::vector<std::string> names;
};

enum class github_content_type { json, form };

struct github_event_source {
  webhook_context webhook;
  std::vector<std::string> events;  // GitHub event names; "*" matches all
  std::optional<secret_key_selector> webhook_secret;
  // Filters; the deprecated top-level `owner`/`repository` pair becomes one
  // entry of `repositories`.
  std::vector<github_repository> repositories;
  std::vector<std::string> organizations;
  github_content_type content_type = github_content_type::json;
  std::map<std::string, std::string> metadata;
  std::optional<event_source_filter> filter;
};

enum class kafka_rebalance_strategy { range, sticky, roundrobin };

struct kafka_consumer_group {
  std::string group_name;
  bool oldest = false;
  kafka_rebalance_strategy rebalance_strategy = kafka_rebalance_strategy::range;
};

struct kafka_event_source {
  std::string url;  // comma-separated bootstrap brokers host:port
  std::string topic;
  std::string partition;  // as written; empty with a consumer group
  std::optional<std::int32_t> partition_number;
  std::optional<kafka_consumer_group> consumer_group;
  bool json_body = false;
  std::int64_t limit_events_per_second = 0;  // 0: unlimited
  std::optional<tls_config> tls;
  std::optional<sasl_config> sasl;
  // Extra librdkafka properties. Argo's `config` is a sarama YAML document;
  // kairos reads the same string as a YAML mapping of librdkafka property
  // names to values (e.g. `fetch.max.bytes: 1048576`).
  std::map<std::string, std::string> config;
  std::optional<event_backoff> connection_backoff;
  std::map<std::string, std::string> metadata;
  std::optional<event_source_filter> filter;
};

struct s3_bucket {
  std::string name;
  std::string key;
};

struct s3_filter {
  std::string prefix;
  std::string suffix;
};

inline constexpr std::chrono::nanoseconds default_minio_poll_interval = std::chrono::seconds(10);

// Argo's S3Artifact used as a MinIO/S3 notification source.
struct minio_event_source {
  std::string endpoint;  // host[:port]
  s3_bucket bucket;
  std::string region;
  bool insecure = false;  // plain HTTP
  secret_key_selector access_key;
  secret_key_selector secret_key;
  std::optional<secret_key_selector> ca_certificate;
  std::vector<std::string> events;  // e.g. s3:ObjectCreated:Put, s3:ObjectRemoved:*
  std::optional<s3_filter> filter;
  std::map<std::string, std::string> metadata;
  // kairos-specific (`pollInterval`): how often the bucket is listed.
  std::chrono::nanoseconds poll_interval = default_minio_poll_interval;
};

struct sns_event_source {
  webhook_context webhook;
  std::string topic_arn;
  std::optional<secret_key_selector> access_key;
  std::optional<secret_key_selector> secret_key;
  std::string region;
  bool validate_signature = false;
  std::string endpoint;  // custom SNS endpoint
  std::map<std::string, std::string> metadata;
  std::optional<event_source_filter> filter;
};

struct calendar_catchup {
  bool enabled = false;
  // Catch up at most this far back; unset: everything since the last event.
  std::optional<std::chrono::nanoseconds> max_duration;
};

// `persistence.configMap` is accepted and ignored: kairos persists the last
// calendar event in its store.
struct calendar_persistence {
  std::optional<calendar_catchup> catchup;
};

struct calendar_event_source {
  std::string schedule;  // cron expression; checked by the cron module
  std::optional<std::chrono::nanoseconds> interval;
  // Argo's RFC 5545 form, each entry `EXDATE:YYYYMMDDTHHMMSSZ[,...]`, as
  // written and parsed into UTC instants.
  std::vector<std::string> exclusion_dates;
  std::vector<std::chrono::system_clock::time_point> exclusion_times;
  std::string timezone;  // IANA zone; empty: UTC
  // Pre-1.0 Argo field, still seen in manifests: JSON sent as the event's
  // `userPayload`.
  nlohmann::json user_payload;
  std::map<std::string, std::string> metadata;
  std::optional<calendar_persistence> persistence;
  std::optional<event_source_filter> filter;
};

// Each source type is a map from event name to its configuration. Event
// names are unique across the whole EventSource.
struct event_source_spec {
  std::map<std::string, webhook_event_source> webhook;
  std::map<std::string, github_event_source> github;
  std::map<std::string, kafka_event_source> kafka;
  std::map<std::string, minio_event_source> minio;
  std::map<std::string, sns_event_source> sns;
  std::map<std::string, calendar_event_source> calendar;

  std::size_t event_count() const noexcept {
    return webhook.size() + github.size() + kafka.size() + minio.size() + sns.size() +
           calendar.size();
  }
};

}  // namespace kairos::spec
