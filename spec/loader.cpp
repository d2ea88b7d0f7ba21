#include "kairos/spec/loader.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <tuple>

#include "kairos/core/text.hpp"
#include "readers.hpp"
#include "workflow_checks.hpp"

namespace kairos::spec {

namespace {

bool is_alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string check_dns1123(std::string_view value, std::size_t max, bool allow_dots) {
  if (value.empty()) return "must not be empty";
  if (value.size() > max) return "must be no more than " + std::to_string(max) + " characters";
  for (char c : value) {
    if (!(is_alnum_lower(c) || c == '-' || (allow_dots && c == '.'))) {
      return std::string("must consist of lower case alphanumeric characters, '-'") +
             (allow_dots ? " or '.'" : "") + ", and start and end with an alphanumeric character";
    }
  }
  if (!is_alnum_lower(value.front()) || !is_alnum_lower(value.back()))
    return "must start and end with a lower case alphanumeric character";
  return {};
}

}  // namespace

std::string check_dns1123_subdomain(std::string_view value) {
  return check_dns1123(value, 253, true);
}
std::string check_dns1123_label(std::string_view value) {
  return check_dns1123(value, 63, false);
}

void read_fields(map_reader& m, secret_key_selector& out) {
  // A name built from a template ({{...}}) is only known at run time.
  if (m.required("name", out.name) && out.name.find("{{") == std::string::npos) {
    if (auto why = check_dns1123_subdomain(out.name); !why.empty())
      m.error("name", "invalid secret name '" + out.name + "': " + why);
  }
  if (m.required("key", out.key)) {
    const bool ok = !out.key.empty() && out.key != "." && out.key != ".." &&
                    std::all_of(out.key.begin(), out.key.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
                    });
    if (!ok)
      m.error("key", "invalid secret key '" + out.key +
                         "': must consist of alphanumeric characters, '-', '_' or '.'");
  }
  m.optional("optional", out.optional);
}

void read_fields(map_reader& m, object_meta& out) {
  m.optional("name", out.name);
  m.optional("generateName", out.generate_name);
  m.optional("namespace", out.namespace_);
  m.optional("labels", out.labels);
  m.optional("annotations", out.annotations);
  m.optional("uid", out.uid);
  m.optional("resourceVersion", out.resource_version);
  m.optional("creationTimestamp", out.creation_timestamp);
  // Set by a Kubernetes API server; meaningless to kairos but present in
  // manifests exported with `kubectl get -o yaml`.
  m.ignored({"generation", "managedFields", "selfLink", "finalizers", "ownerReferences",
             "deletionTimestamp", "deletionGracePeriodSeconds"});
}

namespace {

std::vector<std::string_view> kind_names() {
  std::vector<std::string_view> out;
  for (auto k : all_kinds) out.push_back(kind_name(k));
  return out;
}

void read_document(const yaml_node& doc, reader_context& ctx, std::vector<resource>& out) {
  const std::size_t errors_before = ctx.error_count();
  map_reader top(doc, "", ctx);
  if (!top.valid()) return;

  resource r;
  r.file = ctx.file();
  r.line = doc.mark().line + 1;

  std::string api;
  if (top.required("apiVersion", api) && api != api_version) {
    top.error("apiVersion", "expected " + std::string(api_version) + ", got '" + api + "'");
  }
  std::string kind_text;
  std::optional<kind> k;
  if (top.required("kind", kind_text)) {
    k = parse_kind(kind_text);
    if (!k) {
      std::string message = "unknown kind '" + kind_text +
                            "'; kairos reads Workflow, "
                            "WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow, "
                            "EventSource and Sensor";
      const auto names = kind_names();
      if (auto hint = closest_match(kind_text, names)) message += " (did you mean " + *hint + "?)";
      top.error("kind", std::move(message));
    }
  }
  top.required("metadata", r.metadata);
  // A manifest exported from a cluster carries its status; it is the
  // server's to set, so it is dropped rather than trusted.
  top.ignored("status");

  if (k) {
    r.kind = *k;
    switch (*k) {
      case kind::workflow:
      case kind::workflow_template:
      case kind::cluster_workflow_template:
        r.spec = workflow_spec{};
        top.required("spec", std::get<workflow_spec>(r.spec));
        if (*k == kind::workflow)
          check_runnable_workflow(ctx, top.lookup("spec"), "spec", std::get<workflow_spec>(r.spec));
        break;
      case kind::cron_workflow:
        r.spec = cron_workflow_spec{};
        top.required("spec", std::get<cron_workflow_spec>(r.spec));
        break;
      case kind::event_source:
        r.spec = event_source_spec{};
        top.required("spec", std::get<event_source_spec>(r.spec));
        break;
      case kind::sensor:
        r.spec = sensor_spec{};
        top.required("spec", std::get<sensor_spec>(r.spec));
        break;
    }

    // Metadata rules depend on the kind.
    auto& meta = r.metadata;
    const yaml_node& meta_node = top.lookup("metadata");
    if (meta_node.is_map()) {
      map_reader mm(meta_node, "metadata", ctx);
      if (meta.name.empty()) {
        if (*k != kind::workflow || meta.generate_name.empty()) {
          mm.error_at_map("metadata.name", *k == kind::workflow
                                               ? "required field is missing (or set generateName)"
                                               : "required field is missing");
        }
      } else if (auto why = check_dns1123_subdomain(meta.name); !why.empty()) {
        mm.error("name", "invalid name '" + meta.name + "': " + why);
      } else if (*k == kind::workflow && meta.name.size() > 63) {
        mm.error("name", "invalid name '" + meta.name +
                             "': a workflow name must be no more than 63 characters");
      }
      if (!meta.generate_name.empty()) {
        // generateName is a prefix: the same rules, minus the final character.
        auto why = check_dns1123_subdomain(meta.generate_name + "x");
        if (!why.empty())
          mm.error("generateName", "invalid generateName '" + meta.generate_name + "': " + why);
      }
      if (is_namespaced(*k)) {
        if (meta.namespace_.empty()) meta.namespace_ = std::string(default_namespace);
        if (auto why = check_dns1123_label(meta.namespace_); !why.empty())
          mm.error("namespace", "invalid namespace '" + meta.namespace_ + "': " + why);
      } else {
        // Cluster-scoped: a namespace means nothing, as in Kubernetes.
        meta.namespace_.clear();
      }
      // Only the name checks above report through mm; its keys were already
      // declared by the object_meta reader, so no finish() here.
    }
  }

  top.finish();
  if (ctx.error_count() != errors_before) return;

  r.manifest = yaml_to_json(doc);
  r.manifest.erase("status");
  if (!r.metadata.namespace_.empty()) {
    r.manifest["metadata"]["namespace"] = r.metadata.namespace_;
  } else {
    r.manifest["metadata"].erase("namespace");
  }
  out.push_back(std::move(r));
}

yaml_mark mark_at(std::string_view text, std::size_t offset) {
  yaml_mark m;
  m.pos = static_cast<int>(offset);
  const std::string_view before = text.substr(0, offset);
  m.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  const auto line_start = before.rfind('\n');
  m.column =
      static_cast<int>(line_start == std::string_view::npos ? offset : offset - line_start - 1);
  return m;
}

}  // namespace

load_result load_text(std::string_view text, std::string_view source_name) {
  load_result result;
  reader_context ctx{std::string(source_name)};
  yaml_stream stream;
  // yaml-cpp decodes UTF-16 and UTF-32 that start with a byte order mark;
  // anything else must be UTF-8 (as for kubectl), and would otherwise reach
  // the manifest's JSON, which cannot hold it.
  if (const auto bad = is_wide_unicode(text) ? std::string_view::npos : invalid_utf8_offset(text);
      bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    ctx.error(mark_at(text, bad), "", std::string("not valid UTF-8 (byte ") + byte + ")");
  } else {
    auto loaded = load_yaml(text);
    if (loaded.error) ctx.error(loaded.error->mark, "", "invalid YAML: " + loaded.error->message);
    stream = std::move(loaded.stream);
  }
  for (const auto* doc : stream.documents()) {
    // `---` at the end of a file yields an empty document; skip it.
    if (doc->is_null()) continue;
    if (!within_yaml_bounds(*doc)) {
      ctx.error(*doc, "", yaml_bounds_message());
      continue;
    }
    read_document(*doc, ctx, result.resources);
  }
  result.diagnostics = std::move(ctx.diagnostics());
  // Readers report in the order they look; people read files top to bottom.
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const diagnostic& a, const diagnostic& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  return result;
}

load_result load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    load_result r;
    r.diagnostics.push_back({path.string(), 0, 0, "", "cannot read file"});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_text(text.str(), path.string());
}

load_result load_directory(const std::filesystem::path& dir) {
  load_result all;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    all.diagnostics.push_back({dir.string(), 0, 0, "", "not a directory"});
    return all;
  }
  std::vector<std::filesystem::path> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    const auto ext = it->path().extension().string();
    if (ext == ".yaml" || ext == ".yml" || ext == ".json") files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    auto r = load_file(f);
    std::move(r.resources.begin(), r.resources.end(), std::back_inserter(all.resources));
    std::move(r.diagnostics.begin(), r.diagnostics.end(), std::back_inserter(all.diagnostics));
  }
  return all;
}

load_result load_json(const nlohmann::json& document, std::string_view source_name) {
  // Workflows reach the loader as JSON on every submission (API, cron,
  // sensors), so the tree is read directly. Only a document with findings
  // goes through the printed text, whose lines the diagnostics can cite.
  yaml_stream stream;
  if (const yaml_node* doc = json_to_yaml(document, stream); doc != nullptr && !doc->is_null()) {
    load_result result;
    reader_context ctx{std::string(source_name)};
    read_document(*doc, ctx, result.resources);
    if (ctx.diagnostics().empty()) {
      for (auto& r : result.resources) r.line = 1;
      return result;
    }
  }
  // JSON is YAML; serialising it indented gives diagnostics usable lines.
  return load_text(document.dump(2), source_name);
}

}  // namespace kairos::spec
