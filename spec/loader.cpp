#include "kairos/spec/loader.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <tuple>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

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

void read_document(const YAML::Node& doc, reader_context& ctx, std::vector<resource>& out) {
  const std::size_t errors_before = ctx.error_count();
  map_reader top(doc, "", ctx);
  if (!top.valid()) return;

  resource r;
  r.file = ctx.file();
  r.line = doc.Mark().line + 1;

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
    const YAML::Node meta_node = top.lookup("metadata");
    if (meta_node && meta_node.IsMap()) {
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

// Aliases let a small document expand into a huge (or, through a cycle,
// infinite) tree; everything downstream walks the expanded tree, so it is
// measured first, with a budget, before anything else reads it.
constexpr std::size_t max_expanded_nodes = 200000;
constexpr std::size_t max_depth = 128;

bool within_budget(const YAML::Node& node, std::size_t depth, std::size_t& budget) {
  if (depth > max_depth || budget == 0) return false;
  --budget;
  if (node.IsSequence()) {
    for (const auto& item : node)
      if (!within_budget(item, depth + 1, budget)) return false;
  } else if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!within_budget(it->first, depth + 1, budget)) return false;
      if (!within_budget(it->second, depth + 1, budget)) return false;
    }
  }
  return true;
}

YAML::Mark mark_at(std::string_view text, std::size_t offset) {
  YAML::Mark m;
  m.pos = static_cast<int>(offset);
  const std::string_view before = text.substr(0, offset);
  m.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  const auto line_start = before.rfind('\n');
  m.column =
      static_cast<int>(line_start == std::string_view::npos ? offset : offset - line_start - 1);
  return m;
}

// yaml-cpp's LoadAll never returns when a document's top-level node is
// followed by a token its parser does not take there, such as the `,` in
// "[a]," or "- a\n,": the token stays unread and every further call yields
// another empty document at the same place, without end and without bound
// on memory. Returns where that happens, or nullopt.
//
// A document whose first line is a plain `key:` at column 0 is a block
// mapping that only a document marker, a directive (yaml-cpp takes a `%`
// at column 0 for one anywhere) or the end ends, so nothing can follow it;
// every manifest people write is like that, and is passed without parsing
// twice. Anything else, or any line starting with `%`, is parsed once
// through yaml-cpp's event parser, which yields documents one at a time.
std::optional<YAML::Mark> document_level_stall(std::string_view text) {
  static const std::regex block_map_key(R"(^[A-Za-z_][A-Za-z0-9_.-]*:([ \t].*)?\r?$)");
  const auto marker = [](std::string_view line) {
    if (line.size() < 3 || (line.substr(0, 3) != "---" && line.substr(0, 3) != "...")) return false;
    return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
  };
  const auto significant = [](std::string_view line) {
    const auto first = line.find_first_not_of(" \t\r");
    return first != std::string_view::npos && line[first] != '#';
  };
  bool simple = true;
  bool in_document = false;  // its first significant line has been seen
  std::string_view rest = text;
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
  while (simple && !rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (!line.empty() && line.front() == '%') {
      simple = false;
    } else if (marker(line)) {
      in_document = false;
      // Content after the marker begins the next document on this line.
      simple = !significant(line.substr(3));
    } else if (!in_document && significant(line)) {
      in_document = true;
      simple = std::regex_match(line.begin(), line.end(), block_map_key);
    }
  }
  if (simple) return std::nullopt;

  struct document_starts final : YAML::EventHandler {
    std::optional<YAML::Mark> last;
    bool repeated = false;
    void OnDocumentStart(const YAML::Mark& m) override {
      repeated = last && last->pos == m.pos;
      last = m;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  try {
    while (parser.HandleNextDocument(starts)) {
      if (starts.repeated) return starts.last;
    }
  } catch (const YAML::Exception&) {
    // LoadAll meets the same error and reports it.
  }
  return std::nullopt;
}

}  // namespace

load_result load_text(std::string_view text, std::string_view source_name) {
  load_result result;
  reader_context ctx{std::string(source_name)};
  std::vector<YAML::Node> docs;
  // yaml-cpp decodes UTF-16 and UTF-32 that start with a byte order mark;
  // anything else must be UTF-8 (as for kubectl), and would otherwise reach
  // the manifest's JSON, which cannot hold it.
  const bool wide = text.substr(0, 2) == "\xFE\xFF" || text.substr(0, 2) == "\xFF\xFE" ||
                    text.substr(0, 4) == std::string_view("\0\0\xFE\xFF", 4);
  if (const auto bad = wide ? std::string_view::npos : invalid_utf8_offset(text);
      bad != std::string_view::npos) {
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    ctx.error(mark_at(text, bad), "", std::string("not valid UTF-8 (byte ") + byte + ")");
  } else if (const auto stall = document_level_stall(text)) {
    const char c = static_cast<std::size_t>(stall->pos) < text.size() ? text[stall->pos] : ' ';
    ctx.error(
        *stall, "",
        std::string("invalid YAML: unexpected '") + c + "' after the document's top-level node");
  } else {
    try {
      docs = YAML::LoadAll(std::string(text));
    } catch (const YAML::Exception& e) {
      ctx.error(e.mark, "", "invalid YAML: " + e.msg);
    }
  }
  for (const auto& doc : docs) {
    // `---` at the end of a file yields an empty document; skip it.
    if (doc.IsNull()) continue;
    std::size_t budget = max_expanded_nodes;
    if (!within_budget(doc, 0, budget)) {
      ctx.error(doc.Mark(), "",
                "document nests deeper than " + std::to_string(max_depth) +
                    " levels or expands to more than " + std::to_string(max_expanded_nodes) +
                    " nodes through aliases");
      continue;
    }
    try {
      read_document(doc, ctx, result.resources);
    } catch (const YAML::Exception& e) {
      ctx.error(e.mark, "", "invalid YAML: " + e.msg);
    }
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

namespace {

// The JSON tree as yaml-cpp nodes, without printing and re-parsing it.
// Strings carry the quoted-scalar tag, so "1" stays a string as it would in
// the printed text. False when the tree nests deeper than max_depth.
// Fills `out` in place. Children are made through out[key] and out[i], which
// allocate them in the document's own memory: a fresh YAML::Node per value,
// assigned in, made yaml-cpp merge memory sets at every level, which was
// most of the cost of reading a large workflow back from JSON.
bool json_to_yaml(const nlohmann::json& j, std::size_t depth, YAML::Node out) {
  if (depth > max_depth) return false;
  switch (j.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      out = YAML::Null;
      return true;
    case nlohmann::json::value_t::object:
      if (j.empty()) {
        out = YAML::Node(YAML::NodeType::Map);
        return true;
      }
      for (const auto& [key, value] : j.items()) {
        if (!json_to_yaml(value, depth + 1, out[key])) return false;
      }
      return true;
    case nlohmann::json::value_t::array:
      if (j.empty()) {
        out = YAML::Node(YAML::NodeType::Sequence);
        return true;
      }
      for (std::size_t i = 0; i < j.size(); ++i) {
        if (!json_to_yaml(j[i], depth + 1, out[i])) return false;
      }
      return true;
    case nlohmann::json::value_t::string:
      out = j.get_ref<const std::string&>();
      out.SetTag("!");
      return true;
    default:  // numbers and booleans print as YAML reads them back
      out = j.dump();
      return true;
  }
}

}  // namespace

load_result load_json(const nlohmann::json& document, std::string_view source_name) {
  // Workflows reach the loader as JSON on every submission (API, cron,
  // sensors), so the tree is read directly. Only a document with findings
  // goes through the printed text, whose lines the diagnostics can cite.
  YAML::Node doc(YAML::NodeType::Null);  // made now: json_to_yaml fills it through copies
  if (json_to_yaml(document, 0, doc) && !doc.IsNull()) {
    load_result result;
    reader_context ctx{std::string(source_name)};
    bool clean = true;
    try {
      read_document(doc, ctx, result.resources);
    } catch (const YAML::Exception&) {
      clean = false;
    }
    if (clean && ctx.diagnostics().empty()) {
      for (auto& r : result.resources) r.line = 1;
      return result;
    }
  }
  // JSON is YAML; serialising it indented gives diagnostics usable lines.
  return load_text(document.dump(2), source_name);
}

}  // namespace kairos::spec
