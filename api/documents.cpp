#include "documents.hpp"

#include <charconv>

#include "kairos/spec/loader.hpp"

namespace kairos::api {

namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

error bad_request(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

}  // namespace

result<nlohmann::json> parse_body(std::string_view body) {
  if (trim(body).empty()) return bad_request("request body is empty; expected a JSON object");
  // nlohmann would stop at a NUL as if the body ended there.
  if (const auto nul = body.find('\0'); nul != std::string_view::npos)
    return bad_request("malformed JSON body at byte " + std::to_string(nul + 1) + ": a NUL byte");
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return bad_request("malformed JSON body at byte " + std::to_string(e.byte) + ": " + e.what());
  }
}

std::string check_dns1123_subdomain(std::string_view name, std::size_t max) {
  const std::string rule =
      "must be a DNS-1123 subdomain: lower case alphanumeric characters, '-' or '.', starting and "
      "ending with an alphanumeric character, at most " +
      std::to_string(max) + " characters";
  if (name.empty() || name.size() > max) return rule;
  for (char c : name)
    if (!is_lower_alnum(c) && c != '-' && c != '.') return rule;
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back())) return rule;
  return {};
}

std::string check_namespace(std::string_view ns) {
  const std::string rule =
      "must be a DNS-1123 label: lower case alphanumeric characters or '-', starting and ending "
      "with an alphanumeric character, at most 63 characters";
  if (ns.empty() || ns.size() > 63) return rule;
  for (char c : ns)
    if (!is_lower_alnum(c) && c != '-') return rule;
  if (!is_lower_alnum(ns.front()) || !is_lower_alnum(ns.back())) return rule;
  return {};
}

result<nlohmann::json> unwrap_manifest(const nlohmann::json& body, std::string_view wrapper_key) {
  if (!body.is_object()) return bad_request("request body must be a JSON object");
  const std::string key(wrapper_key);
  if (auto it = body.find(key); it != body.end()) {
    if (!it->is_object()) return bad_request("\"" + key + "\" must be a JSON object");
    return *it;
  }
  if (body.contains("metadata") || body.contains("kind") || body.contains("spec")) return body;
  return bad_request("request body must contain \"" + key + "\" with the manifest");
}

result<spec::resource> validate_manifest(nlohmann::json manifest, spec::kind kind,
                                         const std::string& path_namespace,
                                         const std::string* path_name) {
  if (!manifest.is_object()) return bad_request("the manifest must be a JSON object");
  const std::string kind_name(spec::kind_name(kind));

  // Argo's server takes typed objects, so clients often leave these out.
  if (!manifest.contains("apiVersion")) manifest["apiVersion"] = std::string(spec::api_version);
  if (auto k = manifest.find("kind"); k == manifest.end()) {
    manifest["kind"] = kind_name;
  } else if (k->is_string() && spec::parse_kind(k->get<std::string>()) &&
             k->get<std::string>() != kind_name) {
    return bad_request("kind: this endpoint takes " + kind_name + ", not " + k->get<std::string>());
  }

  auto& meta = manifest["metadata"];
  if (meta.is_null()) meta = nlohmann::json::object();
  if (!meta.is_object()) return bad_request("metadata: must be an object");

  if (spec::is_namespaced(kind)) {
    if (auto ns = meta.find("namespace");
        ns == meta.end() || ns->is_null() || (ns->is_string() && ns->get<std::string>().empty())) {
      meta["namespace"] = path_namespace;
    } else if (!ns->is_string()) {
      return bad_request("metadata.namespace: must be a string");
    } else if (ns->get<std::string>() != path_namespace) {
      return bad_request("metadata.namespace: '" + ns->get<std::string>() +
                         "' does not match the namespace in the request path '" + path_namespace +
                         "'");
    }
  }

  if (path_name) {
    if (auto n = meta.find("name"); n == meta.end() || n->is_null()) {
      meta["name"] = *path_name;
    } else if (!n->is_string() || n->get<std::string>() != *path_name) {
      return bad_request("metadata.name: does not match the name in the request path '" +
                         *path_name + "'");
    }
  }

  if (auto n = meta.find("name"); n != meta.end() && n->is_string()) {
    const auto name = n->get<std::string>();
    const std::size_t max = kind == spec::kind::workflow ? 63 : 253;
    if (auto why = check_dns1123_subdomain(name, max); !why.empty())
      return bad_request("metadata.name: invalid name '" + name + "': " + why);
  }

  auto loaded = spec::load_json(manifest, "request");
  if (!loaded.ok()) return bad_request(spec::to_string(loaded.diagnostics));
  if (loaded.resources.size() != 1)
    return bad_request("expected exactly one manifest, got " +
                       std::to_string(loaded.resources.size()));
  auto r = std::move(loaded.resources.front());
  if (r.kind != kind) return bad_request("kind: this endpoint takes " + kind_name);
  return r;
}

result<std::optional<std::int64_t>> manifest_resource_version(const nlohmann::json& manifest) {
  const auto meta = manifest.find("metadata");
  if (meta == manifest.end() || !meta->is_object()) return std::optional<std::int64_t>{};
  const auto rv = meta->find("resourceVersion");
  if (rv == meta->end() || rv->is_null()) return std::optional<std::int64_t>{};
  if (rv->is_number_integer()) return std::optional<std::int64_t>{rv->get<std::int64_t>()};
  if (rv->is_string()) {
    const auto text = rv->get<std::string>();
    if (text.empty()) return std::optional<std::int64_t>{};
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size())
      return std::optional<std::int64_t>{value};
  }
  return bad_request(
      "metadata.resourceVersion: expected a decimal version as the server returned it");
}

nlohmann::json render(const store::resource_record& r) {
  nlohmann::json body = r.body.is_object() ? r.body : nlohmann::json::object();
  auto& meta = body["metadata"];
  if (!meta.is_object()) meta = nlohmann::json::object();
  meta["name"] = r.name;
  if (!r.namespace_.empty()) meta["namespace"] = r.namespace_;
  if (!r.uid.empty()) meta["uid"] = r.uid;
  meta["resourceVersion"] = std::to_string(r.resource_version);
  if (!r.created_at.empty()) meta["creationTimestamp"] = r.created_at;
  return body;
}

nlohmann::json render(const store::workflow_record& w) {
  nlohmann::json body = w.body.is_object() ? w.body : nlohmann::json::object();
  auto& meta = body["metadata"];
  if (!meta.is_object()) meta = nlohmann::json::object();
  meta["name"] = w.name;
  meta["namespace"] = w.namespace_;
  if (!w.uid.empty()) meta["uid"] = w.uid;
  meta["resourceVersion"] = std::to_string(w.resource_version);
  if (!w.created_at.empty()) meta["creationTimestamp"] = w.created_at;
  if (!w.phase.empty()) {
    auto& status = body["status"];
    if (!status.is_object()) status = nlohmann::json::object();
    if (!status.contains("phase")) status["phase"] = w.phase;
  }
  return body;
}

result<std::vector<label_term>> parse_label_selector(std::string_view selector) {
  std::vector<label_term> out;
  std::size_t start = 0;
  while (start <= selector.size()) {
    auto comma = selector.find(',', start);
    if (comma == std::string_view::npos) comma = selector.size();
    const auto term = trim(selector.substr(start, comma - start));
    start = comma + 1;
    if (term.empty()) continue;
    label_term t;
    std::size_t op = term.find("!=");
    std::size_t op_len = 2;
    if (op != std::string_view::npos) {
      t.equal = false;
    } else if ((op = term.find("==")) == std::string_view::npos) {
      op = term.find('=');
      op_len = 1;
    }
    if (op == std::string_view::npos || op == 0)
      return bad_request("listOptions.labelSelector: unsupported term '" + std::string(term) +
                         "'; only key=value, key==value and key!=value are supported");
    t.key = std::string(trim(term.substr(0, op)));
    t.value = std::string(trim(term.substr(op + op_len)));
    out.push_back(std::move(t));
  }
  return out;
}

bool labels_match(const nlohmann::json& manifest, const std::vector<label_term>& selector) {
  if (selector.empty()) return true;
  const nlohmann::json* labels = nullptr;
  if (auto meta = manifest.find("metadata"); meta != manifest.end() && meta->is_object()) {
    if (auto l = meta->find("labels"); l != meta->end() && l->is_object()) labels = &*l;
  }
  for (const auto& term : selector) {
    std::optional<std::string> value;
    if (labels) {
      if (auto it = labels->find(term.key); it != labels->end() && it->is_string())
        value = it->get<std::string>();
    }
    const bool same = value && *value == term.value;
    if (term.equal != same) return false;
  }
  return true;
}

result<std::pair<std::string, std::string>> split_assignment(std::string_view text,
                                                             std::string_view what) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return bad_request(std::string(what) + ": expected name=value, got '" + std::string(text) +
                       "'");
  return std::pair{std::string(trim(text.substr(0, eq))), std::string(text.substr(eq + 1))};
}

}  // namespace kairos::api
