#pragma once

// expr-lang lexer and parser: source text to an AST the evaluator walks.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::expr::detail {

// Deeper nesting than this is rejected rather than risking the stack.
inline constexpr int max_depth = 256;
inline constexpr int max_height = 1024;

enum class node_kind {
  literal,  // value
  ident,    // name
  pointer,  // `#` (name empty) or `#index` / `#acc`
  array,    // kids: elements
  map,      // kids: key, value, key, value...
  unary,    // name: operator; kids[0]
  binary,   // name: operator; kids[0], kids[1]
  ternary,  // kids: cond, then, else
  member,   // kids[0]; name: field; optional
  index,    // kids[0], kids[1]; optional
  slice,    // kids[0], from (or null), to (or null)
  call,     // name: function; kids: arguments; sprig when called as sprig.x
  closure,  // kids[0]: the body, evaluated per element by a builtin
  chain,    // kids[0]: a member/index chain with `?.` somewhere
};

struct node {
  node_kind kind = node_kind::literal;
  std::size_t column = 1;  // 1-based, of the token that produced the node
  int height = 1;          // of the subtree rooted here
  std::string name;
  nlohmann::json value;
  bool optional = false;
  bool sprig = false;
  bool negate = false;  // `not in`, `not matches`, ...
  std::vector<std::unique_ptr<node>> kids;
};

using node_ptr = std::unique_ptr<node>;

// Parses a whole expression; errors carry "column N".
result<node_ptr> parse(std::string_view source);

std::string column_message(std::size_t column, std::string_view message);

}  // namespace kairos::expr::detail
