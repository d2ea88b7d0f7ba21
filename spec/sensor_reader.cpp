// Reader of Sensor specs (Argo Events v1.9 field names).
//
// Field decisions:
// - Ignored, Kubernetes deployment only: spec.template, spec.replicas,
//   spec.eventBusName, spec.revisionHistoryLimit, spec.loggingFields; kafka
//   trigger `version` (a sarama protocol version); k8s trigger
//   `patchStrategy` (only patch uses it, and patch is unsupported).
// - Unsupported (an error naming the field): trigger types awsLambda,
//   custom, nats, slack, openWhisk, azureEventHubs, azureServiceBus, pulsar,
//   email; `dlqTrigger`; policy.k8s; dependency `transform`; filters
//   `script`; argoWorkflow `args` (CLI flags; use parameters) and operation
//   submit-from; k8s operations update/patch/delete and any kind but
//   Workflow; resources from file/url/git/configmap/s3 (inline them);
//   secure header values from configMapKeyRef; kafka schemaRegistry.
// - Defaults recorded in the typed spec: atLeastOnce true (kairos's journal
//   replays, and trigger names make resubmission idempotent), HTTP method
//   POST and timeout 60s, kafka requiredAcks -1 and flushFrequency 500ms,
//   parameter operation overwrite, logical operators and.
// - Semantic checks: at least one dependency and one trigger; dependency
//   and trigger names unique; parameter sources and conditions name existing
//   dependencies; conditions well formed; exactly one trigger type per
//   template; HTTP trigger URLs absolute.

#include <algorithm>
#include <cmath>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event_source_common.hpp"
#include "kairos/core/text.hpp"
#include "readers.hpp"

namespace kairos::spec {

// `valueFrom` of a secure header; exists only to be read.
struct sensor_value_from {
  std::optional<secret_key_selector> secret_key_ref;
};

static void read_fields(map_reader& m, data_filter& out);
static void read_fields(map_reader& m, payload_field& out);
static void read_fields(map_reader& m, expr_filter& out);
static void read_fields(map_reader& m, event_context_filter& out);
static void read_fields(map_reader& m, time_filter& out);
static void read_fields(map_reader& m, event_dependency_filter& out);
static void read_fields(map_reader& m, event_dependency& out);
static void read_fields(map_reader& m, trigger_parameter_source& out);
static void read_fields(map_reader& m, trigger_parameter& out);
static void read_fields(map_reader& m, artifact_location& out);
static void read_fields(map_reader& m, argo_workflow_trigger& out);
static void read_fields(map_reader& m, k8s_trigger& out);
static void read_fields(map_reader& m, basic_auth& out);
static void read_fields(map_reader& m, sensor_value_from& out);
static void read_fields(map_reader& m, secure_header& out);
static void read_fields(map_reader& m, http_trigger& out);
static void read_fields(map_reader& m, log_trigger& out);
static void read_fields(map_reader& m, kafka_trigger& out);
static void read_fields(map_reader& m, conditions_reset_by_time& out);
static void read_fields(map_reader& m, conditions_reset_criteria& out);
static void read_fields(map_reader& m, trigger_template& out);
static void read_fields(map_reader& m, status_policy& out);
static void read_fields(map_reader& m, trigger_policy& out);
static void read_fields(map_reader& m, rate_limit& out);
static void read_fields(map_reader& m, trigger& out);

namespace {

// The dependency names of the Sensor being read, so that parameters and
// conditions deep inside triggers can be checked where they are read (and
// reported at their own position). Set by read_fields(sensor_spec) for the
// duration of the triggers' read.
thread_local const std::vector<std::string>* current_dependencies = nullptr;

class dependency_scope {
 public:
  explicit dependency_scope(const std::vector<std::string>& names)
      : previous_(current_dependencies) {
    current_dependencies = &names;
  }
  ~dependency_scope() { current_dependencies = previous_; }
  dependency_scope(const dependency_scope&) = delete;
  dependency_scope& operator=(const dependency_scope&) = delete;

 private:
  const std::vector<std::string>* previous_;
};

// Empty when `name` is a known dependency (or none are known), else the
// message.
std::string check_dependency_reference(std::string_view name) {
  if (current_dependencies == nullptr) return {};
  const auto& names = *current_dependencies;
  if (std::find(names.begin(), names.end(), name) != names.end()) return {};
  std::string message = "unknown dependency '" + std::string(name) + "'";
  std::vector<std::string_view> candidates(names.begin(), names.end());
  if (auto hint = closest_match(name, candidates)) message += " (did you mean '" + *hint + "'?)";
  return message;
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

// Dependency names appear in conditions, so they must be tokens there.
std::string check_dependency_name(std::string_view name) {
  if (name.empty()) return "must not be empty";
  if (!std::all_of(name.begin(), name.end(), is_name_char))
    return "must consist of letters, digits, '-', '_' or '.'";
  return {};
}

// Argo's conditions: dependency names combined with &&, || and
// parentheses. A recursive-descent check that reports the first problem.
class conditions_parser {
 public:
  explicit conditions_parser(std::string_view text) : text_(text) {}

  // Empty when well formed; `names` collects the dependency names used.
  std::string parse(std::vector<std::string>& names) {
    names_ = &names;
    skip_space();
    if (pos_ == text_.size()) return "conditions must not be blank";
    if (!expression()) return error_;
    skip_space();
    if (pos_ != text_.size()) return fail("unexpected '" + std::string(1, text_[pos_]) + "'");
    return {};
  }

 private:
  bool expression() {
    if (!term()) return false;
    while (accept("||")) {
      if (!term()) return false;
    }
    return true;
  }

  bool term() {
    if (!factor()) return false;
    while (accept("&&")) {
      if (!factor()) return false;
    }
    return true;
  }

  bool factor() {
    skip_space();
    if (accept("(")) {
      if (!expression()) return false;
      if (!accept(")")) {
        fail("missing ')'");
        return false;
      }
      return true;
    }
    const std::size_t start = pos_;
    while (pos_ < text_.size() && is_name_char(text_[pos_])) ++pos_;
    if (pos_ == start) {
      fail(pos_ == text_.size()
               ? "expected a dependency name at the end"
               : "expected a dependency name, got '" + std::string(1, text_[pos_]) + "'");
      return false;
    }
    names_->emplace_back(text_.substr(start, pos_ - start));
    return true;
  }

  bool accept(std::string_view token) {
    skip_space();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  void skip_space() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n'))
      ++pos_;
  }

  std::string fail(const std::string& message) {
    if (error_.empty())
      error_ = "invalid conditions: " + message + " at offset " + std::to_string(pos_);
    return error_;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::vector<std::string>* names_ = nullptr;
  std::string error_;
};

// http(s)://host[:port][/...] with no whitespace.
bool is_absolute_http_url(std::string_view url) {
  std::string_view rest;
  if (url.substr(0, 7) == "http://")
    rest = url.substr(7);
  else if (url.substr(0, 8) == "https://")
    rest = url.substr(8);
  else
    return false;
  if (url.find_first_of(" \t\r\n") != std::string_view::npos) return false;
  const std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  std::string_view host =
      authority.substr(authority.find('@') == std::string_view::npos ? 0 : authority.find('@') + 1);
  if (!host.empty() && host.front() == '[') return host.find(']') != std::string_view::npos;
  if (const auto colon = host.rfind(':'); colon != std::string_view::npos) {
    if (!parse_port(host.substr(colon + 1))) return false;
    host = host.substr(0, colon);
  }
  return !host.empty();
}

// Go's strconv.ParseBool spellings, which Argo's bool data filters use.
bool is_go_bool(std::string_view s) {
  for (auto v : {"1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False"})
    if (s == v) return true;
  return false;
}

bool is_number(const std::string& s) {
  if (s.empty()) return false;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size() && std::isfinite(v);
}

// HH:MM:SS to seconds of the day.
std::optional<std::chrono::seconds> parse_time_of_day(std::string_view s) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return std::nullopt;
  int parts[3] = {0, 0, 0};
  for (std::size_t i = 0; i < 3; ++i) {
    const char a = s[i * 3], b = s[i * 3 + 1];
    if (a < '0' || a > '9' || b < '0' || b > '9') return std::nullopt;
    parts[i] = (a - '0') * 10 + (b - '0');
  }
  if (parts[0] > 23 || parts[1] > 59 || parts[2] > 59) return std::nullopt;
  return std::chrono::seconds(parts[0] * 3600 + parts[1] * 60 + parts[2]);
}

constexpr enum_choice<logical_operator> logical_operators[] = {{"and", logical_operator::and_},
                                                               {"or", logical_operator::or_}};

// Reads an Argo LogicalOperator, whose empty value means "and".
void read_logical_operator(map_reader& m, std::string_view key, logical_operator& out) {
  if (const yaml_node& v = m.lookup(key); v && v.is_scalar() && v.scalar().empty()) {
    m.ignored(key);
    return;
  }
  read_enum(m, key, out, logical_operators);
}

// The resource of a trigger must be a Workflow: kairos's engine is what it
// creates or operates on.
void check_workflow_resource(map_reader& m, const artifact_location& source) {
  const yaml_node& src = m.lookup("source");
  if (!src || !src.is_map() || !source.resource.is_object()) return;
  const std::string src_path = child_path(m.path(), "source");
  const auto& r = source.resource;
  const std::string kind =
      r.contains("kind") && r["kind"].is_string() ? r["kind"].get<std::string>() : "";
  if (kind == "Workflow") return;
  const yaml_node& resource = src["resource"];
  const yaml_node& kind_node = resource["kind"];
  if (kind_node) {
    m.context().error(kind_node, child_path(child_path(src_path, "resource"), "kind"),
                      "kairos triggers Workflows only, got kind '" + kind + "'");
  } else {
    const yaml_node& at = resource ? resource : src["inline"];
    m.context().error(at ? at : src, src_path,
                      kind.empty() ? "the resource has no kind; expected kind: Workflow"
                                   : "kairos triggers Workflows only, got kind '" + kind + "'");
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// Dependencies

static void read_fields(map_reader& m, data_filter& out) {
  m.required("path", out.path);
  static constexpr enum_choice<json_type> types[] = {
      {"string", json_type::string}, {"number", json_type::number}, {"bool", json_type::boolean}};
  if (!m.has("type")) m.error_at_map(child_path(m.path(), "type"), "required field is missing");
  const bool type_ok = read_enum(m, "type", out.type, types) && m.has("type");
  if (m.required("value", out.value)) {
    if (out.value.empty()) m.error("value", "at least one value is required");
    if (type_ok) {
      for (const auto& v : out.value) {
        if (out.type == json_type::number && !is_number(v)) {
          m.error("value", "'" + v + "' is not a number");
          break;
        }
        if (out.type == json_type::boolean && !is_go_bool(v)) {
          m.error("value", "'" + v + "' is not a boolean");
          break;
        }
      }
    }
  }
  static constexpr enum_choice<comparator> comparators[] = {{">=", comparator::greater_or_equal},
                                                            {">", comparator::greater},
                                                            {"=", comparator::equal},
                                                            {"!=", comparator::not_equal},
                                                            {"<", comparator::less},
                                                            {"<=", comparator::less_or_equal}};
  read_enum(m, "comparator", out.comparator_, comparators);
  m.optional("template", out.template_);
}

static void read_fields(map_reader& m, payload_field& out) {
  m.required("path", out.path);
  m.required("name", out.name);
}

static void read_fields(map_reader& m, expr_filter& out) {
  m.required("expr", out.expr);
  m.optional("fields", out.fields);
}

static void read_fields(map_reader& m, event_context_filter& out) {
  m.optional("id", out.id);
  m.optional("source", out.source);
  m.optional("specversion", out.specversion);
  m.optional("type", out.type);
  m.optional("datacontenttype", out.datacontenttype);
  m.optional("subject", out.subject);
  if (m.optional("time", out.time) && !out.time.empty() && !parse_rfc3339(out.time))
    m.error("time", "expected an RFC 3339 time, got '" + out.time + "'");
}

static void read_fields(map_reader& m, time_filter& out) {
  if (m.required("start", out.start)) {
    if (auto t = parse_time_of_day(out.start))
      out.start_of_day = *t;
    else
      m.error("start", "expected HH:MM:SS, got '" + out.start + "'");
  }
  if (m.required("stop", out.stop)) {
    if (auto t = parse_time_of_day(out.stop))
      out.stop_of_day = *t;
    else
      m.error("stop", "expected HH:MM:SS, got '" + out.stop + "'");
  }
  read_timezone(m, "timezone", out.timezone);
}

static void read_fields(map_reader& m, event_dependency_filter& out) {
  m.optional("time", out.time);
  m.optional("context", out.context);
  m.optional("data", out.data);
  m.optional("exprs", out.exprs);
  read_logical_operator(m, "dataLogicalOperator", out.data_logical_operator);
  read_logical_operator(m, "exprLogicalOperator", out.expr_logical_operator);
  m.unsupported("script", "kairos has no Lua runtime; use exprs");
}

static void read_fields(map_reader& m, event_dependency& out) {
  if (m.required("name", out.name)) {
    if (auto why = check_dependency_name(out.name); !why.empty())
      m.error("name", "invalid dependency name '" + out.name + "': " + why);
  }
  m.required("eventSourceName", out.event_source_name);
  m.required("eventName", out.event_name);
  m.optional("filters", out.filters);
  read_logical_operator(m, "filtersLogicalOperator", out.filters_logical_operator);
  m.unsupported("transform", "kairos has no jq or Lua runtime");
}

// ---------------------------------------------------------------------------
// Parameters and sources

static void read_fields(map_reader& m, trigger_parameter_source& out) {
  if (m.required("dependencyName", out.dependency_name)) {
    if (auto why = check_dependency_reference(out.dependency_name); !why.empty())
      m.error("dependencyName", why);
  }
  m.optional("contextKey", out.context_key);
  m.optional("contextTemplate", out.context_template);
  m.optional("dataKey", out.data_key);
  m.optional("dataTemplate", out.data_template);
  m.optional("value", out.value);
  m.optional("useRawData", out.use_raw_data);
}

static void read_fields(map_reader& m, trigger_parameter& out) {
  m.required("src", out.src);
  m.required("dest", out.dest);
  static constexpr enum_choice<trigger_parameter_operation> operations[] = {
      {"overwrite", trigger_parameter_operation::overwrite},
      {"append", trigger_parameter_operation::append},
      {"prepend", trigger_parameter_operation::prepend}};
  if (const yaml_node& v = m.lookup("operation"); v && v.is_scalar() && v.scalar().empty())
    m.ignored("operation");  // Argo's "none" is an overwrite
  else
    read_enum(m, "operation", out.operation, operations);
}

static void read_fields(map_reader& m, artifact_location& out) {
  m.optional("resource", out.resource);
  if (m.has("resource") && !out.resource.is_object())
    m.error("resource", "expected the resource as a mapping");
  std::string inline_text;
  const bool has_inline = m.has("inline");
  if (m.optional("inline", inline_text) && has_inline) {
    if (m.has("resource")) {
      m.error("inline", "set either resource or inline, not both");
    } else {
      const auto parsed = load_embedded_yaml(inline_text);
      if (!parsed.error.empty()) {
        m.error("inline", "invalid YAML in inline resource: " + parsed.error);
      } else {
        out.resource = parsed.root ? yaml_to_json(*parsed.root) : nlohmann::json();
        if (!out.resource.is_object()) m.error("inline", "expected a YAML or JSON mapping");
      }
    }
  }
  for (auto key : {"file", "url", "git", "configmap", "s3"})
    m.unsupported(key, "put the resource in source.resource");
  if (m.valid() && !m.has("resource") && !has_inline)
    m.error_at_map(child_path(m.path(), "resource"), "required field is missing");
}

// ---------------------------------------------------------------------------
// Trigger types

static void read_fields(map_reader& m, argo_workflow_trigger& out) {
  static constexpr enum_choice<argo_workflow_operation> operations[] = {
      {"submit", argo_workflow_operation::submit},
      {"resubmit", argo_workflow_operation::resubmit},
      {"retry", argo_workflow_operation::retry},
      {"resume", argo_workflow_operation::resume},
      {"suspend", argo_workflow_operation::suspend},
      {"terminate", argo_workflow_operation::terminate},
      {"stop", argo_workflow_operation::stop}};
  read_enum(m, "operation", out.operation, operations, {"submit-from"});
  if (m.required("source", out.source)) check_workflow_resource(m, out.source);
  m.optional("parameters", out.parameters);
  m.unsupported("args", "kairos does not run the argo CLI; use parameters");
}

static void read_fields(map_reader& m, k8s_trigger& out) {
  static constexpr enum_choice<k8s_operation> operations[] = {{"create", k8s_operation::create}};
  read_enum(m, "operation", out.operation, operations, {"update", "patch", "delete"});
  if (m.required("source", out.source)) check_workflow_resource(m, out.source);
  m.optional("parameters", out.parameters);
  m.optional("liveObject", out.live_object);
  m.ignored("patchStrategy");
}

static void read_fields(map_reader& m, basic_auth& out) {
  m.optional("username", out.username);
  m.optional("password", out.password);
}

static void read_fields(map_reader& m, sensor_value_from& out) {
  m.required("secretKeyRef", out.secret_key_ref);
  m.unsupported("configMapKeyRef", "kairos resolves secure headers from secrets only");
}

static void read_fields(map_reader& m, secure_header& out) {
  m.required("name", out.name);
  sensor_value_from from;
  if (m.required("valueFrom", from) && from.secret_key_ref)
    out.secret_key_ref = *from.secret_key_ref;
}

static void read_fields(map_reader& m, http_trigger& out) {
  if (m.required("url", out.url) && !is_absolute_http_url(out.url))
    m.error("url", "not an absolute URL");
  static constexpr enum_choice<std::string_view> methods[] = {
      {"POST", "POST"}, {"GET", "GET"}, {"PUT", "PUT"}, {"PATCH", "PATCH"}, {"DELETE", "DELETE"}};
  std::string_view method = out.method;
  if (read_enum(m, "method", method, methods)) out.method = std::string(method);
  m.optional("payload", out.payload);
  m.optional("parameters", out.parameters);
  m.optional("tls", out.tls);
  std::int64_t timeout = 0;
  if (m.optional("timeout", timeout)) {
    if (timeout < 0)
      m.error("timeout", "must not be negative");
    else if (timeout > 0)
      out.timeout_seconds = timeout;
  }
  m.optional("basicAuth", out.basic_auth_);
  m.optional("headers", out.headers);
  m.optional("secureHeaders", out.secure_headers);
  m.optional("dynamicHeaders", out.dynamic_headers);
  m.optional("host", out.host);
}

static void read_fields(map_reader& m, log_trigger& out) {
  std::int64_t interval = 0;
  if (m.optional("intervalSeconds", interval)) {
    if (interval < 0)
      m.error("intervalSeconds", "must not be negative");
    else
      out.interval_seconds = static_cast<std::uint64_t>(interval);
  }
}

static void read_fields(map_reader& m, kafka_trigger& out) {
  if (m.required("url", out.url)) {
    if (auto why = check_broker_list(out.url); !why.empty()) m.error("url", why);
  }
  m.required("topic", out.topic);
  if (m.optional("partition", out.partition) && out.partition < 0)
    m.error("partition", "must not be negative");
  m.optional("parameters", out.parameters);
  if (m.required("payload", out.payload) && out.payload.empty())
    m.error("payload", "at least one payload parameter is required");
  if (m.optional("requiredAcks", out.required_acks)) {
    if (out.required_acks == 0) {
      // Argo treats 0 as unset, i.e. wait for all replicas.
      out.required_acks = -1;
    } else if (out.required_acks < -1) {
      m.error("requiredAcks", "expected -1 (all replicas), 0 or a positive count");
    }
  }
  m.optional("compress", out.compress);
  if (m.optional("flushFrequency", out.flush_frequency_ms)) {
    if (out.flush_frequency_ms < 0)
      m.error("flushFrequency", "must not be negative");
    else if (out.flush_frequency_ms == 0)
      out.flush_frequency_ms = 500;
  }
  m.optional("tls", out.tls);
  m.optional("sasl", out.sasl);
  m.optional("partitioningKey", out.partitioning_key);
  m.optional("headers", out.headers);
  m.optional("secureHeaders", out.secure_headers);
  m.ignored("version");
  m.unsupported("schemaRegistry");
}

static void read_fields(map_reader& m, conditions_reset_by_time& out) {
  m.required("cron", out.cron);
  read_timezone(m, "timezone", out.timezone);
}

static void read_fields(map_reader& m, conditions_reset_criteria& out) {
  m.optional("byTime", out.by_time);
}

static void read_fields(map_reader& m, trigger_template& out) {
  m.required("name", out.name);
  if (m.optional("conditions", out.conditions) && m.has("conditions")) {
    std::vector<std::string> used;
    if (auto why = conditions_parser(out.conditions).parse(used); !why.empty()) {
      m.error("conditions", why);
    } else {
      for (const auto& name : used) {
        if (auto unknown = check_dependency_reference(name); !unknown.empty()) {
          m.error("conditions", unknown);
          break;
        }
      }
    }
  }
  m.optional("conditionsReset", out.conditions_reset);

  m.optional("argoWorkflow", out.argo_workflow);
  m.optional("k8s", out.k8s);
  m.optional("http", out.http);
  m.optional("log", out.log);
  m.optional("kafka", out.kafka);
  constexpr std::string_view supported =
      "kairos runs argoWorkflow, k8s, http, log and kafka triggers";
  for (auto type : {"awsLambda", "custom", "nats", "slack", "openWhisk", "azureEventHubs",
                    "azureServiceBus", "pulsar", "email"})
    m.unsupported(type, supported);

  if (!m.valid()) return;
  // In document order, so the second type written is the one reported.
  static constexpr std::string_view types[] = {
      "argoWorkflow", "k8s",  "http",  "log",       "kafka",          "awsLambda",
      "custom",       "nats", "slack", "openWhisk", "azureEventHubs", "azureServiceBus",
      "pulsar",       "email"};
  std::vector<std::string> present;
  if (m.node().is_map()) {
    for (const auto& e : m.node().entries()) {
      if (!e.key->is_scalar()) continue;
      if (std::find(std::begin(types), std::end(types), e.key->scalar()) != std::end(types))
        present.push_back(e.key->scalar());
    }
  }
  if (present.empty()) {
    m.error_at_map(m.path(), "a trigger type is required (argoWorkflow, k8s, http, log or kafka)");
  } else if (present.size() > 1) {
    m.error(present[1],
            "a template has exactly one trigger type; '" + present[0] + "' is already set");
  }
}

// ---------------------------------------------------------------------------
// Trigger

static void read_fields(map_reader& m, status_policy& out) {
  if (m.required("allow", out.allow)) {
    for (auto code : out.allow) {
      if (code < 100 || code > 599) {
        m.error("allow", "'" + std::to_string(code) + "' is not an HTTP status code");
        break;
      }
    }
  }
}

static void read_fields(map_reader& m, trigger_policy& out) {
  m.optional("status", out.status);
  m.unsupported("k8s", "kairos does not watch Kubernetes resources; use status");
}

static void read_fields(map_reader& m, rate_limit& out) {
  static constexpr enum_choice<rate_limit_unit> units[] = {{"Second", rate_limit_unit::second},
                                                           {"Minute", rate_limit_unit::minute},
                                                           {"Hour", rate_limit_unit::hour}};
  read_enum(m, "unit", out.unit, units);
  if (m.required("requestsPerUnit", out.requests_per_unit) && out.requests_per_unit <= 0)
    m.error("requestsPerUnit", "must be positive");
}

static void read_fields(map_reader& m, trigger& out) {
  m.required("template", out.template_);
  m.optional("parameters", out.parameters);
  m.optional("policy", out.policy);
  m.optional("retryStrategy", out.retry_strategy);
  m.optional("rateLimit", out.rate_limit_);
  m.optional("atLeastOnce", out.at_least_once);
  m.unsupported("dlqTrigger");
}

// ---------------------------------------------------------------------------
// The spec

namespace {

// Reports the second and later uses of a name at `list[i].<key...>`.
void check_unique(map_reader& m, std::string_view list_key, std::span<const std::string> names,
                  std::initializer_list<const char*> key_path, std::string_view what) {
  const yaml_node& list = m.lookup(list_key);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (names[i].empty()) continue;
    const auto first =
        std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]);
    if (first == names.begin() + static_cast<std::ptrdiff_t>(i)) continue;
    std::string path = index_path(child_path(m.path(), list_key), i);
    const yaml_node* at = &list[i];
    for (auto key : key_path) {
      path = child_path(path, key);
      if (!at->is_map()) break;
      at = &(*at)[key];
    }
    m.context().error(*at ? at->mark() : list.mark(), path,
                      "duplicate " + std::string(what) + " '" + names[i] + "' (also at index " +
                          std::to_string(first - names.begin()) + ")");
  }
}

}  // namespace

void read_fields(map_reader& m, sensor_spec& out) {
  if (m.required("dependencies", out.dependencies) && out.dependencies.empty())
    m.error("dependencies", "at least one dependency is required");
  std::vector<std::string> dependency_names;
  for (const auto& d : out.dependencies) dependency_names.push_back(d.name);
  check_unique(m, "dependencies", dependency_names, {"name"}, "dependency name");

  {
    // Drop blanks so they do not count as known names.
    std::vector<std::string> known;
    for (const auto& n : dependency_names)
      if (!n.empty()) known.push_back(n);
    dependency_scope scope(known);
    if (m.required("triggers", out.triggers) && out.triggers.empty())
      m.error("triggers", "at least one trigger is required");
  }
  std::vector<std::string> trigger_names;
  for (const auto& t : out.triggers) trigger_names.push_back(t.template_.name);
  check_unique(m, "triggers", trigger_names, {"template", "name"}, "trigger name");

  m.optional("errorOnFailedRound", out.error_on_failed_round);
  m.ignored({"template", "replicas", "eventBusName", "revisionHistoryLimit", "loggingFields"});
}

}  // namespace kairos::spec
