#pragma once

// Typed spec of an Argo Events Sensor (argoproj.io/v1alpha1, Argo Events
// v1.9), with Argo's field names in snake_case. Only the trigger types kairos
// runs are modelled; the reader rejects the others by name. Defaults Argo
// applies at run time are filled in here.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::spec {

enum class logical_operator { and_, or_ };
enum class json_type { string, number, boolean };
enum class comparator { equal, not_equal, greater, greater_or_equal, less, less_or_equal };

struct data_filter {
  std::string path;  // gjson-style path into the event data
  json_type type = json_type::string;
  std::vector<std::string> value;  // strings are regular expressions
  comparator comparator_ = comparator::equal;
  std::string template_;  // Go template applied to the value before comparing
};

struct payload_field {
  std::string path;
  std::string name;
};

struct expr_filter {
  std::string expr;
  std::vector<payload_field> fields;
};

// Matches against the event's CloudEvents context; empty members match all.
struct event_context_filter {
  std::string id;
  std::string source;
  std::string specversion;
  std::string type;
  std::string datacontenttype;
  std::string subject;
  std::string time;
};

// A daily window; stop before start wraps past midnight.
struct time_filter {
  std::string start;  // HH:MM:SS as written
  std::string stop;
  std::chrono::seconds start_of_day{0};
  std::chrono::seconds stop_of_day{0};
  std::string timezone;  // IANA zone; empty: UTC
};

struct event_dependency_filter {
  std::optional<time_filter> time;
  std::optional<event_context_filter> context;
  std::vector<data_filter> data;
  std::vector<expr_filter> exprs;
  logical_operator data_logical_operator = logical_operator::and_;
  logical_operator expr_logical_operator = logical_operator::and_;
};

struct event_dependency {
  std::string name;
  std::string event_source_name;
  std::string event_name;
  std::optional<event_dependency_filter> filters;
  logical_operator filters_logical_operator = logical_operator::and_;
};

struct trigger_parameter_source {
  std::string dependency_name;
  std::string context_key;
  std::string context_template;
  std::string data_key;
  std::string data_template;
  std::optional<std::string> value;  // used when the key resolves to nothing
  bool use_raw_data = false;
};

enum class trigger_parameter_operation { overwrite, append, prepend };

struct trigger_parameter {
  trigger_parameter_source src;
  std::string dest;  // path in the resource / payload
  trigger_parameter_operation operation = trigger_parameter_operation::overwrite;
};

// A trigger's resource, from `source.resource` or parsed from
// `source.inline`.
struct artifact_location {
  nlohmann::json resource;
};

enum class argo_workflow_operation { submit, resubmit, retry, resume, suspend, terminate, stop };

struct argo_workflow_trigger {
  argo_workflow_operation operation = argo_workflow_operation::submit;
  artifact_location source;  // a Workflow
  std::vector<trigger_parameter> parameters;
};

enum class k8s_operation { create };

// kairos creates Workflows through this trigger; other kinds and operations
// are rejected when the Sensor is loaded.
struct k8s_trigger {
  k8s_operation operation = k8s_operation::create;
  artifact_location source;
  std::vector<trigger_parameter> parameters;
  bool live_object = false;
};

struct basic_auth {
  std::optional<secret_key_selector> username;
  std::optional<secret_key_selector> password;
};

struct secure_header {
  std::string name;
  secret_key_selector secret_key_ref;  // valueFrom.secretKeyRef
};

inline constexpr std::int64_t default_http_trigger_timeout_seconds = 60;

struct http_trigger {
  std::string url;  // absolute http(s) URL
  std::string method = "POST";
  std::vector<trigger_parameter> payload;  // builds the JSON body
  std::vector<trigger_parameter> parameters;
  std::optional<tls_config> tls;
  std::int64_t timeout_seconds = default_http_trigger_timeout_seconds;
  std::optional<basic_auth> basic_auth_;
  std::map<std::string, std::string> headers;
  std::vector<secure_header> secure_headers;
  std::vector<trigger_parameter> dynamic_headers;
  std::string host;  // Host header override
};

struct log_trigger {
  std::uint64_t interval_seconds = 0;  // 0: log every event
};

struct kafka_trigger {
  std::string url;
  std::string topic;
  std::int32_t partition = 0;
  std::vector<trigger_parameter> parameters;
  std::vector<trigger_parameter> payload;
  std::int32_t required_acks = -1;  // Argo's default: all in-sync replicas
  bool compress = false;
  std::int32_t flush_frequency_ms = 500;
  std::optional<tls_config> tls;
  std::optional<sasl_config> sasl;
  std::optional<std::string> partitioning_key;
  std::map<std::string, std::string> headers;
  std::vector<secure_header> secure_headers;
};

struct conditions_reset_by_time {
  std::string cron;
  std::string timezone;
};

struct conditions_reset_criteria {
  std::optional<conditions_reset_by_time> by_time;
};

enum class trigger_type { argo_workflow, k8s, http, log, kafka };

struct trigger_template {
  std::string name;
  // Boolean expression over dependency names with &&, || and parentheses;
  // empty: all dependencies.
  std::string conditions;
  std::vector<conditions_reset_criteria> conditions_reset;
  // Exactly one of these is set (checked by the reader).
  std::optional<argo_workflow_trigger> argo_workflow;
  std::optional<k8s_trigger> k8s;
  std::optional<http_trigger> http;
  std::optional<log_trigger> log;
  std::optional<kafka_trigger> kafka;

  trigger_type type() const noexcept {
    if (argo_workflow) return trigger_type::argo_workflow;
    if (k8s) return trigger_type::k8s;
    if (http) return trigger_type::http;
    if (kafka) return trigger_type::kafka;
    return trigger_type::log;
  }
};

struct status_policy {
  std::vector<std::int32_t> allow;
};

struct trigger_policy {
  std::optional<status_policy> status;
};

enum class rate_limit_unit { second, minute, hour };

struct rate_limit {
  rate_limit_unit unit = rate_limit_unit::second;
  std::int32_t requests_per_unit = 0;
};

struct trigger {
  trigger_template template_;
  std::vector<trigger_parameter> parameters;  // applied to the template itself
  std::optional<trigger_policy> policy;
  std::optional<event_backoff> retry_strategy;
  std::optional<rate_limit> rate_limit_;
  // Argo defaults to at-most-once; kairos defaults to at-least-once because
  // its journal replays after a crash and trigger names make resubmission
  // idempotent.
  bool at_least_once = true;
};

struct sensor_spec {
  std::vector<event_dependency> dependencies;
  std::vector<trigger> triggers;
  bool error_on_failed_round = false;
};

}  // namespace kairos::spec
