#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::cli {

// Block-style YAML for a JSON value. Strings that YAML would read back as
// something else (true, 1.5, null, "") are quoted; multi-line strings are
// literal blocks.
std::string to_yaml(const nlohmann::json& value);

// "json" (indented), "yaml", or an error naming the accepted formats.
result<std::string> render_object(const nlohmann::json& value, std::string_view format);

}  // namespace kairos::cli
