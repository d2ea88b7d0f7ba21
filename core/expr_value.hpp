#pragma once

// Value helpers shared by the expr-lang and govaluate evaluators, sprig and
// placeholder substitution. Values are JSON; these functions give them Go's
// semantics where Argo's output depends on it (number formatting, %v).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/core/text.hpp"

namespace kairos::expr::detail {

using json = nlohmann::json;

// "int", "float", "string", "bool", "nil", "array", "map".
std::string_view type_name(const json& v);

bool is_int(const json& v);            // signed or unsigned integer
std::int64_t to_int64(const json& v);  // requires v.is_number()
double to_double(const json& v);       // requires v.is_number()

// Structural equality where 1 == 1.0, as expr-lang's runtime.Equal.
bool values_equal(const json& a, const json& b);

// Go's strconv 'g' shortest formatting as fmt's %v prints a float64.
std::string format_float_v(double d);
// Go's encoding/json float formatting (integral values without ".0").
std::string format_float_json(double d);

// Compact (or two-space indented) JSON with Go's number formatting.
std::string to_json(const json& v, bool pretty = false);

// fmt.Sprintf("%v", v): strings raw, maps as map[k:v], arrays as [a b].
std::string sprint_v(const json& v);

// What `{{=expr}}` inserts: strings raw, everything else compact JSON.
std::string to_display(const json& v);

// Go's strconv.Atoi / ParseInt(s, 0, 64) / ParseFloat.
std::optional<std::int64_t> parse_int(std::string_view s, bool allow_base_prefix = false);
std::optional<double> parse_float(std::string_view s);

// UTF-8 aware helpers (Go's strings are bytes, but len/index of expr-lang
// count runes).
std::vector<std::string> split_runes(std::string_view s);
std::size_t rune_count(std::string_view s);

// Wrapping int64 arithmetic (Go's overflow behaviour, no UB).
inline std::int64_t wrap_add(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(b));
}
inline std::int64_t wrap_sub(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
inline std::int64_t wrap_mul(std::int64_t a, std::int64_t b) {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) * static_cast<std::uint64_t>(b));
}
// Float to int64 the way Go converts in practice, without UB out of range.
std::int64_t double_to_int64(double d);

using kairos::base64_decode;
using kairos::base64_encode;

}  // namespace kairos::expr::detail
