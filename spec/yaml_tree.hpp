#pragma once

// YAML documents as the spec readers walk them: an immutable tree kairos
// owns. libyaml fills it: yaml-cpp took some 40 ms to load a 2,000-task
// workflow (its scanner alone 24 ms) that libyaml parses in 4. Text that
// libyaml refuses goes through yaml-cpp, as all text did before, so a syntax
// error reads as it always has and yaml-cpp stays the judge of what is valid.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kairos::spec {

// Aliases let a small document expand into a huge (or, through a cycle,
// infinite) tree; everything downstream walks the expanded tree, so it is
// measured first, with these bounds, before anything else reads it.
inline constexpr std::size_t max_yaml_depth = 128;
inline constexpr std::size_t max_yaml_expanded_nodes = 200000;

// 0-based, and -1 where unknown (a tree made from JSON), as yaml-cpp's.
struct yaml_mark {
  int pos = -1;
  int line = -1;
  int column = -1;
};

class yaml_node {
 public:
  enum class node_type : std::uint8_t { undefined, null, scalar, sequence, map };
  struct entry {
    const yaml_node* key;
    const yaml_node* value;
  };

  // What a lookup finds when the key or index is not there.
  static const yaml_node& undefined() noexcept;

  node_type type() const noexcept { return type_; }
  explicit operator bool() const noexcept { return type_ != node_type::undefined; }
  bool is_null() const noexcept { return type_ == node_type::null; }
  bool is_scalar() const noexcept { return type_ == node_type::scalar; }
  bool is_sequence() const noexcept { return type_ == node_type::sequence; }
  bool is_map() const noexcept { return type_ == node_type::map; }

  // Empty for anything but a scalar.
  const std::string& scalar() const noexcept { return scalar_; }
  // "?" for a plain scalar without a tag, "!" for a quoted one, else the
  // tag resolved ("tag:yaml.org,2002:str" for `!!str`), as in yaml-cpp.
  const std::string& tag() const noexcept { return tag_; }
  const yaml_mark& mark() const noexcept { return mark_; }

  // Items of a sequence or entries of a mapping; 0 for anything else.
  std::size_t size() const noexcept {
    return type_ == node_type::map ? entries_.size() : items_.size();
  }
  std::span<const yaml_node* const> items() const noexcept { return items_; }
  // In document order; a repeated key appears as often as it was written.
  std::span<const entry> entries() const noexcept { return entries_; }
  // The item at `index`, or undefined().
  const yaml_node& operator[](std::size_t index) const noexcept;
  // The value of the first entry whose key is the scalar `key`, or undefined().
  const yaml_node& operator[](std::string_view key) const noexcept;

 private:
  friend class yaml_stream;

  node_type type_ = node_type::undefined;
  yaml_mark mark_;
  std::string scalar_;
  std::string tag_;
  std::vector<const yaml_node*> items_;
  std::vector<entry> entries_;
};

// The documents of one text and the nodes they are made of. Nodes stay where
// they are for the stream's life (moves included): an alias is the node it
// names, shared.
class yaml_stream {
 public:
  yaml_stream() = default;
  yaml_stream(yaml_stream&&) noexcept = default;
  yaml_stream& operator=(yaml_stream&&) noexcept = default;
  yaml_stream(const yaml_stream&) = delete;
  yaml_stream& operator=(const yaml_stream&) = delete;

  // The root of each document, in order.
  const std::vector<const yaml_node*>& documents() const noexcept { return documents_; }

  // For the builders.
  yaml_node& add(yaml_node::node_type type, yaml_mark mark);
  // A scalar's text (none for a collection) and the node's tag.
  static void set_text(yaml_node& node, std::string scalar, std::string tag);
  static void append(yaml_node& sequence, const yaml_node* item);
  static void append(yaml_node& map, const yaml_node* key, const yaml_node* value);
  void add_document(const yaml_node* root);

 private:
  std::deque<yaml_node> nodes_;
  std::vector<const yaml_node*> documents_;
};

struct yaml_error {
  yaml_mark mark;
  std::string message;  // yaml-cpp's words
};

// The documents of `text` (UTF-8, or UTF-16/32 with a byte order mark), or
// the first error in it.
struct yaml_load_result {
  yaml_stream stream;
  std::optional<yaml_error> error;
};
yaml_load_result load_yaml(std::string_view text);
// The spellings of null in YAML 1.2's core schema, which yaml-cpp applies to
// plain untagged scalars.
bool is_null_text(std::string_view text);
// True when `text` starts with a UTF-16 or UTF-32 byte order mark.
bool is_wide_unicode(std::string_view text);

// YAML held in a string field (a Kafka config, an inline resource): its first
// document, nullptr for none, or why it cannot be read.
struct embedded_yaml {
  yaml_stream stream;
  const yaml_node* root = nullptr;
  std::string error;
};
embedded_yaml load_embedded_yaml(std::string_view text);

// Why a document fails within_yaml_bounds, in words.
std::string yaml_bounds_message();

// The two ways load_yaml takes, apart for tests. parse_with_libyaml is false
// for anything libyaml refuses (or an alias to an anchor not yet seen);
// parse_with_yaml_cpp stops expanding aliases a step past the bounds above,
// so that a check of them still sees the excess.
bool parse_with_libyaml(std::string_view text, yaml_stream& out);
yaml_load_result parse_with_yaml_cpp(std::string_view text);

// A JSON document as a tree (strings quoted, so "1" stays a string), or
// nullptr when it nests deeper than max_yaml_depth.
const yaml_node* json_to_yaml(const nlohmann::json& document, yaml_stream& out);

// False when the tree under `node`, aliases expanded, is deeper or larger
// than the bounds above.
bool within_yaml_bounds(const yaml_node& node);

}  // namespace kairos::spec
