#pragma once

// gjson and sjson path syntax (github.com/tidwall/gjson, tidwall/sjson), the
// paths Argo Events uses in dataKey, data filters and trigger parameter
// `dest`. Supported: dotted keys, escaped dots (`a\.b`), array indexes
// (`items.0`), `#` (length) and `items.#.id` (collect), `#(key==value)` and
// `#(...)#` queries with == != < <= > >= % !%, and wildcards `*` `?` in keys.

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::json_path {

// The value at `path`, or nullopt when there is none (gjson's !Exists()).
std::optional<nlohmann::json> get(const nlohmann::json& doc, std::string_view path);

// gjson's Result.String(): strings unquoted, other values as compact JSON,
// missing as "".
std::string get_string(const nlohmann::json& doc, std::string_view path);

// gjson's Result.String() of a value already in hand (what get_string
// applies to the value it finds).
std::string to_string(const nlohmann::json& value);

// sjson.Set: sets `value` at `path`, creating objects and arrays on the way;
// index `-1` appends to an array. Errors on a malformed path.
result<void> set(nlohmann::json& doc, std::string_view path, nlohmann::json value);

}  // namespace kairos::json_path
