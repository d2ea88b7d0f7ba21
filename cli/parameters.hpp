#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::cli {

using parameter_list = std::vector<std::pair<std::string, std::string>>;

// `name=value`, split at the first '=' so values may contain '=' themselves
// (`a==b` sets a to "=b"). The name must not be empty.
result<std::pair<std::string, std::string>> parse_parameter(std::string_view text);

// A YAML or JSON map of names to values. Scalars keep their text; lists and
// maps become compact JSON, which is what a template sees for them in Argo.
result<parameter_list> parse_parameter_text(std::string_view text, std::string_view source);
result<parameter_list> read_parameter_file(const std::filesystem::path& path);

// The file's entries first, then each -p flag; a later entry of the same name
// replaces an earlier one, so flags win over the file.
result<parameter_list> collect_parameters(const std::vector<std::string>& flags,
                                          const std::optional<std::filesystem::path>& file);

// Sets spec.arguments.parameters[name].value, appending parameters the
// workflow does not declare.
void apply_parameters(nlohmann::json& workflow, const parameter_list& parameters);

}  // namespace kairos::cli
