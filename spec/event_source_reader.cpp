// Reader of EventSource specs (Argo Events v1.9 field names).
//
// Field decisions:
// - Read: the source types kairos runs (webhook, github, kafka, minio, sns,
//   calendar) with every field Argo gives them, except as listed here.
// - Ignored, Kubernetes deployment only: spec.template, spec.service,
//   spec.replicas, spec.eventBusName; webhook `url` (the externally visible
//   URL Argo registers with third parties); kafka `version` (a sarama
//   protocol version; librdkafka negotiates); calendar
//   `persistence.configMap` (kairos persists in its store); github `id`,
//   `deleteHookOnFinish`, `insecure`, `active`, `githubBaseURL`,
//   `githubUploadURL` (all only configure hook registration, which kairos
//   does not do).
// - Unsupported (an error naming the field): every other source type;
//   github `apiToken` and `githubApp`; kafka `schemaRegistry` and
//   `awsMskIamAuth`; sns `roleARN`.
// - kairos-specific: minio `pollInterval` (Go duration, default 10s), how
//   often the bucket is listed. Calendar `userPayload` is a pre-1.0 Argo
//   field, accepted because old manifests carry it.
// - Kafka `config` is a sarama YAML document in Argo; kairos reads it as a
//   YAML mapping of librdkafka property names to values.

#include <algorithm>
#include <charconv>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <date/tz.h>

#include "event_source_common.hpp"
#include "kairos/core/duration.hpp"
#include "kairos/core/text.hpp"
#include "readers.hpp"

namespace kairos::spec {

static void read_fields(map_reader& m, event_source_filter& out);
static void read_fields(map_reader& m, webhook_context& out);
static void read_fields(map_reader& m, webhook_event_source& out);
static void read_fields(map_reader& m, github_repository& out);
static void read_fields(map_reader& m, github_event_source& out);
static void read_fields(map_reader& m, kafka_consumer_group& out);
static void read_fields(map_reader& m, kafka_event_source& out);
static void read_fields(map_reader& m, s3_bucket& out);
static void read_fields(map_reader& m, s3_filter& out);
static void read_fields(map_reader& m, minio_event_source& out);
static void read_fields(map_reader& m, sns_event_source& out);
static void read_fields(map_reader& m, calendar_catchup& out);
static void read_fields(map_reader& m, calendar_persistence& out);
static void read_fields(map_reader& m, calendar_event_source& out);

// ---------------------------------------------------------------------------
// Shared helpers (declared in event_source_common.hpp)

std::string not_one_of(std::string_view value, std::span<const std::string_view> names) {
  std::string choices;
  for (auto n : names) {
    if (!choices.empty()) choices += ", ";
    choices += n;
  }
  std::string message = "'" + std::string(value) + "' is not one of " + choices;
  if (auto hint = closest_match(value, names)) message += " (did you mean " + *hint + "?)";
  return message;
}

std::optional<std::chrono::nanoseconds> read_go_duration(map_reader& m, std::string_view key,
                                                         bool must_be_positive) {
  std::string text;
  const bool present = m.has(key);
  if (!m.optional(key, text) || !present) return std::nullopt;
  auto parsed = parse_go_duration(text);
  if (!parsed) {
    m.error(key, "invalid duration '" + text + "': " + parsed.error().message);
    return std::nullopt;
  }
  if (must_be_positive && parsed->count() <= 0) {
    m.error(key, "duration must be positive, got '" + text + "'");
    return std::nullopt;
  }
  return *parsed;
}

std::string check_timezone(std::string_view zone) {
  if (zone.empty()) return "must not be empty";
  try {
    (void)date::locate_zone(zone);
    return {};
  } catch (const std::exception&) {
    return "unknown time zone '" + std::string(zone) +
           "' (expected an IANA name such as Europe/Paris)";
  }
}

void read_timezone(map_reader& m, std::string_view key, std::string& out) {
  const bool present = m.has(key);
  if (!m.optional(key, out) || !present) return;
  if (auto why = check_timezone(out); !why.empty()) m.error(key, why);
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::string check_broker_list(std::string_view text) {
  if (text.empty()) return "must not be empty";
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    std::string_view broker = text.substr(start, comma - start);
    const std::size_t colon = broker.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || !parse_port(broker.substr(colon + 1)) ||
        broker.find_first_of(" \t/") != std::string_view::npos) {
      return "'" + std::string(broker) + "' is not a broker address (expected host:port)";
    }
    start = comma + 1;
  }
  return {};
}

void read_fields(map_reader& m, tls_config& out) {
  m.optional("caCertSecret", out.ca_cert_secret);
  m.optional("clientCertSecret", out.client_cert_secret);
  m.optional("clientKeySecret", out.client_key_secret);
  m.optional("insecureSkipVerify", out.insecure_skip_verify);
  m.optional("enabled", out.enabled);
  if (out.client_cert_secret && !out.client_key_secret)
    m.error_at_map(child_path(m.path(), "clientKeySecret"), "required with clientCertSecret");
  if (out.client_key_secret && !out.client_cert_secret)
    m.error_at_map(child_path(m.path(), "clientCertSecret"), "required with clientKeySecret");
}

void read_fields(map_reader& m, sasl_config& out) {
  static constexpr enum_choice<sasl_mechanism> mechanisms[] = {
      {"PLAIN", sasl_mechanism::plain},
      {"SCRAM-SHA-256", sasl_mechanism::scram_sha_256},
      {"SCRAM-SHA-512", sasl_mechanism::scram_sha_512},
  };
  read_enum(m, "mechanism", out.mechanism, mechanisms, {"OAUTHBEARER", "GSSAPI"});
  m.required("userSecret", out.user_secret);
  m.required("passwordSecret", out.password_secret);
}

void read_fields(map_reader& m, event_backoff& out) {
  // Argo's Int64OrString: an integer counts nanoseconds, a string is a Go
  // duration.
  if (const yaml_node& d = m.lookup("duration"); d && !d.is_null()) {
    const auto value = yaml_to_json(d);
    if (value.is_number_integer()) {
      if (value.get<std::int64_t>() < 0)
        m.error("duration", "duration must not be negative");
      else
        out.duration = std::chrono::nanoseconds(value.get<std::int64_t>());
      m.ignored("duration");
    } else {
      out.duration = read_go_duration(m, "duration", false);
      if (out.duration && out.duration->count() < 0)
        m.error("duration", "duration must not be negative");
    }
  } else {
    m.ignored("duration");
  }
  // Argo's Amount: a decimal written as a number or a string.
  for (auto [key, target] : {std::pair{"factor", &out.factor}, std::pair{"jitter", &out.jitter}}) {
    double value = 0;
    const bool present = m.has(key);
    if (m.optional(key, value) && present) {
      if (value < 0)
        m.error(key, "must not be negative");
      else
        *target = value;
    }
  }
  int steps = 0;
  const bool has_steps = m.has("steps");
  if (m.optional("steps", steps) && has_steps) {
    if (steps < 0)
      m.error("steps", "must not be negative");
    else
      out.steps = steps;
  }
}

// ---------------------------------------------------------------------------
// Source types

static void read_fields(map_reader& m, event_source_filter& out) {
  m.required("expression", out.expression);
}

// The fields of Argo's WebhookContext, which the webhook source has inline
// and the others under `webhook:`.
static void read_webhook_context(map_reader& m, webhook_context& out) {
  if (m.required("endpoint", out.endpoint) && (out.endpoint.empty() || out.endpoint.front() != '/'))
    m.error("endpoint", "must start with '/', got '" + out.endpoint + "'");
  static constexpr std::string_view methods[] = {"GET",   "HEAD",   "POST",   "PUT",
                                                 "PATCH", "DELETE", "OPTIONS"};
  if (m.required("method", out.method) &&
      std::find(std::begin(methods), std::end(methods), out.method) == std::end(methods)) {
    m.error("method", not_one_of(out.method, methods));
  }
  if (m.required("port", out.port)) {
    if (auto port = parse_port(out.port))
      out.port_number = *port;
    else
      m.error("port", "'" + out.port + "' is not a valid port number (1-65535)");
  }
  m.ignored("url");
  m.optional("authSecret", out.auth_secret);
  m.optional("serverCertSecret", out.server_cert_secret);
  m.optional("serverKeySecret", out.server_key_secret);
  if (out.server_cert_secret && !out.server_key_secret)
    m.error_at_map(child_path(m.path(), "serverKeySecret"), "required with serverCertSecret");
  if (out.server_key_secret && !out.server_cert_secret)
    m.error_at_map(child_path(m.path(), "serverCertSecret"), "required with serverKeySecret");
  if (m.optional("maxPayloadSize", out.max_payload_size) && out.max_payload_size <= 0)
    m.error("maxPayloadSize", "must be a positive number of bytes");
  m.optional("metadata", out.metadata);
}

static void read_fields(map_reader& m, webhook_context& out) {
  read_webhook_context(m, out);
}

static void read_fields(map_reader& m, webhook_event_source& out) {
  read_webhook_context(m, out.webhook);
  m.optional("filter", out.filter);
}

static void read_fields(map_reader& m, github_repository& out) {
  m.required("owner", out.owner);
  if (m.required("names", out.names) && out.names.empty())
    m.error("names", "at least one repository name is required");
}

static void read_fields(map_reader& m, github_event_source& out) {
  m.required("webhook", out.webhook);
  if (m.required("events", out.events) && out.events.empty())
    m.error("events", "at least one event is required (\"*\" for all)");
  m.optional("webhookSecret", out.webhook_secret);
  m.optional("repositories", out.repositories);
  m.optional("organizations", out.organizations);
  // Argo's deprecated single-repository form.
  std::string owner, repository;
  m.optional("owner", owner);
  m.optional("repository", repository);
  if (!owner.empty() && !repository.empty()) {
    out.repositories.push_back({owner, {repository}});
  } else if (!owner.empty() || !repository.empty()) {
    m.error(owner.empty() ? "repository" : "owner", "owner and repository go together");
  }
  static constexpr enum_choice<github_content_type> content_types[] = {
      {"json", github_content_type::json}, {"form", github_content_type::form}};
  read_enum(m, "contentType", out.content_type, content_types);
  constexpr std::string_view no_registration =
      "kairos does not register webhooks with GitHub; configure the hook in GitHub to post to "
      "this endpoint";
  m.unsupported("apiToken", no_registration);
  m.unsupported("githubApp", no_registration);
  m.ignored({"id", "deleteHookOnFinish", "insecure", "active", "githubBaseURL", "githubUploadURL"});
  m.optional("metadata", out.metadata);
  m.optional("filter", out.filter);
}

static void read_fields(map_reader& m, kafka_consumer_group& out) {
  m.required("groupName", out.group_name);
  m.optional("oldest", out.oldest);
  static constexpr enum_choice<kafka_rebalance_strategy> strategies[] = {
      {"range", kafka_rebalance_strategy::range},
      {"sticky", kafka_rebalance_strategy::sticky},
      {"roundrobin", kafka_rebalance_strategy::roundrobin}};
  read_enum(m, "rebalanceStrategy", out.rebalance_strategy, strategies);
}

static void read_kafka_config(map_reader& m, std::map<std::string, std::string>& out) {
  std::string text;
  const bool present = m.has("config");
  if (!m.optional("config", text) || !present || text.empty()) return;
  const auto parsed = load_embedded_yaml(text);
  if (!parsed.error.empty()) {
    m.error("config", "invalid YAML in config: " + parsed.error);
    return;
  }
  if (parsed.root == nullptr || parsed.root->is_null()) return;
  if (!parsed.root->is_map()) {
    m.error("config", "expected a YAML mapping of librdkafka properties (key: value)");
    return;
  }
  for (const auto& e : parsed.root->entries()) {
    if (!e.key->is_scalar() || !e.value->is_scalar()) {
      m.error("config", "expected a YAML mapping of librdkafka properties (key: value)");
      return;
    }
    out.insert_or_assign(e.key->scalar(), e.value->scalar());
  }
}

static void read_fields(map_reader& m, kafka_event_source& out) {
  if (m.required("url", out.url)) {
    if (auto why = check_broker_list(out.url); !why.empty()) m.error("url", why);
  }
  m.required("topic", out.topic);
  if (m.optional("partition", out.partition) && !out.partition.empty()) {
    std::int32_t value = -1;
    auto [end, ec] =
        std::from_chars(out.partition.data(), out.partition.data() + out.partition.size(), value);
    if (ec != std::errc{} || end != out.partition.data() + out.partition.size() || value < 0)
      m.error("partition", "'" + out.partition + "' is not a partition number");
    else
      out.partition_number = value;
  }
  m.optional("consumerGroup", out.consumer_group);
  if (m.valid() && out.partition.empty() && !m.has("consumerGroup"))
    m.error_at_map(m.path(), "either consumerGroup or partition is required");
  m.optional("jsonBody", out.json_body);
  if (m.optional("limitEventsPerSecond", out.limit_events_per_second) &&
      out.limit_events_per_second < 0)
    m.error("limitEventsPerSecond", "must not be negative");
  m.optional("tls", out.tls);
  m.optional("sasl", out.sasl);
  read_kafka_config(m, out.config);
  m.optional("connectionBackoff", out.connection_backoff);
  m.ignored("version");
  m.unsupported("schemaRegistry");
  m.unsupported("awsMskIamAuth");
  m.optional("metadata", out.metadata);
  m.optional("filter", out.filter);
}

static void read_fields(map_reader& m, s3_bucket& out) {
  m.required("name", out.name);
  m.optional("key", out.key);
}

static void read_fields(map_reader& m, s3_filter& out) {
  m.optional("prefix", out.prefix);
  m.optional("suffix", out.suffix);
}

static void read_fields(map_reader& m, minio_event_source& out) {
  m.required("endpoint", out.endpoint);
  m.required("bucket", out.bucket);
  m.optional("region", out.region);
  m.optional("insecure", out.insecure);
  m.required("accessKey", out.access_key);
  m.required("secretKey", out.secret_key);
  m.optional("caCertificate", out.ca_certificate);
  if (m.required("events", out.events)) {
    if (out.events.empty()) m.error("events", "at least one event is required");
    for (const auto& e : out.events) {
      if (e.rfind("s3:", 0) != 0) {
        m.error("events", "'" + e + "' is not an S3 event name (e.g. s3:ObjectCreated:*)");
        break;
      }
    }
  }
  m.optional("filter", out.filter);
  m.optional("metadata", out.metadata);
  if (auto d = read_go_duration(m, "pollInterval", true)) out.poll_interval = *d;
}

static void read_fields(map_reader& m, sns_event_source& out) {
  m.required("webhook", out.webhook);
  m.required("topicArn", out.topic_arn);
  m.optional("accessKey", out.access_key);
  m.optional("secretKey", out.secret_key);
  m.optional("region", out.region);
  m.unsupported("roleARN", "use accessKey and secretKey");
  m.optional("validateSignature", out.validate_signature);
  m.optional("endpoint", out.endpoint);
  m.optional("metadata", out.metadata);
  m.optional("filter", out.filter);
}

static void read_fields(map_reader& m, calendar_catchup& out) {
  m.optional("enabled", out.enabled);
  out.max_duration = read_go_duration(m, "maxDuration", true);
}

static void read_fields(map_reader& m, calendar_persistence& out) {
  m.optional("catchup", out.catchup);
  m.ignored("configMap");
}

// RFC 5545 EXDATE: `EXDATE:20240101T000000Z,20240102T000000Z`.
static bool parse_exclusion_dates(std::string_view text,
                                  std::vector<std::chrono::system_clock::time_point>& out) {
  constexpr std::string_view prefix = "EXDATE:";
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    // YYYYMMDDTHHMMSSZ
    if (item.size() != 16 || item[8] != 'T' || item[15] != 'Z') return false;
    std::string iso = std::string(item.substr(0, 4)) + "-" + std::string(item.substr(4, 2)) + "-" +
                      std::string(item.substr(6, 2)) + "T" + std::string(item.substr(9, 2)) + ":" +
                      std::string(item.substr(11, 2)) + ":" + std::string(item.substr(13, 2)) + "Z";
    auto t = parse_rfc3339(iso);
    if (!t) return false;
    out.push_back(*t);
    start = comma + 1;
  }
  return true;
}

static void read_fields(map_reader& m, calendar_event_source& out) {
  m.optional("schedule", out.schedule);
  out.interval = read_go_duration(m, "interval", true);
  if (m.valid()) {
    if (out.schedule.empty() && !m.has("interval"))
      m.error_at_map(m.path(), "either schedule or interval is required");
    else if (!out.schedule.empty() && m.has("interval"))
      m.error("interval", "set either schedule or interval, not both");
  }
  if (m.optional("exclusionDates", out.exclusion_dates)) {
    const yaml_node& list = m.lookup("exclusionDates");
    for (std::size_t i = 0; i < out.exclusion_dates.size(); ++i) {
      if (!parse_exclusion_dates(out.exclusion_dates[i], out.exclusion_times)) {
        m.context().error(
            list[i], index_path(child_path(m.path(), "exclusionDates"), i),
            "expected EXDATE:YYYYMMDDTHHMMSSZ[,...], got '" + out.exclusion_dates[i] + "'");
      }
    }
  }
  read_timezone(m, "timezone", out.timezone);
  m.optional("userPayload", out.user_payload);
  m.optional("metadata", out.metadata);
  m.optional("persistence", out.persistence);
  m.optional("filter", out.filter);
}

// ---------------------------------------------------------------------------
// The spec

namespace {

// Event names become journal subjects and URL-free identifiers in messages.
std::string check_event_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > 253) return "must be no more than 253 characters";
  const auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  };
  if (!std::all_of(name.begin(), name.end(), ok) || name.front() == '.' || name.front() == '-')
    return "must consist of letters, digits, '-', '_' or '.', starting with a letter or digit";
  return {};
}

struct event_names {
  // name -> path of its first definition
  std::map<std::string, std::string, std::less<>> seen;
};

template <class T>
void read_events(map_reader& m, std::string_view type, std::map<std::string, T>& out,
                 event_names& names) {
  m.optional(type, out);
  const yaml_node& node = m.lookup(type);
  if (!node || !node.is_map()) return;
  const std::string type_path = child_path(m.path(), type);
  for (const auto& e : node.entries()) {
    if (!e.key->is_scalar()) continue;
    const std::string& name = e.key->scalar();
    const std::string path = child_path(type_path, name);
    if (auto why = check_event_name(name); !why.empty()) {
      m.context().error(*e.key, path, "invalid event name '" + name + "': " + why);
      continue;
    }
    auto [pos, inserted] = names.seen.emplace(name, path);
    if (!inserted)
      m.context().error(
          *e.key, path,
          "duplicate event name '" + name + "' (already defined at " + pos->second + ")");
  }
}

// Two events on the same port, endpoint and method would race for requests.
void check_routes(map_reader& m, const event_source_spec& out) {
  std::map<std::tuple<std::uint16_t, std::string, std::string>, std::string> routes;
  auto check = [&](std::string_view type, const std::string& name, const webhook_context& w,
                   bool nested) {
    if (w.port_number == 0) return;
    const std::string path = child_path(child_path(m.path(), type), name);
    auto [pos, inserted] = routes.emplace(std::tuple{w.port_number, w.endpoint, w.method}, path);
    if (inserted) return;
    // Const nodes: a lookup must never insert into the document.
    const yaml_node& type_node = m.lookup(type);
    const yaml_node& event_node = type_node[name];
    const yaml_node& at = nested ? event_node["webhook"] : event_node;
    m.context().error(at ? at.mark() : m.node().mark(), nested ? child_path(path, "webhook") : path,
                      w.method + " " + w.endpoint + " on port " + w.port +
                          " is already served by " + pos->second);
  };
  for (const auto& [name, s] : out.webhook) check("webhook", name, s.webhook, false);
  for (const auto& [name, s] : out.github) check("github", name, s.webhook, true);
  for (const auto& [name, s] : out.sns) check("sns", name, s.webhook, true);
}

}  // namespace

void read_fields(map_reader& m, event_source_spec& out) {
  event_names names;
  const std::size_t errors_before = m.context().error_count();
  read_events(m, "webhook", out.webhook, names);
  read_events(m, "github", out.github, names);
  read_events(m, "kafka", out.kafka, names);
  read_events(m, "minio", out.minio, names);
  read_events(m, "sns", out.sns, names);
  read_events(m, "calendar", out.calendar, names);

  m.ignored({"template", "service", "replicas", "eventBusName"});
  for (auto type : {"amqp",
                    "azureEventsHub",
                    "azureQueueStorage",
                    "azureServiceBus",
                    "bitbucket",
                    "bitbucketserver",
                    "emitter",
                    "file",
                    "generic",
                    "gerrit",
                    "gitlab",
                    "hdfs",
                    "mns",
                    "mqtt",
                    "nats",
                    "nsq",
                    "pubSub",
                    "pulsar",
                    "redis",
                    "redisStream",
                    "resource",
                    "sftp",
                    "slack",
                    "sqs",
                    "storageGrid",
                    "stripe"}) {
    m.unsupported(type,
                  "kairos runs webhook, github, kafka, minio, sns and calendar event sources");
  }

  if (m.context().error_count() == errors_before) check_routes(m, out);
  if (m.valid() && out.event_count() == 0 && m.context().error_count() == errors_before)
    m.error_at_map(m.path(),
                   "no events configured: expected at least one of webhook, github, kafka, "
                   "minio, sns or calendar");
}

}  // namespace kairos::spec
