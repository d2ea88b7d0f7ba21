#pragma once

#include <string>
#include <vector>

namespace kairos::spec {

// One problem found while loading a manifest. Rendered as
// `file:line:col: path: message`, e.g.
// `sensor.yaml:14:9: spec.triggers[0].template.http.url: not an absolute URL`.
struct diagnostic {
  std::string file;
  int line = 0;      // 1-based; 0 when unknown
  int column = 0;    // 1-based; 0 when unknown
  std::string path;  // YAML path such as spec.templates[2].dag.tasks[0].name
  std::string message;

  std::string to_string() const;
};

std::string to_string(const std::vector<diagnostic>& diagnostics);

}  // namespace kairos::spec
