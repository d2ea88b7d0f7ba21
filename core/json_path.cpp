#include "kairos/core/json_path.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kairos/core/json_text.hpp"

namespace kairos::json_path {
namespace {

// Nested queries (`#(a.#(b==1))`) recurse; a path from an event or manifest
// must not be able to exhaust the stack.
constexpr int max_depth = 64;
// sjson pads arrays with nulls up to the index; bound what one path can
// allocate.
constexpr std::size_t max_set_index = 100000;

bool is_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<std::size_t> parse_index(std::string_view s) {
  if (!is_digits(s) || s.size() > 9) return std::nullopt;
  std::size_t v = 0;
  for (char c : s) v = v * 10 + static_cast<std::size_t>(c - '0');
  return v;
}

// gjson's match.Match: `*` any run, `?` one byte. Iterative with one
// backtrack point, so it is linear-ish and never recursive.
bool glob_match(std::string_view text, std::string_view pattern) {
  std::size_t t = 0, p = 0;
  std::size_t star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++t;
      ++p;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// One path component with its escapes removed; `wild` when an unescaped
// `*` or `?` makes it a pattern. (A pattern that also escapes `*` treats it
// as a wildcard; gjson users escape only dots in practice.)
struct key_part {
  std::string text;
  bool wild = false;
};

// Splits off the first component of a gjson path. Returns the raw component,
// and the separator that ended it ('.', '|' or '\0' at the end), and the rest.
struct split_result {
  std::string_view component;
  char separator = '\0';
  std::string_view rest;
};

split_result split_first(std::string_view path) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_string) {
      if (c == '"') in_string = false;
      continue;
    }
    if (depth > 0 && c == '"') {
      in_string = true;
      continue;
    }
    if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth > 0) --depth;
    } else if (depth == 0 && (c == '.' || c == '|')) {
      return {path.substr(0, i), c, path.substr(i + 1)};
    }
  }
  return {path, '\0', {}};
}

key_part unescape_key(std::string_view raw) {
  key_part k;
  k.text.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const char c = raw[i];
    if (c == '\\' && i + 1 < raw.size()) {
      k.text.push_back(raw[++i]);
      continue;
    }
    if (c == '*' || c == '?') k.wild = true;
    k.text.push_back(c);
  }
  return k;
}

enum class query_op { exists, eq, ne, lt, le, gt, ge, like, not_like };

struct query {
  std::string_view left;  // a path evaluated on each element; empty: the element
  query_op op = query_op::exists;
  std::optional<nlohmann::json> right;  // the literal
  bool all = false;                     // `#(...)#`
};

std::optional<nlohmann::json> parse_literal(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) return nlohmann::json(std::string());
  if (text.front() == '"') {
    auto parsed = parse_json(text);
    if (!parsed.is_discarded() && parsed.is_string()) return parsed;
    // gjson is lenient about a malformed literal: use what is inside.
    std::string_view inner = text.substr(1);
    if (!inner.empty() && inner.back() == '"') inner.remove_suffix(1);
    return nlohmann::json(std::string(inner));
  }
  if (text == "true") return nlohmann::json(true);
  if (text == "false") return nlohmann::json(false);
  if (text == "null") return nlohmann::json(nullptr);
  if (text.front() == '-' || (text.front() >= '0' && text.front() <= '9')) {
    auto parsed = parse_json(text);
    if (!parsed.is_discarded() && parsed.is_number()) return parsed;
  }
  // A bare word compares as a string.
  return nlohmann::json(std::string(text));
}

// `component` starts with "#(". Returns nullopt for an unterminated query.
std::optional<query> parse_query(std::string_view component) {
  // Find the matching ')'.
  int depth = 0;
  bool in_string = false;
  std::size_t close = std::string_view::npos;
  for (std::size_t i = 1; i < component.size(); ++i) {
    const char c = component[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_string) {
      if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (--depth == 0) {
        close = i;
        break;
      }
    }
  }
  if (close == std::string_view::npos) return std::nullopt;
  query q;
  const std::string_view tail = component.substr(close + 1);
  if (tail == "#") {
    q.all = true;
  } else if (!tail.empty()) {
    return std::nullopt;
  }
  const std::string_view body = component.substr(2, close - 2);
  // The operator is the first of = ! < > % outside nested parentheses and
  // strings.
  depth = 0;
  in_string = false;
  for (std::size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (in_string) {
      if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c == '(') {
      ++depth;
      continue;
    }
    if (c == ')') {
      --depth;
      continue;
    }
    if (depth != 0) continue;
    std::size_t op_len = 0;
    const std::string_view rest = body.substr(i);
    if (rest.starts_with("==")) {
      q.op = query_op::eq, op_len = 2;
    } else if (rest.starts_with("!=")) {
      q.op = query_op::ne, op_len = 2;
    } else if (rest.starts_with("!%")) {
      q.op = query_op::not_like, op_len = 2;
    } else if (rest.starts_with("<=")) {
      q.op = query_op::le, op_len = 2;
    } else if (rest.starts_with(">=")) {
      q.op = query_op::ge, op_len = 2;
    } else if (c == '=') {
      q.op = query_op::eq, op_len = 1;
    } else if (c == '<') {
      q.op = query_op::lt, op_len = 1;
    } else if (c == '>') {
      q.op = query_op::gt, op_len = 1;
    } else if (c == '%') {
      q.op = query_op::like, op_len = 1;
    }
    if (op_len != 0) {
      std::string_view left = body.substr(0, i);
      while (!left.empty() && left.back() == ' ') left.remove_suffix(1);
      while (!left.empty() && left.front() == ' ') left.remove_prefix(1);
      q.left = left;
      q.right = parse_literal(body.substr(i + op_len));
      return q;
    }
  }
  std::string_view left = body;
  while (!left.empty() && left.back() == ' ') left.remove_suffix(1);
  while (!left.empty() && left.front() == ' ') left.remove_prefix(1);
  q.left = left;
  return q;
}

template <class T>
bool compare(query_op op, const T& a, const T& b) {
  switch (op) {
    case query_op::eq:
      return a == b;
    case query_op::ne:
      return a != b;
    case query_op::lt:
      return a < b;
    case query_op::le:
      return a <= b;
    case query_op::gt:
      return a > b;
    case query_op::ge:
      return a >= b;
    default:
      return false;
  }
}

std::optional<nlohmann::json> eval(const nlohmann::json& value, std::string_view path, int depth);

bool matches(const nlohmann::json& element, const query& q, int depth) {
  const auto found =
      q.left.empty() ? std::optional<nlohmann::json>(element) : eval(element, q.left, depth + 1);
  if (!found) return false;
  if (q.op == query_op::exists) return true;
  const nlohmann::json& v = *found;
  const nlohmann::json& r = *q.right;
  // As in gjson, a literal only compares with a value of its own type.
  if (r.is_string()) {
    if (!v.is_string()) return false;
    const auto& a = v.get_ref<const std::string&>();
    const auto& b = r.get_ref<const std::string&>();
    if (q.op == query_op::like) return glob_match(a, b);
    if (q.op == query_op::not_like) return !glob_match(a, b);
    return compare(q.op, a, b);
  }
  if (r.is_number()) {
    if (!v.is_number()) return false;
    return compare(q.op, v.get<double>(), r.get<double>());
  }
  if (r.is_boolean()) {
    if (!v.is_boolean()) return false;
    return compare(q.op, static_cast<int>(v.get<bool>()), static_cast<int>(r.get<bool>()));
  }
  if (r.is_null()) {
    if (q.op == query_op::eq) return v.is_null();
    if (q.op == query_op::ne) return !v.is_null();
  }
  return false;
}

std::optional<nlohmann::json> eval(const nlohmann::json& value, std::string_view path, int depth) {
  if (depth > max_depth) return std::nullopt;
  if (path.empty()) return value;
  const auto [component, separator, rest] = split_first(path);

  if (component.starts_with("#(")) {
    const auto q = parse_query(component);
    if (!q || !value.is_array()) return std::nullopt;
    if (!q->all) {
      for (const auto& element : value)
        if (matches(element, *q, depth)) return eval(element, rest, depth + 1);
      return std::nullopt;
    }
    nlohmann::json hits = nlohmann::json::array();
    for (const auto& element : value)
      if (matches(element, *q, depth)) hits.push_back(element);
    if (separator == '|' || rest.empty()) return eval(hits, rest, depth + 1);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& element : hits)
      if (auto v = eval(element, rest, depth + 1)) out.push_back(std::move(*v));
    return out;
  }

  if (component == "#") {
    if (!value.is_array()) return std::nullopt;
    if (rest.empty()) return nlohmann::json(value.size());
    if (separator == '|') return eval(nlohmann::json(value.size()), rest, depth + 1);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& element : value)
      if (auto v = eval(element, rest, depth + 1)) out.push_back(std::move(*v));
    return out;
  }

  const key_part key = unescape_key(component);
  if (value.is_object()) {
    if (!key.wild) {
      const auto it = value.find(key.text);
      if (it == value.end()) return std::nullopt;
      return eval(*it, rest, depth + 1);
    }
    for (const auto& [name, child] : value.items())
      if (glob_match(name, key.text)) return eval(child, rest, depth + 1);
    return std::nullopt;
  }
  if (value.is_array()) {
    const auto index = parse_index(key.text);
    if (key.wild || !index || *index >= value.size()) return std::nullopt;
    return eval(value[*index], rest, depth + 1);
  }
  return std::nullopt;
}

std::string format_number(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
    return fmt::format("{}", static_cast<std::int64_t>(d));
  return fmt::format("{}", d);
}

// One component of an sjson path.
struct set_part {
  std::string key;
  bool forced_key = false;  // `:123` names an object key even if numeric
};

result<std::vector<set_part>> parse_set_path(std::string_view path) {
  if (path.empty()) return make_error(errc::invalid_argument, "path is empty");
  std::vector<set_part> parts;
  set_part current;
  bool at_start = true;
  for (std::size_t i = 0; i < path.size(); ++i) {
    const char c = path[i];
    if (c == '\\') {
      if (i + 1 >= path.size())
        return make_error(errc::invalid_argument,
                          fmt::format("path \"{}\": dangling escape at the end", path));
      current.key.push_back(path[++i]);
      at_start = false;
      continue;
    }
    if (c == ':' && at_start) {
      current.forced_key = true;
      at_start = false;
      continue;
    }
    if (c == '.') {
      if (current.key.empty() && !current.forced_key)
        return make_error(errc::invalid_argument,
                          fmt::format("path \"{}\": empty key at column {}", path, i + 1));
      parts.push_back(std::move(current));
      current = {};
      at_start = true;
      continue;
    }
    if (c == '*' || c == '?' || c == '#' || c == '|' || c == '(' || c == ')')
      return make_error(
          errc::invalid_argument,
          fmt::format("path \"{}\": '{}' at column {} is not allowed when setting a value", path, c,
                      i + 1));
    current.key.push_back(c);
    at_start = false;
  }
  if (current.key.empty() && !current.forced_key)
    return make_error(errc::invalid_argument,
                      fmt::format("path \"{}\": empty key at the end", path));
  parts.push_back(std::move(current));
  return parts;
}

bool is_array_index(const set_part& p) {
  return !p.forced_key && (p.key == "-1" || is_digits(p.key));
}

}  // namespace

std::optional<nlohmann::json> get(const nlohmann::json& doc, std::string_view path) {
  if (path.empty()) return std::nullopt;  // gjson: an empty path finds nothing
  return eval(doc, path, 0);
}

std::string to_string(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::string:
      return value.get<std::string>();
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return {};
    case nlohmann::json::value_t::boolean:
      return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::number_integer:
      return std::to_string(value.get<std::int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return std::to_string(value.get<std::uint64_t>());
    case nlohmann::json::value_t::number_float:
      return format_number(value.get<double>());
    default:
      return dump_json_replacing(value);
  }
}

std::string get_string(const nlohmann::json& doc, std::string_view path) {
  const auto v = get(doc, path);
  return v ? to_string(*v) : std::string();
}

result<void> set(nlohmann::json& doc, std::string_view path, nlohmann::json value) {
  auto parsed = parse_set_path(path);
  if (!parsed) return std::move(parsed).error();
  const auto& parts = *parsed;
  nlohmann::json* node = &doc;
  for (const auto& part : parts) {
    const bool index = is_array_index(part);
    // A missing or scalar container is replaced by the kind the key asks for,
    // as sjson does.
    if (!node->is_object() && !node->is_array())
      *node = index ? nlohmann::json::array() : nlohmann::json::object();
    if (node->is_object()) {
      node = &(*node)[part.key];
      continue;
    }
    if (!index)
      return make_error(
          errc::invalid_argument,
          fmt::format("path \"{}\": key \"{}\" names a field of an array", path, part.key));
    if (part.key == "-1") {
      node->push_back(nullptr);
      node = &node->back();
      continue;
    }
    const auto i = parse_index(part.key);
    if (!i || *i > max_set_index)
      return make_error(errc::invalid_argument,
                        fmt::format("path \"{}\": index {} is too large", path, part.key));
    while (node->size() <= *i) node->push_back(nullptr);
    node = &(*node)[*i];
  }
  *node = std::move(value);
  return {};
}

}  // namespace kairos::json_path
