#pragma once

// sprig's string, encoding and list functions
// (github.com/Masterminds/sprig), shared by expr-lang's `sprig.*` calls and
// the Go templates of sensor parameters. Arguments are in Go's order, so a
// template pipeline `{{ .x | replace "a" "b" }}` calls replace("a", "b", x).

#include <optional>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::sprig {

bool has(std::string_view name);

// nullopt when `name` is not a sprig function kairos knows; otherwise the
// function's value or its error (wrong argument count or type).
std::optional<result<nlohmann::json>> call(std::string_view name,
                                           const std::vector<nlohmann::json>& args);

}  // namespace kairos::sprig
