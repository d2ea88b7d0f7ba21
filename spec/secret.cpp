#include "kairos/spec/secret.hpp"

#include <fstream>
#include <sstream>

namespace kairos::spec {

namespace {
// Kubernetes names and keys: a path component, never a traversal.
bool is_safe_component(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

secret_resolver::secret_resolver(std::filesystem::path data_dir)
    : root_(std::move(data_dir) / "secrets") {}

std::filesystem::path secret_resolver::path_of(const secret_key_selector& ref) const {
  return root_ / ref.name / ref.key;
}

result<secret_value> secret_resolver::resolve(const secret_key_selector& ref) const {
  if (!is_safe_component(ref.name))
    return make_error(errc::invalid_argument, "secret name '" + ref.name + "' is not a valid name");
  if (!is_safe_component(ref.key))
    return make_error(errc::invalid_argument, "secret key '" + ref.key + "' is not a valid key");
  const auto path = path_of(ref);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (ref.optional) return secret_value{};
    return make_error(errc::not_found, "secret " + ref.name + "/" + ref.key +
                                           " not found: expected the file " + path.string());
  }
  std::ostringstream content;
  content << in.rdbuf();
  return secret_value{content.str()};
}

}  // namespace kairos::spec
