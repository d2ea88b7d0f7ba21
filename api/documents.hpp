#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/resource.hpp"
#include "kairos/store/store.hpp"

// Turning request bodies into validated manifests and stored records back
// into response bodies. Nothing here does I/O, so it is tested directly.
namespace kairos::api {

// Parses a request body; a parse error names the byte position.
result<nlohmann::json> parse_body(std::string_view body);

// Empty when `name` is a DNS-1123 subdomain of at most `max` characters,
// otherwise the rule it breaks.
std::string check_dns1123_subdomain(std::string_view name, std::size_t max = 253);
// Empty when `ns` is a DNS-1123 label (what Kubernetes requires of namespaces).
std::string check_namespace(std::string_view ns);

// Takes the manifest out of an Argo request body: `body[wrapper_key]` when
// present, else the body itself when it looks like a manifest.
result<nlohmann::json> unwrap_manifest(const nlohmann::json& body, std::string_view wrapper_key);

// Validates a manifest for an endpoint that takes `kind`: the kind must
// match, metadata.namespace defaults to `path_namespace` and may not differ
// from it, metadata.name must equal `path_name` when one is given, names must
// be DNS-1123, and the spec loader must accept the document.
result<spec::resource> validate_manifest(nlohmann::json manifest, spec::kind kind,
                                         const std::string& path_namespace,
                                         const std::string* path_name = nullptr);

// metadata.resourceVersion of a manifest, when it carries one.
result<std::optional<std::int64_t>> manifest_resource_version(const nlohmann::json& manifest);

// The stored body with the columns the store owns written into metadata, so
// a response is right whether or not the store already put them there.
nlohmann::json render(const store::resource_record& r);
nlohmann::json render(const store::workflow_record& w);

// `listOptions.labelSelector`: k=v, k==v and k!=v terms, comma-separated.
struct label_term {
  std::string key;
  std::string value;
  bool equal = true;
};
result<std::vector<label_term>> parse_label_selector(std::string_view selector);
bool labels_match(const nlohmann::json& manifest, const std::vector<label_term>& selector);

// "k=v,k2=v2" (submitOptions.labels) and "k=v" (submitOptions.parameters).
result<std::pair<std::string, std::string>> split_assignment(std::string_view text,
                                                             std::string_view what);

}  // namespace kairos::api
