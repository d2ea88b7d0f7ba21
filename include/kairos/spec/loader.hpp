#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/spec/diagnostic.hpp"
#include "kairos/spec/resource.hpp"

namespace kairos::spec {

// Everything a load produced. A document with any error contributes no
// resource; the other documents of the file still load, so `kairos lint`
// reports every problem in one pass.
struct load_result {
  std::vector<resource> resources;
  std::vector<diagnostic> diagnostics;

  bool ok() const noexcept { return diagnostics.empty(); }
};

// YAML (one or more `---`-separated documents) or JSON (a JSON document is
// YAML). `source_name` is the file name that diagnostics carry.
load_result load_text(std::string_view text, std::string_view source_name);
load_result load_file(const std::filesystem::path& path);
// Every *.yaml, *.yml and *.json below `dir`, in sorted path order.
load_result load_directory(const std::filesystem::path& dir);
// A document received as JSON (API request bodies); positions in diagnostics
// refer to the document's compact serialisation.
load_result load_json(const nlohmann::json& document, std::string_view source_name);

}  // namespace kairos::spec
