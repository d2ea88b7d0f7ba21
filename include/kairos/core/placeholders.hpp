#pragma once

// Argo's `{{...}}` substitution. `{{name}}` is looked up by the caller (the
// engine knows its scopes: inputs.*, workflow.*, tasks.*, item, ...);
// `{{=expr}}` is evaluated as expr-lang over `expr_env`. Whitespace inside
// the braces is trimmed, as Argo does.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::placeholders {

using lookup_fn = std::function<std::optional<std::string>(std::string_view name)>;

struct options {
  // Leave `{{name}}` untouched when lookup returns nullopt (Argo does this
  // for variables resolved later, e.g. outputs in a template body).
  // Otherwise an unresolved name is an error naming it.
  bool keep_unresolved = false;
};

result<std::string> substitute(std::string_view text, const lookup_fn& lookup,
                               const nlohmann::json& expr_env, const options& opts = {});

// The names of every `{{name}}` in `text` (not the `{{=...}}` ones), in
// order of appearance; used to validate references at submit.
std::vector<std::string> references(std::string_view text);

}  // namespace kairos::placeholders
