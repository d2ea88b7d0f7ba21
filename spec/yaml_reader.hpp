#pragma once

// The machinery every spec reader uses: it walks a YAML node (yaml_tree.hpp)
// into a typed struct, records each problem with file:line:col and the YAML
// path, and turns unknown keys into errors with a did-you-mean hint. A
// reader keeps going after an error so that one pass reports everything.

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/spec/diagnostic.hpp"
#include "yaml_tree.hpp"

namespace kairos::spec {

class reader_context {
 public:
  explicit reader_context(std::string file) : file_(std::move(file)) {}

  void error(const yaml_mark& mark, std::string path, std::string message);
  void error(const yaml_node& at, std::string path, std::string message) {
    error(at.mark(), std::move(path), std::move(message));
  }

  const std::string& file() const noexcept { return file_; }
  std::size_t error_count() const noexcept { return diagnostics_.size(); }
  std::vector<diagnostic>& diagnostics() noexcept { return diagnostics_; }

 private:
  std::string file_;
  std::vector<diagnostic> diagnostics_;
};

std::string child_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);

// Converts YAML to JSON with YAML 1.2 core-schema typing of plain scalars
// (null, booleans, integers, floats); quoted scalars stay strings.
nlohmann::json yaml_to_json(const yaml_node& node);

class map_reader;

// A struct is readable when a `read_fields(map_reader&, T&)` overload exists
// in its namespace. Declare every overload before the first use (in the
// .cpp, `static` at namespace kairos::spec scope is fine; not in an anonymous
// namespace, which argument-dependent lookup does not see).
template <class T>
concept readable_struct = requires(map_reader& m, T& t) {
  read_fields(m, t);
};

// Scalar readers. They accept any scalar for strings (YAML `5` is the string
// "5" where a string is expected, as in Argo's AnyString), and report
// "expected ..." naming the path otherwise. Each returns false on error.
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                std::string& out);
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, bool& out);
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                std::int64_t& out);
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, int& out);
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, double& out);
// Free-form data (parameter values, withItems, payloads): any YAML.
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                nlohmann::json& out);

template <readable_struct T>
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, T& out);

template <class T>
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                std::vector<T>& out) {
  if (node.is_null()) return true;
  if (!node.is_sequence()) {
    ctx.error(node, path, "expected a list");
    return false;
  }
  bool ok = true;
  out.clear();
  out.reserve(node.size());
  for (std::size_t i = 0; i < node.size(); ++i) {
    T item{};
    ok = read_value(*node.items()[i], index_path(path, i), ctx, item) && ok;
    out.push_back(std::move(item));
  }
  return ok;
}

template <class T>
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                std::map<std::string, T>& out) {
  if (node.is_null()) return true;
  if (!node.is_map()) {
    ctx.error(node, path, "expected a mapping");
    return false;
  }
  bool ok = true;
  for (const auto& e : node.entries()) {
    if (!e.key->is_scalar()) {
      ctx.error(*e.key, path, "expected a string key");
      ok = false;
      continue;
    }
    std::string key = e.key->scalar();
    T value{};
    ok = read_value(*e.value, child_path(path, key), ctx, value) && ok;
    out.insert_or_assign(std::move(key), std::move(value));
  }
  return ok;
}

template <class T>
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx,
                std::optional<T>& out) {
  if (node.is_null()) {
    out.reset();
    return true;
  }
  T value{};
  const bool ok = read_value(node, path, ctx, value);
  out = std::move(value);
  return ok;
}

// Reads the fields of one YAML mapping. Every key a struct knows is declared
// through required/optional/unsupported/ignored; finish() reports the rest.
class map_reader {
 public:
  map_reader(const yaml_node& node, std::string path, reader_context& ctx);

  // False when the node is not a mapping (already reported).
  bool valid() const noexcept { return valid_; }

  template <class T>
  bool required(std::string_view key, T& out) {
    declare(key);
    const yaml_node* value = find(key);
    if (value == nullptr || value->is_null()) {
      if (valid_) error_at_map(child_path(path_, key), "required field is missing");
      return false;
    }
    return read_value(*value, child_path(path_, key), ctx_, out);
  }

  // Returns false only on a read error; an absent key leaves `out` as is.
  template <class T>
  bool optional(std::string_view key, T& out) {
    declare(key);
    const yaml_node* value = find(key);
    if (value == nullptr) return true;
    return read_value(*value, child_path(path_, key), ctx_, out);
  }

  // A string that must be one of `allowed` (an empty string is allowed when
  // the key is absent). The message lists the choices.
  bool optional_enum(std::string_view key, std::string& out,
                     std::initializer_list<std::string_view> allowed);

  // A field Argo has and kairos does not implement: its presence is an
  // error saying so, never silently ignored.
  void unsupported(std::string_view key, std::string_view why = {});
  void unsupported(std::initializer_list<std::string_view> keys);
  // Accepted for compatibility and deliberately without effect (e.g.
  // Kubernetes scheduling fields that mean nothing on one machine).
  void ignored(std::string_view key);
  void ignored(std::initializer_list<std::string_view> keys);

  bool has(std::string_view key) const { return find(key) != nullptr; }
  // The value at `key`, or an undefined node when the key is absent.
  const yaml_node& lookup(std::string_view key) const;
  // The value at `key`, or nullptr.
  const yaml_node* find(std::string_view key) const;
  const yaml_node& node() const noexcept { return *node_; }
  const std::string& path() const noexcept { return path_; }
  reader_context& context() noexcept { return ctx_; }

  // Reports a semantic problem at a key's value (or at the mapping when the
  // key is absent).
  void error(std::string_view key, std::string message);
  // Reports a problem with the mapping as a whole.
  void error_at_map(std::string path, std::string message);

  // Reports unknown keys; true when nothing in this mapping (or below it)
  // was reported since construction.
  bool finish();

 private:
  void declare(std::string_view key);

  const yaml_node* node_;
  std::string path_;
  reader_context& ctx_;
  // The mapping's scalar keys and values, gathered once (every field a
  // struct knows is looked up). A repeated key stays in the list, marked,
  // for finish() to see; only the first is read.
  struct entry {
    const yaml_node* key;  // a scalar
    const yaml_node* value;
    bool repeated = false;
  };
  std::vector<entry> entries_;
  std::vector<std::string> declared_;
  std::size_t errors_at_start_;
  bool valid_;
};

template <readable_struct T>
bool read_value(const yaml_node& node, const std::string& path, reader_context& ctx, T& out) {
  map_reader m(node, path, ctx);
  if (!m.valid()) return false;
  read_fields(m, out);
  return m.finish();
}

}  // namespace kairos::spec
