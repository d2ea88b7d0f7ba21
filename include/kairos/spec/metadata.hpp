#pragma once

#include <map>
#include <string>

namespace kairos::spec {

inline constexpr std::string_view default_namespace = "default";

// The subset of Kubernetes ObjectMeta that kairos keeps.
struct object_meta {
  std::string name;
  std::string generate_name;
  std::string namespace_{default_namespace};  // empty for cluster-scoped kinds
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // Set by the server; a manifest may carry them but they are not trusted.
  std::string uid;
  std::string resource_version;
  std::string creation_timestamp;
};

}  // namespace kairos::spec
