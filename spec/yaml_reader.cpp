#include "yaml_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <regex>

#include "kairos/core/text.hpp"

namespace kairos::spec {

void reader_context::error(const yaml_mark& mark, std::string path, std::string message) {
  diagnostic d;
  d.file = file_;
  // Marks are 0-based and -1 when unknown.
  d.line = mark.line >= 0 ? mark.line + 1 : 0;
  d.column = mark.column >= 0 ? mark.column + 1 : 0;
  d.path = std::move(path);
  d.message = std::move(message);
  diagnostics_.push_back(std::move(d));
}

std::string child_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
  std::string out(parent);
  out += '[';
  out += std::to_string(index);
  out += ']';
  return out;
}

namespace {

bool is_plain(const yaml_node& node) {
  return node.tag() == "?" || node.tag().empty();
}

std::optional<bool> parse_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string_view digits = s;
  bool negative = false;
  if (digits.front() == '+' || digits.front() == '-') {
    negative = digits.front() == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
    base = digits[1] == 'x' ? 16 : 8;
    digits.remove_prefix(2);
  }
  if (digits.empty()) return std::nullopt;
  std::uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  const auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (magnitude > limit + (negative ? 1 : 0)) return std::nullopt;
  if (negative) return static_cast<std::int64_t>(0 - magnitude);
  return static_cast<std::int64_t>(magnitude);
}

std::optional<double> parse_float(std::string_view s) {
  static const std::regex pattern(R"([-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?)");
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf")
    return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -std::numeric_limits<double>::infinity();
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::numeric_limits<double>::quiet_NaN();
  // Most plain scalars are names; the pattern is dear to try on each.
  if (s.find_first_not_of("0123456789.eE+-") != std::string_view::npos) return std::nullopt;
  if (!std::regex_match(s.begin(), s.end(), pattern)) return std::nullopt;
  try {
    return std::stod(std::string(s));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string describe(const yaml_node& node) {
  if (node.is_map()) return "a mapping";
  if (node.is_sequence()) return "a list";
  if (node.is_null()) return "nothing";
  return "'" + node.scalar() + "'";
}

}  // namespace

nlohmann::json yaml_to_json(const yaml_node& node) {
  using node_type = yaml_node::node_type;
  switch (node.type()) {
    case node_type::undefined:
    case node_type::null:
      return nullptr;
    case node_type::sequence: {
      auto out = nlohmann::json::array();
      for (const auto* item : node.items()) out.push_back(yaml_to_json(*item));
      return out;
    }
    case node_type::map: {
      auto out = nlohmann::json::object();
      for (const auto& e : node.entries()) out[e.key->scalar()] = yaml_to_json(*e.value);
      return out;
    }
    case node_type::scalar: {
      const std::string& s = node.scalar();
      const std::string& tag = node.tag();
      if (tag == "tag:yaml.org,2002:str" || !is_plain(node)) return s;
      if (is_null_text(s)) return nullptr;
      if (auto b = parse_bool(s)) return *b;
      if (auto i = parse_int(s)) return *i;
      if (auto f = parse_float(s); f && std::isfinite(*f)) return *f;
      return s;
    }
  }
  return nullptr;
}

bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                std::string& out) {
  if (node.is_null()) {
    out.clear();
    return true;
  }
  if (!node.is_scalar()) {
    ctx.error(node, path, "expected a string, got " + describe(node));
    return false;
  }
  out = node.scalar();
  return true;
}

bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, bool& out) {
  if (node.is_scalar()) {
    if (auto b = parse_bool(node.scalar())) {
      out = *b;
      return true;
    }
  }
  ctx.error(node, path, "expected true or false, got " + describe(node));
  return false;
}

bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                std::int64_t& out) {
  if (node.is_scalar()) {
    if (auto i = parse_int(node.scalar())) {
      out = *i;
      return true;
    }
  }
  ctx.error(node, path, "expected an integer, got " + describe(node));
  return false;
}

bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, int& out) {
  std::int64_t wide = 0;
  if (!read_value(node, path, ctx, wide)) return false;
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
    ctx.error(node, path, "integer out of range: " + node.scalar());
    return false;
  }
  out = static_cast<int>(wide);
  return true;
}

bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, double& out) {
  if (node.is_scalar()) {
    if (auto f = parse_float(node.scalar()); f && std::isfinite(*f)) {
      out = *f;
      return true;
    }
  }
  ctx.error(node, path, "expected a number, got " + describe(node));
  return false;
}

bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                nlohmann::json& out) {
  out = yaml_to_json(node);
  return true;
}

map_reader::map_reader(const yaml_node& node, std::string path, reader_context& ctx)
    : node_(&node), path_(std::move(path)), ctx_(ctx), errors_at_start_(ctx.error_count()) {
  // `key:` with nothing after it is an empty mapping, as in `emptyDir:`.
  valid_ = node.is_map() || node.is_null();
  if (!valid_) {
    ctx_.error(node, path_, "expected a mapping, got " + describe(node));
    return;
  }
  if (node.is_map()) {
    entries_.reserve(node.size());
    for (const auto& e : node.entries()) {
      if (!e.key->is_scalar()) {
        ctx_.error(*e.key, path_, "expected a string key");
        continue;
      }
      const std::string& key = e.key->scalar();
      const bool duplicate = std::any_of(entries_.begin(), entries_.end(), [&](const auto& known) {
        return known.key->scalar() == key;
      });
      // The first one is the one read, as before.
      if (duplicate) ctx_.error(*e.key, child_path(path_, key), "duplicate key");
      entries_.push_back({e.key, e.value, duplicate});
    }
  }
}

const yaml_node* map_reader::find(std::string_view key) const {
  for (const auto& e : entries_) {
    if (!e.repeated && e.key->scalar() == key) return e.value;
  }
  return nullptr;
}

const yaml_node& map_reader::lookup(std::string_view key) const {
  if (const auto* value = find(key)) return *value;
  return yaml_node::undefined();
}

void map_reader::declare(std::string_view key) {
  if (std::find(declared_.begin(), declared_.end(), key) == declared_.end())
    declared_.emplace_back(key);
}

bool map_reader::optional_enum(std::string_view key, std::string& out,
                               std::initializer_list<std::string_view> allowed) {
  declare(key);
  const yaml_node* value = find(key);
  if (value == nullptr) return true;
  std::string s;
  if (!read_value(*value, child_path(path_, key), ctx_, s)) return false;
  if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) {
    std::string choices;
    for (auto a : allowed) {
      if (!choices.empty()) choices += ", ";
      choices += a;
    }
    std::string message = "'" + s + "' is not one of " + choices;
    std::vector<std::string_view> candidates(allowed);
    if (auto hint = closest_match(s, candidates)) message += " (did you mean " + *hint + "?)";
    ctx_.error(*value, child_path(path_, key), std::move(message));
    return false;
  }
  out = std::move(s);
  return true;
}

void map_reader::unsupported(std::string_view key, std::string_view why) {
  declare(key);
  const yaml_node* value = find(key);
  if (value == nullptr) return;
  std::string message = "not supported by kairos";
  if (!why.empty()) {
    message += ": ";
    message += why;
  }
  ctx_.error(*value, child_path(path_, key), std::move(message));
}

void map_reader::unsupported(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) unsupported(k);
}

void map_reader::ignored(std::string_view key) {
  declare(key);
}

void map_reader::ignored(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) declare(k);
}

void map_reader::error(std::string_view key, std::string message) {
  const yaml_node* value = find(key);
  ctx_.error(value ? value->mark() : node_->mark(), child_path(path_, key), std::move(message));
}

void map_reader::error_at_map(std::string path, std::string message) {
  ctx_.error(*node_, std::move(path), std::move(message));
}

bool map_reader::finish() {
  if (valid_) {
    for (const auto& e : entries_) {
      const std::string& key = e.key->scalar();
      if (std::find(declared_.begin(), declared_.end(), key) != declared_.end()) continue;
      const std::vector<std::string_view> candidates(declared_.begin(), declared_.end());
      std::string message = "unknown field '" + key + "'";
      if (auto hint = closest_match(key, candidates)) message += " (did you mean '" + *hint + "'?)";
      ctx_.error(*e.key, child_path(path_, key), std::move(message));
    }
  }
  return ctx_.error_count() == errors_at_start_;
}

}  // namespace kairos::spec
