// Reads the spec shared by Workflow, WorkflowTemplate and
// ClusterWorkflowTemplate (Argo Workflows v3.5/v3.6 field names).
//
// Every field Argo has is read, rejected, or ignored; anything else is an
// unknown field. The decisions, and why:
//
// Ignored: Kubernetes scheduling and pod identity, which have no meaning
// for processes on one machine and change nothing about what a step does:
//   spec: nodeSelector, affinity, tolerations, imagePullSecrets, hostNetwork,
//     dnsPolicy, dnsConfig, schedulerName, podPriorityClassName, podPriority,
//     securityContext, podDisruptionBudget, podGC, podMetadata,
//     automountServiceAccountToken, volumeClaimGC (no claims exist),
//     archiveLogs (logs are always kept), podResources, resourceClaims
//   template: nodeSelector, affinity, tolerations, schedulerName,
//     priorityClassName, priority, automountServiceAccountToken,
//     securityContext, pendingTimeout, podResources, resourceClaims
//   container: resources, imagePullPolicy, ports, securityContext, probes,
//     lifecycle, terminationMessage*, resizePolicy, restartPolicy
//   retryStrategy.affinity (node anti-affinity), volumeMount.mountPropagation,
//   artifact.archiveLogs, artifact.deleted and outputs.result/exitCode (set
//   by a controller, present in exported manifests).
// Unsupported (an error naming the field): everything that would change
// behaviour if kairos dropped it silently:
//   spec: executor, executorPlugins, volumeClaimTemplates,
//     artifactRepositoryRef, artifactGC, templateDefaults, podSpecPatch,
//     hooks, metrics, hostAliases
//   template: resource, plugin, containerSet, data (they cannot run as
//     local processes), daemon, initContainers, sidecars, archiveLocation,
//     executor, hostAliases, podSpecPatch, metrics, memoize, annotations
//   task/step: hooks, inline; container: envFrom, stdin, stdinOnce, tty,
//     volumeDevices, env.valueFrom other than secretKeyRef
//   artifacts stored elsewhere (s3, gcs, git, oss, hdfs, artifactory,
//     azure, plugin), artifact subPath/recurseMode/artifactGC, zip archives
//   parameter valueFrom event/configMapKeyRef/jqFilter, volumes other than
//     emptyDir, http bodyFrom and artifact auth, synchronization database.

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kairos/core/duration.hpp"
#include "kairos/core/text.hpp"
#include "readers.hpp"
#include "workflow_checks.hpp"

namespace kairos::spec {

// Presence-only mappings (`supplied: {}`, `none: {}`).
struct wf_empty_marker {};
struct wf_http_header_source {
  std::optional<secret_key_selector> secret_key_ref;
};

static void read_fields(map_reader& m, wf_empty_marker& out);
static void read_fields(map_reader& m, wf_http_header_source& out);
static void read_fields(map_reader& m, parameter_value_from& out);
static void read_fields(map_reader& m, parameter& out);
static void read_fields(map_reader& m, tar_strategy& out);
static void read_fields(map_reader& m, archive_strategy& out);
static void read_fields(map_reader& m, raw_artifact& out);
static void read_fields(map_reader& m, http_artifact_header& out);
static void read_fields(map_reader& m, http_artifact& out);
static void read_fields(map_reader& m, artifact& out);
static void read_fields(map_reader& m, arguments& out);
static void read_fields(map_reader& m, inputs& out);
static void read_fields(map_reader& m, outputs& out);
static void read_fields(map_reader& m, env_var_source& out);
static void read_fields(map_reader& m, env_var& out);
static void read_fields(map_reader& m, volume_mount& out);
static void read_fields(map_reader& m, container& out);
static void read_fields(map_reader& m, script_template& out);
static void read_fields(map_reader& m, suspend_template& out);
static void read_fields(map_reader& m, http_header& out);
static void read_fields(map_reader& m, http_template& out);
static void read_fields(map_reader& m, template_ref& out);
static void read_fields(map_reader& m, sequence& out);
static void read_fields(map_reader& m, continue_on& out);
static void read_fields(map_reader& m, template_call& out);
static void read_fields(map_reader& m, dag_task& out);
static void read_fields(map_reader& m, dag_template& out);
static void read_fields(map_reader& m, backoff& out);
static void read_fields(map_reader& m, retry_strategy& out);
static void read_fields(map_reader& m, config_map_key_selector& out);
static void read_fields(map_reader& m, mutex& out);
static void read_fields(map_reader& m, semaphore_ref& out);
static void read_fields(map_reader& m, synchronization& out);
static void read_fields(map_reader& m, template_metadata& out);
static void read_fields(map_reader& m, empty_dir_volume& out);
static void read_fields(map_reader& m, volume& out);
static void read_fields(map_reader& m, template_spec& out);
static void read_fields(map_reader& m, workflow_template_ref& out);
static void read_fields(map_reader& m, ttl_strategy& out);
static void read_fields(map_reader& m, label_value_from& out);
static void read_fields(map_reader& m, workflow_metadata& out);

namespace {

// What the nested readers see that only the workflow as a whole can check:
// names of templates and volumes used, with where they were written.
struct name_use {
  std::string name;
  yaml_mark mark;
  std::string path;
  std::vector<std::string> local_names;  // volumes: the template's own
};

struct workflow_scan {
  std::vector<name_use> template_uses;
  std::vector<name_use> volume_uses;
};

// The scan of the workflow spec being read. Readers are synchronous and a
// workflow spec may (in principle) nest inside another document's spec, so
// the scope saves and restores the outer one.
thread_local workflow_scan* current_scan = nullptr;

class scan_scope {
 public:
  scan_scope() : previous_(current_scan) { current_scan = &scan_; }
  ~scan_scope() { current_scan = previous_; }
  scan_scope(const scan_scope&) = delete;
  scan_scope& operator=(const scan_scope&) = delete;
  workflow_scan& scan() { return scan_; }

 private:
  workflow_scan scan_;
  workflow_scan* previous_;
};

constexpr std::string_view template_types =
    "a template needs exactly one of container, script, dag, steps, suspend, http";

bool is_templated(std::string_view s) {
  return s.find("{{") != std::string_view::npos;
}

bool is_integer(std::string_view s) {
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) s.remove_prefix(1);
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void report(reader_context& ctx, const yaml_node& at, const yaml_node& fallback,
            const std::string& path, std::string message) {
  ctx.error(at ? at : fallback, path, std::move(message));
}

std::string with_hint(std::string message, std::string_view word,
                      const std::vector<std::string>& names) {
  std::vector<std::string_view> candidates(names.begin(), names.end());
  if (auto hint = closest_match(word, candidates)) message += " (did you mean '" + *hint + "'?)";
  return message;
}

void check_int_or_template(map_reader& m, std::string_view key,
                           const std::optional<std::string>& value, bool non_negative) {
  if (!value || is_templated(*value)) return;
  if (!is_integer(*value)) {
    m.error(key, "expected an integer (or a {{...}} template), got '" + *value + "'");
  } else if (non_negative && value->front() == '-') {
    m.error(key, "must not be negative");
  }
}

// Argo durations (backoff, suspend) take a bare number of seconds too;
// `timeout` is parsed by Go itself and does not.
void check_duration(map_reader& m, std::string_view key, const std::string& value,
                    bool bare_seconds) {
  if (value.empty() || is_templated(value)) return;
  auto d = bare_seconds ? parse_argo_duration(value) : parse_go_duration(value);
  if (!d) {
    m.error(key, d.error().message + "; expected e.g. 30s, 5m, 1h30m" +
                     (bare_seconds ? " or a number of seconds" : ""));
  } else if (d->count() < 0) {
    m.error(key, "must not be negative");
  }
}

void check_non_negative(map_reader& m, std::string_view key, const std::optional<std::int64_t>& v) {
  if (v && *v < 0) m.error(key, "must not be negative");
}

void check_non_negative(map_reader& m, std::string_view key, const std::optional<int>& v) {
  if (v && *v < 0) m.error(key, "must not be negative");
}

// Task names a `depends` expression refers to, e.g. "(a || b.Failed) && !c"
// gives a, b and c.
std::vector<std::string> depends_task_names(std::string_view expression) {
  static constexpr std::string_view results[] = {"Succeeded",    "Failed",   "Errored",
                                                 "Skipped",      "Omitted",  "Daemoned",
                                                 "AnySucceeded", "AllFailed"};
  std::vector<std::string> out;
  std::size_t i = 0;
  auto is_separator = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == ')' || c == '!' ||
           c == '&' || c == '|';
  };
  while (i < expression.size()) {
    if (is_separator(expression[i])) {
      ++i;
      continue;
    }
    std::size_t end = i;
    while (end < expression.size() && !is_separator(expression[end])) ++end;
    std::string_view word = expression.substr(i, end - i);
    i = end;
    if (auto dot = word.rfind('.'); dot != std::string_view::npos) {
      const auto suffix = word.substr(dot + 1);
      if (std::find(std::begin(results), std::end(results), suffix) != std::end(results))
        word = word.substr(0, dot);
    }
    out.emplace_back(word);
  }
  return out;
}

// --- DAG checks ----------------------------------------------------------------

void check_dag(map_reader& m, const dag_template& dag) {
  reader_context& ctx = m.context();
  const yaml_node& tasks_node = m.lookup("tasks");
  const std::string tasks_path = child_path(m.path(), "tasks");

  std::vector<std::string> names;
  std::map<std::string, std::size_t> index_of;
  for (std::size_t i = 0; i < dag.tasks.size(); ++i) {
    const auto& name = dag.tasks[i].name;
    if (name.empty()) continue;
    if (index_of.count(name)) {
      const yaml_node& task = tasks_node[i];
      report(ctx, task["name"], tasks_node, child_path(index_path(tasks_path, i), "name"),
             "duplicate task name '" + name + "'");
      continue;
    }
    index_of.emplace(name, i);
    names.push_back(name);
  }

  // Edges task -> the tasks it waits for, only between known tasks.
  std::vector<std::vector<std::size_t>> waits_for(dag.tasks.size());
  std::optional<std::size_t> first_dependencies, first_depends;
  for (std::size_t i = 0; i < dag.tasks.size(); ++i) {
    const auto& task = dag.tasks[i];
    const yaml_node& task_node = tasks_node[i];
    const std::string task_path = index_path(tasks_path, i);
    if (!task.dependencies.empty() && !first_dependencies) first_dependencies = i;
    if (!task.depends.empty() && !first_depends) first_depends = i;

    const yaml_node& deps_node = task_node["dependencies"];
    for (std::size_t j = 0; j < task.dependencies.size(); ++j) {
      const auto& dep = task.dependencies[j];
      auto found = index_of.find(dep);
      if (found == index_of.end()) {
        report(ctx, deps_node[j], task_node, index_path(child_path(task_path, "dependencies"), j),
               with_hint("unknown task '" + dep + "'", dep, names));
      } else {
        waits_for[i].push_back(found->second);
      }
    }
    if (!task.depends.empty() && !is_templated(task.depends)) {
      for (const auto& dep : depends_task_names(task.depends)) {
        auto found = index_of.find(dep);
        if (found == index_of.end()) {
          report(ctx, task_node["depends"], task_node, child_path(task_path, "depends"),
                 with_hint("unknown task '" + dep + "'", dep, names));
        } else {
          waits_for[i].push_back(found->second);
        }
      }
    }
  }

  // Argo rejects mixing the two forms anywhere in one DAG.
  if (first_dependencies && first_depends) {
    const std::size_t at = std::max(*first_dependencies, *first_depends);
    const std::string_view key = at == *first_depends ? "depends" : "dependencies";
    const yaml_node& task_node = tasks_node[at];
    report(ctx, task_node[key], task_node, child_path(index_path(tasks_path, at), key),
           "cannot use both 'depends' and 'dependencies' in the same DAG");
  }

  // One cycle is enough to report; the rest usually share its edges.
  enum class mark : char { unvisited, on_path, done };
  std::vector<mark> marks(dag.tasks.size(), mark::unvisited);
  std::vector<std::size_t> path;
  std::optional<std::vector<std::size_t>> cycle;
  auto visit = [&](auto&& self, std::size_t t) -> void {
    marks[t] = mark::on_path;
    path.push_back(t);
    for (std::size_t next : waits_for[t]) {
      if (cycle) break;
      if (marks[next] == mark::on_path) {
        auto start = std::find(path.begin(), path.end(), next);
        cycle = std::vector<std::size_t>(start, path.end());
        cycle->push_back(next);
      } else if (marks[next] == mark::unvisited) {
        self(self, next);
      }
    }
    path.pop_back();
    marks[t] = mark::done;
  };
  for (std::size_t t = 0; t < dag.tasks.size() && !cycle; ++t) {
    if (marks[t] == mark::unvisited) visit(visit, t);
  }
  if (cycle) {
    std::string text;
    for (std::size_t t : *cycle) {
      if (!text.empty()) text += " -> ";
      text += dag.tasks[t].name;
    }
    const std::size_t at = cycle->front();
    const yaml_node& task_node = tasks_node[at];
    const std::string_view key = dag.tasks[at].dependencies.empty() ? "depends" : "dependencies";
    report(ctx, task_node[key], task_node, child_path(index_path(tasks_path, at), key),
           "dependency cycle: " + text);
  }

  if (!dag.target.empty() && !is_templated(dag.target)) {
    std::size_t i = 0;
    const std::string& target = dag.target;
    while (i < target.size()) {
      if (target[i] == ' ') {
        ++i;
        continue;
      }
      const std::size_t end = std::min(target.find(' ', i), target.size());
      const std::string name = target.substr(i, end - i);
      i = end;
      if (!index_of.count(name))
        m.error("target", with_hint("unknown task '" + name + "'", name, names));
    }
  }
}

void check_steps(map_reader& m, const std::vector<std::vector<workflow_step>>& groups) {
  const yaml_node& steps_node = m.lookup("steps");
  const std::string steps_path = child_path(m.path(), "steps");
  std::set<std::string> seen;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    for (std::size_t s = 0; s < groups[g].size(); ++s) {
      const auto& name = groups[g][s].name;
      if (name.empty()) continue;
      if (!seen.insert(name).second) {
        const yaml_node& step = steps_node[g][s];
        report(m.context(), step["name"], steps_node,
               child_path(index_path(index_path(steps_path, g), s), "name"),
               "duplicate step name '" + name + "'");
      }
    }
  }
}

void note_template_use(map_reader& m, std::string_view key, const std::string& name) {
  if (!current_scan || name.empty() || is_templated(name)) return;
  const yaml_node& at = m.lookup(key);
  current_scan->template_uses.push_back(
      {name, at ? at.mark() : m.node().mark(), child_path(m.path(), key), {}});
}

}  // namespace

// --- leaf structs ----------------------------------------------------------------

static void read_fields(map_reader&, wf_empty_marker&) {}

static void read_fields(map_reader& m, wf_http_header_source& out) {
  m.optional("secretKeyRef", out.secret_key_ref);
}

static void read_fields(map_reader& m, parameter_value_from& out) {
  m.optional("path", out.path);
  m.optional("jsonPath", out.json_path);
  m.optional("expression", out.expression);
  m.optional("parameter", out.parameter);
  m.optional("default", out.default_);
  std::optional<wf_empty_marker> supplied;
  m.optional("supplied", supplied);
  out.supplied = m.has("supplied");
  m.unsupported("event", "suspend nodes resumed by an event");
  m.unsupported("configMapKeyRef", "kairos has no ConfigMaps; pass the value as a parameter");
  m.unsupported("jqFilter", "use jsonPath or expression");
}

static void read_fields(map_reader& m, parameter& out) {
  m.required("name", out.name);
  m.optional("value", out.value);
  m.optional("default", out.default_);
  m.optional("enum", out.enum_);
  m.optional("description", out.description);
  m.optional("globalName", out.global_name);
  m.optional("valueFrom", out.value_from);
  if (out.value && out.value_from) m.error("valueFrom", "set value or valueFrom, not both");
}

static void read_fields(map_reader& m, tar_strategy& out) {
  m.optional("compressionLevel", out.compression_level);
  if (out.compression_level && (*out.compression_level < -1 || *out.compression_level > 9))
    m.error("compressionLevel", "must be between -1 and 9");
}

static void read_fields(map_reader& m, archive_strategy& out) {
  std::optional<wf_empty_marker> none;
  m.optional("none", none);
  out.none = m.has("none");
  m.optional("tar", out.tar);
  m.unsupported("zip", "zip archives; use tar or none");
  if (out.none && out.tar) m.error("tar", "set none or tar, not both");
}

static void read_fields(map_reader& m, raw_artifact& out) {
  m.required("data", out.data);
}

static void read_fields(map_reader& m, http_artifact_header& out) {
  m.required("name", out.name);
  m.optional("value", out.value);
}

static void read_fields(map_reader& m, http_artifact& out) {
  m.required("url", out.url);
  m.optional("headers", out.headers);
  m.unsupported("auth", "authenticated HTTP artifacts; put credentials in headers");
}

static void read_fields(map_reader& m, artifact& out) {
  m.required("name", out.name);
  m.optional("path", out.path);
  // Kubernetes manifests write file modes in octal (0755), as YAML 1.1 reads
  // a leading zero; a YAML 1.2 reader would take it for decimal 755.
  std::optional<std::string> mode;
  if (m.optional("mode", mode) && mode) {
    const bool octal = mode->size() > 1 && mode->front() == '0' && is_integer(*mode);
    try {
      std::size_t used = 0;
      const long value = std::stol(*mode, &used, octal ? 8 : 0);
      if (used != mode->size() || value < 0 || value > 07777) throw std::invalid_argument("mode");
      out.mode = static_cast<int>(value);
    } catch (const std::exception&) {
      m.error("mode", "expected a file mode such as 0644, got '" + *mode + "'");
    }
  }
  m.optional("from", out.from);
  m.optional("fromExpression", out.from_expression);
  m.optional("globalName", out.global_name);
  m.optional("archive", out.archive);
  m.optional("optional", out.optional);
  m.optional("raw", out.raw);
  m.optional("http", out.http);
  for (std::string_view store :
       {"s3", "gcs", "git", "oss", "hdfs", "artifactory", "azure", "plugin"})
    m.unsupported(store, "kairos keeps artifacts in its local repository");
  m.unsupported("subPath", "kairos keeps artifacts in its local repository");
  m.unsupported("recurseMode", "kairos keeps artifacts in its local repository");
  m.unsupported("artifactGC", "artifacts live as long as their workflow's record");
  m.ignored({"archiveLogs", "deleted"});
  if (!out.from.empty() && !out.from_expression.empty())
    m.error("fromExpression", "set from or fromExpression, not both");
  if (out.raw && out.http) m.error("http", "set one artifact source, not both raw and http");
}

static void read_fields(map_reader& m, arguments& out) {
  m.optional("parameters", out.parameters);
  m.optional("artifacts", out.artifacts);
}

static void read_fields(map_reader& m, inputs& out) {
  m.optional("parameters", out.parameters);
  m.optional("artifacts", out.artifacts);
}

static void read_fields(map_reader& m, outputs& out) {
  m.optional("parameters", out.parameters);
  m.optional("artifacts", out.artifacts);
  m.ignored({"result", "exitCode"});
}

// --- containers ------------------------------------------------------------------

static void read_fields(map_reader& m, env_var_source& out) {
  m.optional("secretKeyRef", out.secret_key_ref);
  m.unsupported("configMapKeyRef", "kairos has no ConfigMaps; use value or secretKeyRef");
  m.unsupported("fieldRef", "there is no pod to refer to; use value");
  m.unsupported("resourceFieldRef", "there is no pod to refer to; use value");
}

static void read_fields(map_reader& m, env_var& out) {
  m.required("name", out.name);
  m.optional("value", out.value);
  m.optional("valueFrom", out.value_from);
  if (!out.value.empty() && out.value_from)
    m.error("valueFrom", "set value or valueFrom, not both");
}

static void read_fields(map_reader& m, volume_mount& out) {
  m.required("name", out.name);
  m.required("mountPath", out.mount_path);
  m.optional("subPath", out.sub_path);
  m.optional("readOnly", out.read_only);
  m.unsupported("subPathExpr", "use subPath");
  m.ignored({"mountPropagation", "recursiveReadOnly"});
}

static void read_container_fields(map_reader& m, container& out) {
  m.optional("name", out.name);
  m.optional("image", out.image);
  m.optional("command", out.command);
  m.optional("args", out.args);
  m.optional("env", out.env);
  m.optional("workingDir", out.working_dir);
  m.optional("volumeMounts", out.volume_mounts);
  m.unsupported("envFrom", "list variables in env");
  m.unsupported({"stdin", "stdinOnce", "tty", "volumeDevices"});
  m.ignored({"resources", "imagePullPolicy", "ports", "securityContext", "livenessProbe",
             "readinessProbe", "startupProbe", "lifecycle", "terminationMessagePath",
             "terminationMessagePolicy", "resizePolicy", "restartPolicy"});
  if (current_scan) {
    const yaml_node& mounts = m.lookup("volumeMounts");
    for (std::size_t i = 0; i < out.volume_mounts.size(); ++i) {
      const auto& name = out.volume_mounts[i].name;
      if (name.empty() || is_templated(name)) continue;
      const yaml_node& at = mounts[i]["name"];
      current_scan->volume_uses.push_back(
          {name,
           at ? at.mark() : m.node().mark(),
           child_path(index_path(child_path(m.path(), "volumeMounts"), i), "name"),
           {}});
    }
  }
}

static void read_fields(map_reader& m, container& out) {
  read_container_fields(m, out);
}

static void read_fields(map_reader& m, script_template& out) {
  read_container_fields(m, out);
  m.required("source", out.source);
}

// --- template kinds --------------------------------------------------------------

static void read_fields(map_reader& m, suspend_template& out) {
  m.optional("duration", out.duration);
  check_duration(m, "duration", out.duration, true);
}

static void read_fields(map_reader& m, http_header& out) {
  m.required("name", out.name);
  m.optional("value", out.value);
  std::optional<wf_http_header_source> from;
  m.optional("valueFrom", from);
  if (from) out.secret_key_ref = std::move(from->secret_key_ref);
  if (!out.value.empty() && from) m.error("valueFrom", "set value or valueFrom, not both");
}

static void read_fields(map_reader& m, http_template& out) {
  m.optional("method", out.method);
  if (m.required("url", out.url) && !is_templated(out.url) && out.url.rfind("http://", 0) != 0 &&
      out.url.rfind("https://", 0) != 0) {
    m.error("url", "not an absolute http:// or https:// URL");
  }
  m.optional("headers", out.headers);
  m.optional("timeoutSeconds", out.timeout_seconds);
  check_non_negative(m, "timeoutSeconds", out.timeout_seconds);
  m.optional("successCondition", out.success_condition);
  m.optional("body", out.body);
  m.optional("insecureSkipVerify", out.insecure_skip_verify);
  m.unsupported("bodyFrom", "use body");
}

static void read_fields(map_reader& m, template_ref& out) {
  m.required("name", out.name);
  m.required("template", out.template_);
  m.optional("clusterScope", out.cluster_scope);
}

static void read_fields(map_reader& m, sequence& out) {
  m.optional("count", out.count);
  m.optional("start", out.start);
  m.optional("end", out.end);
  m.optional("format", out.format);
  check_int_or_template(m, "count", out.count, true);
  check_int_or_template(m, "start", out.start, false);
  check_int_or_template(m, "end", out.end, false);
  if (out.count && out.end) m.error("end", "set count or end, not both");
}

static void read_fields(map_reader& m, continue_on& out) {
  m.optional("failed", out.failed);
  m.optional("error", out.error);
}

static void read_fields(map_reader& m, template_call& out) {
  m.required("name", out.name);
  m.optional("template", out.template_);
  m.optional("templateRef", out.template_ref);
  m.optional("arguments", out.arguments);
  m.optional("when", out.when);
  m.optional("withItems", out.with_items);
  m.optional("withParam", out.with_param);
  m.optional("withSequence", out.with_sequence);
  m.optional("continueOn", out.continue_on);
  m.optional("onExit", out.on_exit);
  m.unsupported("hooks", "lifecycle hooks; use onExit");
  m.unsupported("inline", "inline templates; define a named template and use template");

  if (out.template_.empty() && !out.template_ref && !m.has("template") && !m.has("templateRef")) {
    m.error_at_map(child_path(m.path(), "template"),
                   "required field is missing (or set templateRef)");
  } else if (!out.template_.empty() && out.template_ref) {
    m.error("templateRef", "set template or templateRef, not both");
  }
  note_template_use(m, "template", out.template_);
  note_template_use(m, "onExit", out.on_exit);
  const int loops =
      (m.has("withItems") ? 1 : 0) + (m.has("withParam") ? 1 : 0) + (m.has("withSequence") ? 1 : 0);
  if (loops > 1) {
    m.error(m.has("withSequence") ? "withSequence" : "withParam",
            "set only one of withItems, withParam, withSequence");
  }
}

static void read_fields(map_reader& m, dag_task& out) {
  read_fields(m, static_cast<template_call&>(out));
  m.optional("dependencies", out.dependencies);
  m.optional("depends", out.depends);
}

static void read_fields(map_reader& m, dag_template& out) {
  m.optional("target", out.target);
  m.required("tasks", out.tasks);
  m.optional("failFast", out.fail_fast);
  check_dag(m, out);
}

static void read_fields(map_reader& m, backoff& out) {
  m.optional("duration", out.duration);
  m.optional("factor", out.factor);
  m.optional("maxDuration", out.max_duration);
  m.optional("cap", out.cap);
  check_duration(m, "duration", out.duration, true);
  check_int_or_template(m, "factor", out.factor, true);
  check_duration(m, "maxDuration", out.max_duration, true);
  check_duration(m, "cap", out.cap, true);
}

static void read_fields(map_reader& m, retry_strategy& out) {
  m.optional("limit", out.limit);
  check_int_or_template(m, "limit", out.limit, true);
  m.optional_enum("retryPolicy", out.retry_policy,
                  {"Always", "OnFailure", "OnError", "OnTransientError"});
  m.optional("backoff", out.backoff);
  m.optional("expression", out.expression);
  m.ignored("affinity");
}

static void read_fields(map_reader& m, config_map_key_selector& out) {
  m.required("name", out.name);
  m.required("key", out.key);
  m.ignored("optional");
}

static void read_fields(map_reader& m, mutex& out) {
  m.required("name", out.name);
  m.optional("namespace", out.namespace_);
  m.unsupported("database", "locks are local to this kairos instance");
}

static void read_fields(map_reader& m, semaphore_ref& out) {
  m.required("configMapKeyRef", out.config_map_key_ref);
  m.optional("namespace", out.namespace_);
  m.unsupported("database", "locks are local to this kairos instance");
}

static void read_fields(map_reader& m, synchronization& out) {
  // The single forms are Argo's older spelling of one-element lists.
  std::optional<mutex> single_mutex;
  std::optional<semaphore_ref> single_semaphore;
  m.optional("mutex", single_mutex);
  m.optional("semaphore", single_semaphore);
  m.optional("mutexes", out.mutexes);
  m.optional("semaphores", out.semaphores);
  if (single_mutex) out.mutexes.insert(out.mutexes.begin(), std::move(*single_mutex));
  if (single_semaphore) out.semaphores.insert(out.semaphores.begin(), std::move(*single_semaphore));
}

static void read_fields(map_reader& m, template_metadata& out) {
  m.optional("labels", out.labels);
  m.optional("annotations", out.annotations);
}

static void read_fields(map_reader& m, empty_dir_volume& out) {
  m.optional_enum("medium", out.medium, {"", "Memory"});
  m.optional("sizeLimit", out.size_limit);
}

static void read_fields(map_reader& m, volume& out) {
  m.required("name", out.name);
  m.optional("emptyDir", out.empty_dir);
  if (m.has("emptyDir") && !out.empty_dir) out.empty_dir = empty_dir_volume{};
  constexpr std::string_view why =
      "only emptyDir volumes exist on one machine; pass files as artifacts";
  for (std::string_view source : {"hostPath",
                                  "secret",
                                  "configMap",
                                  "persistentVolumeClaim",
                                  "nfs",
                                  "projected",
                                  "downwardAPI",
                                  "ephemeral",
                                  "csi",
                                  "image",
                                  "iscsi",
                                  "gitRepo",
                                  "awsElasticBlockStore",
                                  "gcePersistentDisk",
                                  "azureDisk",
                                  "azureFile",
                                  "cephfs",
                                  "cinder",
                                  "fc",
                                  "flexVolume",
                                  "flocker",
                                  "glusterfs",
                                  "photonPersistentDisk",
                                  "portworxVolume",
                                  "quobyte",
                                  "rbd",
                                  "scaleIO",
                                  "storageos",
                                  "vsphereVolume"}) {
    m.unsupported(source, why);
  }
  bool other_source = false;
  for (const auto& e : m.node().entries()) {
    if (e.key->is_scalar() && e.key->scalar() != "name" && e.key->scalar() != "emptyDir")
      other_source = true;
  }
  if (!m.has("emptyDir") && !other_source)
    m.error_at_map(child_path(m.path(), "emptyDir"),
                   "required field is missing (the only volume type kairos supports)");
}

static void read_fields(map_reader& m, template_spec& out) {
  const std::size_t volume_uses_before = current_scan ? current_scan->volume_uses.size() : 0;
  m.required("name", out.name);
  m.optional("inputs", out.inputs);
  m.optional("outputs", out.outputs);
  m.optional("metadata", out.metadata);
  m.optional("container", out.container);
  m.optional("script", out.script);
  m.optional("dag", out.dag);
  m.optional("steps", out.steps);
  m.optional("suspend", out.suspend);
  if (m.has("suspend") && !out.suspend) out.suspend = suspend_template{};
  m.optional("http", out.http);
  m.optional("volumes", out.volumes);
  m.optional("activeDeadlineSeconds", out.active_deadline_seconds);
  check_int_or_template(m, "activeDeadlineSeconds", out.active_deadline_seconds, true);
  m.optional("retryStrategy", out.retry_strategy);
  m.optional("parallelism", out.parallelism);
  check_non_negative(m, "parallelism", out.parallelism);
  m.optional("failFast", out.fail_fast);
  m.optional("synchronization", out.synchronization);
  m.optional("timeout", out.timeout);
  check_duration(m, "timeout", out.timeout, false);
  m.optional("serviceAccountName", out.service_account_name);

  // These template kinds need a cluster or Argo's own executor.
  m.unsupported("resource", "resource templates cannot run as local processes");
  m.unsupported("plugin", "plugin templates cannot run as local processes");
  m.unsupported("containerSet", "containerSet templates cannot run as local processes");
  m.unsupported("data", "data templates cannot run as local processes");
  m.unsupported("daemon", "daemoned steps");
  m.unsupported("initContainers", "use a step before this one");
  m.unsupported("sidecars", "start companions in the step's own command");
  m.unsupported("archiveLocation", "kairos keeps artifacts in its local repository");
  m.unsupported({"executor", "hostAliases", "podSpecPatch", "metrics", "memoize", "annotations"});
  m.ignored({"nodeSelector", "affinity", "tolerations", "schedulerName", "priorityClassName",
             "priority", "automountServiceAccountToken", "securityContext", "pendingTimeout",
             "podResources", "resourceClaims"});

  if (out.steps) check_steps(m, *out.steps);

  std::vector<std::string_view> kinds;
  for (std::string_view k : {"container", "script", "dag", "steps", "suspend", "http", "resource",
                             "plugin", "containerSet", "data"}) {
    if (m.has(k)) kinds.push_back(k);
  }
  if (kinds.empty()) {
    m.error_at_map(m.path(), std::string(template_types));
  } else if (kinds.size() > 1) {
    std::string found;
    for (std::size_t i = 0; i < kinds.size(); ++i) {
      if (i > 0) found += i + 1 == kinds.size() ? " and " : ", ";
      found += kinds[i];
    }
    m.error(kinds[1], std::string(template_types) + ", got " + found);
  }

  if (current_scan) {
    std::vector<std::string> local;
    for (const auto& v : out.volumes) local.push_back(v.name);
    for (std::size_t i = volume_uses_before; i < current_scan->volume_uses.size(); ++i)
      current_scan->volume_uses[i].local_names = local;
  }
}

static void read_fields(map_reader& m, workflow_template_ref& out) {
  m.required("name", out.name);
  m.optional("clusterScope", out.cluster_scope);
}

static void read_fields(map_reader& m, ttl_strategy& out) {
  m.optional("secondsAfterCompletion", out.seconds_after_completion);
  m.optional("secondsAfterSuccess", out.seconds_after_success);
  m.optional("secondsAfterFailure", out.seconds_after_failure);
  check_non_negative(m, "secondsAfterCompletion", out.seconds_after_completion);
  check_non_negative(m, "secondsAfterSuccess", out.seconds_after_success);
  check_non_negative(m, "secondsAfterFailure", out.seconds_after_failure);
}

static void read_fields(map_reader& m, label_value_from& out) {
  m.required("expression", out.expression);
}

static void read_fields(map_reader& m, workflow_metadata& out) {
  m.optional("labels", out.labels);
  m.optional("annotations", out.annotations);
  m.optional("labelsFrom", out.labels_from);
}

// --- the workflow ----------------------------------------------------------------

void read_fields(map_reader& m, workflow_spec& out) {
  scan_scope scope;
  reader_context& ctx = m.context();

  m.optional("entrypoint", out.entrypoint);
  m.optional("arguments", out.arguments);
  m.optional("volumes", out.volumes);
  m.optional("workflowTemplateRef", out.workflow_template_ref);
  m.optional("templates", out.templates);
  m.optional("onExit", out.on_exit);
  m.optional("parallelism", out.parallelism);
  check_non_negative(m, "parallelism", out.parallelism);
  m.optional("activeDeadlineSeconds", out.active_deadline_seconds);
  check_non_negative(m, "activeDeadlineSeconds", out.active_deadline_seconds);
  m.optional("serviceAccountName", out.service_account_name);
  m.optional("retryStrategy", out.retry_strategy);
  m.optional("synchronization", out.synchronization);
  m.optional("ttlStrategy", out.ttl_strategy);
  m.optional("workflowMetadata", out.workflow_metadata);
  m.optional_enum("shutdown", out.shutdown, {"Stop", "Terminate"});
  m.optional("suspend", out.suspend);
  m.optional("priority", out.priority);

  m.unsupported("executor", "processes run as the kairos user");
  m.unsupported("executorPlugins", "Argo executor plugins");
  m.unsupported("volumeClaimTemplates", "only emptyDir volumes exist on one machine");
  m.unsupported("artifactRepositoryRef", "kairos keeps artifacts in its local repository");
  m.unsupported("artifactGC", "artifacts live as long as their workflow's record");
  m.unsupported("templateDefaults", "set the fields on each template");
  m.unsupported("podSpecPatch", "there is no pod to patch");
  m.unsupported("hooks", "lifecycle hooks; use onExit");
  m.unsupported({"metrics", "hostAliases"});
  m.ignored({"nodeSelector", "affinity", "tolerations", "imagePullSecrets", "hostNetwork",
             "dnsPolicy", "dnsConfig", "schedulerName", "podPriorityClassName", "podPriority",
             "securityContext", "podDisruptionBudget", "podGC", "podMetadata",
             "automountServiceAccountToken", "volumeClaimGC", "archiveLogs", "podResources",
             "resourceClaims"});

  const bool has_ref = out.workflow_template_ref.has_value();
  if (has_ref && m.has("templates") && !out.templates.empty()) {
    m.error("templates",
            "cannot be set together with workflowTemplateRef; the referenced "
            "template provides them");
  }
  if (!has_ref && out.templates.empty()) {
    if (m.has("templates") && !m.lookup("templates").is_null())
      m.error("templates", "must not be empty");
    else if (m.has("templates"))
      m.error("templates", "required field is missing (or set workflowTemplateRef)");
    else
      m.error_at_map(child_path(m.path(), "templates"),
                     "required field is missing (or set workflowTemplateRef)");
  }

  // Template names: unique, and everything that names one must find it.
  std::vector<std::string> names;
  const yaml_node& templates_node = m.lookup("templates");
  for (std::size_t i = 0; i < out.templates.size(); ++i) {
    const auto& name = out.templates[i].name;
    if (name.empty()) continue;
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      report(ctx, templates_node[i]["name"], templates_node,
             child_path(index_path(child_path(m.path(), "templates"), i), "name"),
             "duplicate template name '" + name + "'");
      continue;
    }
    names.push_back(name);
  }
  if (has_ref) return;  // names refer to the referenced template's templates

  auto check_template_name = [&](std::string_view key, const std::string& name) {
    if (name.empty() || is_templated(name)) return;
    if (std::find(names.begin(), names.end(), name) == names.end())
      m.error(key, with_hint("unknown template '" + name + "'", name, names));
  };
  if (!out.templates.empty()) {
    check_template_name("entrypoint", out.entrypoint);
    check_template_name("onExit", out.on_exit);
    for (const auto& use : scope.scan().template_uses) {
      if (std::find(names.begin(), names.end(), use.name) == names.end())
        ctx.error(use.mark, use.path,
                  with_hint("unknown template '" + use.name + "'", use.name, names));
    }
  }

  std::vector<std::string> workflow_volumes;
  for (const auto& v : out.volumes) workflow_volumes.push_back(v.name);
  for (const auto& use : scope.scan().volume_uses) {
    auto declared = workflow_volumes;
    declared.insert(declared.end(), use.local_names.begin(), use.local_names.end());
    if (std::find(declared.begin(), declared.end(), use.name) == declared.end()) {
      ctx.error(use.mark, use.path,
                with_hint("unknown volume '" + use.name +
                              "'; declare it in spec.volumes or the "
                              "template's volumes",
                          use.name, declared));
    }
  }
}

void check_runnable_workflow(reader_context& ctx, const yaml_node& spec_node,
                             const std::string& spec_path, const workflow_spec& spec) {
  if (!spec_node || !spec_node.is_map()) return;
  if (spec.entrypoint.empty() && !spec.workflow_template_ref) {
    const yaml_node& entrypoint = spec_node["entrypoint"];
    ctx.error(entrypoint ? entrypoint : spec_node, child_path(spec_path, "entrypoint"),
              "required field is missing (or set workflowTemplateRef)");
  }
}

}  // namespace kairos::spec
