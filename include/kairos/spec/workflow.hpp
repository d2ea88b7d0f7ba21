#pragma once

// Typed spec of Workflow, WorkflowTemplate and ClusterWorkflowTemplate, with
// Argo's field names in snake_case (Argo Workflows v3.5/v3.6). Fields kairos
// rejects or deliberately ignores are listed in spec/workflow_reader.cpp.
//
// Values Argo types as AnyString or IntOrString (parameter values, retry
// limits, sequence bounds, ...) are kept as text: they may hold templates
// such as "{{inputs.parameters.n}}" that only the engine can resolve. Where
// a field is a number, the reader has checked that the text is an integer
// or contains "{{".

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/spec/secret.hpp"

namespace kairos::spec {

// --- parameters and artifacts ------------------------------------------------

struct parameter_value_from {
  std::string path;        // file whose content is the output value
  std::string json_path;   // output of a resource template; kept for completeness
  std::string expression;  // expr-lang expression over the node's scope
  std::string parameter;   // e.g. "{{steps.x.outputs.parameters.y}}" (DAG/steps outputs)
  std::optional<std::string> default_;  // used when the source is missing
  bool supplied = false;  // `supplied: {}`: set by a human when resuming a suspend node
};

struct parameter {
  std::string name;
  std::optional<std::string> value;
  std::optional<std::string> default_;
  std::vector<std::string> enum_;
  std::optional<std::string> description;
  std::string global_name;  // also published as {{workflow.outputs.parameters.<global_name>}}
  std::optional<parameter_value_from> value_from;
};

struct tar_strategy {
  std::optional<int> compression_level;
};

// No `archive` means the default: tar with gzip.
struct archive_strategy {
  bool none = false;
  std::optional<tar_strategy> tar;
};

struct raw_artifact {
  std::string data;
};

struct http_artifact_header {
  std::string name;
  std::string value;
};

struct http_artifact {
  std::string url;
  std::vector<http_artifact_header> headers;
};

struct artifact {
  std::string name;
  std::string path;
  std::optional<int> mode;
  std::string from;             // "{{steps.x.outputs.artifacts.y}}"
  std::string from_expression;  // expression choosing an artifact
  std::string global_name;
  std::optional<archive_strategy> archive;
  bool optional = false;
  // Sources an input may be fetched from; kairos keeps every other artifact
  // in its own local repository.
  std::optional<raw_artifact> raw;
  std::optional<http_artifact> http;
};

struct arguments {
  std::vector<parameter> parameters;
  std::vector<artifact> artifacts;
};

struct inputs {
  std::vector<parameter> parameters;
  std::vector<artifact> artifacts;
};

struct outputs {
  std::vector<parameter> parameters;
  std::vector<artifact> artifacts;
};

// --- containers --------------------------------------------------------------

struct env_var_source {
  std::optional<secret_key_selector> secret_key_ref;
};

struct env_var {
  std::string name;
  std::string value;
  std::optional<env_var_source> value_from;
};

struct volume_mount {
  std::string name;
  std::string mount_path;
  std::string sub_path;
  bool read_only = false;
};

// The parts of a Kubernetes container that mean something for a local
// process; `image` is kept because an executor may run it in a container
// runtime.
struct container {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<env_var> env;
  std::string working_dir;
  std::vector<volume_mount> volume_mounts;
};

// A container whose `source` is written to a file and run by `command`
// (e.g. [python]); its stdout becomes outputs.result.
struct script_template : container {
  std::string source;
};

// --- template kinds ----------------------------------------------------------

struct suspend_template {
  std::string duration;  // Argo duration ("30", "5m"); empty: until resumed
};

struct http_header {
  std::string name;
  std::string value;
  std::optional<secret_key_selector> secret_key_ref;  // valueFrom.secretKeyRef
};

struct http_template {
  std::string method;  // empty means GET
  std::string url;
  std::vector<http_header> headers;
  std::optional<std::int64_t> timeout_seconds;
  std::string success_condition;  // expression over response.statusCode/body/headers
  std::string body;
  bool insecure_skip_verify = false;
};

struct template_ref {
  std::string name;       // WorkflowTemplate (or ClusterWorkflowTemplate) name
  std::string template_;  // template within it
  bool cluster_scope = false;
};

struct sequence {
  std::optional<std::string> count;
  std::optional<std::string> start;
  std::optional<std::string> end;
  std::string format;  // printf-style, e.g. "%02d"
};

struct continue_on {
  bool failed = false;
  bool error = false;
};

// What a DAG task and a step have in common: how they call a template and
// fan out.
struct template_call {
  std::string name;
  std::string template_;
  std::optional<spec::template_ref> template_ref;
  spec::arguments arguments;
  std::string when;
  std::vector<nlohmann::json> with_items;  // any JSON: strings, numbers, objects
  std::string with_param;                  // a JSON list, usually a template
  std::optional<spec::sequence> with_sequence;
  std::optional<spec::continue_on> continue_on;
  std::string on_exit;
};

struct dag_task : template_call {
  std::vector<std::string> dependencies;
  std::string depends;  // e.g. "a && (b.Succeeded || c.Failed)"
};

using workflow_step = template_call;

struct dag_template {
  std::string target;  // space-separated task names; empty runs every task
  std::vector<dag_task> tasks;
  std::optional<bool> fail_fast;  // Argo's default is true
};

struct backoff {
  std::string duration;               // Argo duration
  std::optional<std::string> factor;  // integer (or template)
  std::string max_duration;           // Argo duration
  std::string cap;                    // Argo duration: bound of one wait
};

struct retry_strategy {
  std::optional<std::string> limit;  // integer (or template); no limit: retry forever
  std::string retry_policy;  // Always | OnFailure | OnError | OnTransientError; empty: OnFailure
  std::optional<spec::backoff> backoff;
  std::string expression;  // retry only while true (lastRetry.exitCode, ...)
};

struct config_map_key_selector {
  std::string name;
  std::string key;
};

struct mutex {
  std::string name;
  std::string namespace_;
};

struct semaphore_ref {
  std::optional<config_map_key_selector> config_map_key_ref;
  std::string namespace_;
};

// Argo 3.6 lists; the older single `mutex` and `semaphore` are read into
// them.
struct synchronization {
  std::vector<spec::mutex> mutexes;
  std::vector<semaphore_ref> semaphores;
};

struct template_metadata {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct empty_dir_volume {
  std::string medium;  // "" or "Memory"
  std::string size_limit;
};

// Only emptyDir volumes exist on one machine: a scratch directory shared by
// the steps of one workflow run.
struct volume {
  std::string name;
  std::optional<empty_dir_volume> empty_dir;
};

struct template_spec {
  std::string name;
  spec::inputs inputs;
  spec::outputs outputs;
  template_metadata metadata;

  // Exactly one of these is set.
  std::optional<spec::container> container;
  std::optional<script_template> script;
  std::optional<dag_template> dag;
  std::optional<std::vector<std::vector<workflow_step>>> steps;
  std::optional<suspend_template> suspend;
  std::optional<http_template> http;

  std::vector<spec::volume> volumes;
  std::optional<std::string> active_deadline_seconds;  // integer (or template)
  std::optional<spec::retry_strategy> retry_strategy;
  std::optional<std::int64_t> parallelism;
  std::optional<bool> fail_fast;
  std::optional<spec::synchronization> synchronization;
  std::string timeout;  // Go duration (or template)
  std::string service_account_name;
};

struct workflow_template_ref {
  std::string name;
  bool cluster_scope = false;
};

struct ttl_strategy {
  std::optional<int> seconds_after_completion;
  std::optional<int> seconds_after_success;
  std::optional<int> seconds_after_failure;
};

struct label_value_from {
  std::string expression;
};

struct workflow_metadata {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::map<std::string, label_value_from> labels_from;
};

struct workflow_spec {
  std::string entrypoint;
  spec::arguments arguments;
  std::vector<template_spec> templates;
  std::string on_exit;
  std::optional<std::int64_t> parallelism;
  std::optional<std::int64_t> active_deadline_seconds;
  std::vector<spec::volume> volumes;
  std::optional<spec::workflow_template_ref> workflow_template_ref;
  std::string service_account_name;                    // kept for round trips; no effect
  std::optional<spec::retry_strategy> retry_strategy;  // default for every template
  std::optional<spec::synchronization> synchronization;
  std::optional<spec::ttl_strategy> ttl_strategy;
  std::optional<spec::workflow_metadata> workflow_metadata;
  std::string shutdown;  // "", Stop or Terminate
  bool suspend = false;
  std::optional<int> priority;

  const template_spec* find_template(std::string_view name) const {
    for (const auto& t : templates) {
      if (t.name == name) return &t;
    }
    return nullptr;
  }
};

}  // namespace kairos::spec
