#pragma once

// Expression languages that Argo manifests embed, evaluated over JSON:
//  - expr-lang (github.com/expr-lang/expr), the common part: literals,
//    arithmetic, comparison, `and or not && || !`, `in`, ternary `?:`, `??`,
//    member and index access, string concatenation, `matches`,
//    `contains startsWith endsWith`, and functions (asInt, asFloat, string,
//    int, float, len, toJson, fromJson? no: jsonpath, lower, upper, trim,
//    split, join, filter/map/all/any/none/one over arrays, sprig.* string
//    functions). Used by `{{=expr}}`, retryStrategy.expression,
//    valueFrom.expression, depends (after translation), cron `when` and
//    stopStrategy, and sensor `exprs`.
//  - govaluate (github.com/Knetic/govaluate), what Argo uses for `when`:
//    numbers compare as numbers, other operands as strings, `=~` and `!~`
//    are regex matches, `&& || !`, parentheses, and bare words are strings.
// Evaluation never throws and never crashes on untrusted input; errors carry
// the column of the offending token.

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::expr {

// Evaluates an expr-lang expression. Identifiers resolve against `env`
// (an object); `a.b` and `a["b"]` index into it. A missing key is nil
// (null), as in expr-lang; a call of an unknown function is an error.
result<nlohmann::json> evaluate(std::string_view source, const nlohmann::json& env);

// expr-lang, requiring a boolean result.
result<bool> evaluate_bool(std::string_view source, const nlohmann::json& env);

// Checks syntax only (for submit-time validation).
result<void> check(std::string_view source);

// govaluate semantics, over text in which Argo has already substituted
// {{...}} variables; `parameters` supplies any remaining bare identifiers
// (sensor `exprs` filters and `conditions` use it).
result<bool> evaluate_govaluate(std::string_view source,
                                const nlohmann::json& parameters = nlohmann::json::object());

// Quotes a string as an expr-lang string literal.
std::string quote(std::string_view s);

}  // namespace kairos::expr
