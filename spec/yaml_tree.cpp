#include "yaml_tree.hpp"

#include <regex>
#include <sstream>
#include <unordered_map>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>
#include <yaml.h>
#include <nlohmann/json.hpp>

namespace kairos::spec {

const yaml_node& yaml_node::undefined() noexcept {
  static const yaml_node none;
  return none;
}

const yaml_node& yaml_node::operator[](std::size_t index) const noexcept {
  return type_ == node_type::sequence && index < items_.size() ? *items_[index] : undefined();
}

const yaml_node& yaml_node::operator[](std::string_view key) const noexcept {
  for (const auto& e : entries_) {
    if (e.key->is_scalar() && e.key->scalar_ == key) return *e.value;
  }
  return undefined();
}

yaml_node& yaml_stream::add(yaml_node::node_type type, yaml_mark mark) {
  yaml_node& node = nodes_.emplace_back();
  node.type_ = type;
  node.mark_ = mark;
  return node;
}

void yaml_stream::set_text(yaml_node& node, std::string scalar, std::string tag) {
  node.scalar_ = std::move(scalar);
  node.tag_ = std::move(tag);
}

void yaml_stream::append(yaml_node& sequence, const yaml_node* item) {
  sequence.items_.push_back(item);
}

void yaml_stream::append(yaml_node& map, const yaml_node* key, const yaml_node* value) {
  map.entries_.push_back({key, value});
}

void yaml_stream::add_document(const yaml_node* root) {
  documents_.push_back(root);
}

namespace {

using node_type = yaml_node::node_type;

std::string_view text_of(const yaml_char_t* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

yaml_mark mark_of(const yaml_mark_t& m) {
  return {static_cast<int>(m.index), static_cast<int>(m.line), static_cast<int>(m.column)};
}

yaml_mark mark_of(const YAML::Mark& m) {
  return {m.pos, m.line, m.column};
}

class libyaml_parser {
 public:
  explicit libyaml_parser(std::string_view text) {
    ok_ = yaml_parser_initialize(&parser_) != 0;
    if (ok_) {
      yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size());
    }
  }
  ~libyaml_parser() {
    if (ok_) yaml_parser_delete(&parser_);
  }
  libyaml_parser(const libyaml_parser&) = delete;
  libyaml_parser& operator=(const libyaml_parser&) = delete;

  // The next event into `event` (which the caller deletes), false on error.
  bool next(yaml_event_t& event) { return ok_ && yaml_parser_parse(&parser_, &event) != 0; }

 private:
  yaml_parser_t parser_{};
  bool ok_ = false;
};

struct event_holder {
  yaml_event_t event{};
  ~event_holder() { yaml_event_delete(&event); }
};

}  // namespace

bool parse_with_libyaml(std::string_view text, yaml_stream& out) {
  libyaml_parser parser(text);
  struct open_node {
    yaml_node* node;
    const yaml_node* key = nullptr;  // a mapping's key waiting for its value
  };
  std::vector<open_node> open;
  std::unordered_map<std::string, const yaml_node*> anchors;

  const auto place = [&](const yaml_node* node) {
    if (open.empty()) {
      out.add_document(node);
      return;
    }
    open_node& parent = open.back();
    if (parent.node->is_sequence()) {
      yaml_stream::append(*parent.node, node);
    } else if (parent.key == nullptr) {
      parent.key = node;
    } else {
      yaml_stream::append(*parent.node, parent.key, node);
      parent.key = nullptr;
    }
  };
  const auto name = [&](const yaml_char_t* anchor, const yaml_node* node) {
    // A name used again names the later node from there on.
    if (anchor != nullptr) anchors.insert_or_assign(std::string(text_of(anchor)), node);
  };

  for (;;) {
    event_holder held;
    if (!parser.next(held.event)) return false;
    const yaml_event_t& event = held.event;
    const yaml_mark mark = mark_of(event.start_mark);
    switch (event.type) {
      case YAML_STREAM_END_EVENT:
        return true;
      case YAML_DOCUMENT_START_EVENT:
        // Anchors are a document's own.
        anchors.clear();
        break;
      case YAML_ALIAS_EVENT: {
        const auto it = anchors.find(std::string(text_of(event.data.alias.anchor)));
        if (it == anchors.end()) return false;
        place(it->second);
        break;
      }
      case YAML_SCALAR_EVENT: {
        const auto& s = event.data.scalar;
        std::string value(reinterpret_cast<const char*>(s.value), s.length);
        std::string tag(s.tag != nullptr                     ? text_of(s.tag)
                        : s.style == YAML_PLAIN_SCALAR_STYLE ? std::string_view("?")
                                                             : std::string_view("!"));
        const bool null = tag == "?" && is_null_text(value);
        yaml_node& node = out.add(null ? node_type::null : node_type::scalar, mark);
        if (!null) yaml_stream::set_text(node, std::move(value), std::move(tag));
        name(s.anchor, &node);
        place(&node);
        break;
      }
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT: {
        const bool sequence = event.type == YAML_SEQUENCE_START_EVENT;
        yaml_node& node = out.add(sequence ? node_type::sequence : node_type::map, mark);
        const yaml_char_t* tag =
            sequence ? event.data.sequence_start.tag : event.data.mapping_start.tag;
        yaml_stream::set_text(node, {}, tag != nullptr ? std::string(text_of(tag)) : "?");
        name(sequence ? event.data.sequence_start.anchor : event.data.mapping_start.anchor, &node);
        place(&node);
        open.push_back({&node});
        break;
      }
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        if (open.empty()) return false;
        open.pop_back();
        break;
      default:
        break;
    }
  }
}

namespace {

// yaml-cpp's LoadAll never returns when a document's top-level node is
// followed by a token its parser does not take there, such as the `,` in
// "[a]," or "- a\n,": the token stays unread and every further call yields
// another empty document at the same place, without end and without bound
// on memory. Returns where that happens, or nullopt.
//
// A document whose first line is a plain `key:` at column 0 is a block
// mapping that only a document marker, a directive (yaml-cpp takes a `%`
// at column 0 for one anywhere) or the end ends, so nothing can follow it;
// every manifest people write is like that, and is passed without parsing
// twice. Anything else, or any line starting with `%`, is parsed once
// through yaml-cpp's event parser, which yields documents one at a time.
std::optional<YAML::Mark> document_level_stall(std::string_view text) {
  static const std::regex block_map_key(R"(^[A-Za-z_][A-Za-z0-9_.-]*:([ \t].*)?\r?$)");
  const auto marker = [](std::string_view line) {
    if (line.size() < 3 || (line.substr(0, 3) != "---" && line.substr(0, 3) != "...")) return false;
    return line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r';
  };
  const auto significant = [](std::string_view line) {
    const auto first = line.find_first_not_of(" \t\r");
    return first != std::string_view::npos && line[first] != '#';
  };
  bool simple = true;
  bool in_document = false;  // its first significant line has been seen
  std::string_view rest = text;
  if (rest.substr(0, 3) == "\xEF\xBB\xBF") rest.remove_prefix(3);
  while (simple && !rest.empty()) {
    const auto end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end + 1);
    if (!line.empty() && line.front() == '%') {
      simple = false;
    } else if (marker(line)) {
      in_document = false;
      // Content after the marker begins the next document on this line.
      simple = !significant(line.substr(3));
    } else if (!in_document && significant(line)) {
      in_document = true;
      simple = std::regex_match(line.begin(), line.end(), block_map_key);
    }
  }
  if (simple) return std::nullopt;

  struct document_starts final : YAML::EventHandler {
    std::optional<YAML::Mark> last;
    bool repeated = false;
    void OnDocumentStart(const YAML::Mark& m) override {
      repeated = last && last->pos == m.pos;
      last = m;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
  } starts;
  std::istringstream in{std::string(text)};
  YAML::Parser parser(in);
  try {
    while (parser.HandleNextDocument(starts)) {
      if (starts.repeated) return starts.last;
    }
  } catch (const YAML::Exception&) {
    // LoadAll meets the same error and reports it.
  }
  return std::nullopt;
}

// yaml-cpp shares an aliased node, and gives no way to tell that two handles
// are one node short of comparing each pair, so the copy expands aliases:
// within a budget (one copier per document), and a level past the depth
// bound, which is enough for within_yaml_bounds to see the excess.
class yaml_cpp_copier {
 public:
  explicit yaml_cpp_copier(yaml_stream& out) : out_(out) {}

  const yaml_node* copy(const YAML::Node& from, std::size_t depth) {
    --budget_;
    node_type type = node_type::null;
    switch (from.Type()) {
      case YAML::NodeType::Scalar:
        type = node_type::scalar;
        break;
      case YAML::NodeType::Sequence:
        type = node_type::sequence;
        break;
      case YAML::NodeType::Map:
        type = node_type::map;
        break;
      default:
        break;
    }
    yaml_node& node = out_.add(type, mark_of(from.Mark()));
    if (type != node_type::null) yaml_stream::set_text(node, from.Scalar(), from.Tag());
    if (depth > max_yaml_depth) return &node;
    if (type == node_type::sequence) {
      for (const auto& item : from) {
        if (budget_ == 0) break;
        yaml_stream::append(node, copy(item, depth + 1));
      }
    } else if (type == node_type::map) {
      for (auto it = from.begin(); it != from.end() && budget_ >= 2; ++it) {
        const yaml_node* key = copy(it->first, depth + 1);
        yaml_stream::append(node, key, copy(it->second, depth + 1));
      }
    }
    return &node;
  }

 private:
  yaml_stream& out_;
  std::size_t budget_ = max_yaml_expanded_nodes + 1;
};

bool within_bounds(const yaml_node& node, std::size_t depth, std::size_t& budget) {
  if (depth > max_yaml_depth || budget == 0) return false;
  --budget;
  for (const auto* item : node.items())
    if (!within_bounds(*item, depth + 1, budget)) return false;
  for (const auto& e : node.entries()) {
    if (!within_bounds(*e.key, depth + 1, budget)) return false;
    if (!within_bounds(*e.value, depth + 1, budget)) return false;
  }
  return true;
}

const yaml_node* from_json(const nlohmann::json& j, std::size_t depth, yaml_stream& out) {
  if (depth > max_yaml_depth) return nullptr;
  switch (j.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return &out.add(node_type::null, {});
    case nlohmann::json::value_t::object: {
      yaml_node& node = out.add(node_type::map, {});
      for (const auto& [key, value] : j.items()) {
        yaml_node& k = out.add(node_type::scalar, {});
        yaml_stream::set_text(k, key, "!");
        const yaml_node* v = from_json(value, depth + 1, out);
        if (v == nullptr) return nullptr;
        yaml_stream::append(node, &k, v);
      }
      return &node;
    }
    case nlohmann::json::value_t::array: {
      yaml_node& node = out.add(node_type::sequence, {});
      for (const auto& item : j) {
        const yaml_node* v = from_json(item, depth + 1, out);
        if (v == nullptr) return nullptr;
        yaml_stream::append(node, v);
      }
      return &node;
    }
    case nlohmann::json::value_t::string: {
      yaml_node& node = out.add(node_type::scalar, {});
      yaml_stream::set_text(node, j.get_ref<const std::string&>(), "!");
      return &node;
    }
    default: {  // numbers and booleans print as YAML reads them back
      yaml_node& node = out.add(node_type::scalar, {});
      yaml_stream::set_text(node, j.dump(), "?");
      return &node;
    }
  }
}

}  // namespace

yaml_load_result parse_with_yaml_cpp(std::string_view text) {
  yaml_load_result result;
  if (const auto stall = document_level_stall(text)) {
    const char c = static_cast<std::size_t>(stall->pos) < text.size() ? text[stall->pos] : ' ';
    result.error = yaml_error{
        mark_of(*stall), std::string("unexpected '") + c + "' after the document's top-level node"};
    return result;
  }
  try {
    const auto docs = YAML::LoadAll(std::string(text));
    for (const auto& doc : docs)
      result.stream.add_document(yaml_cpp_copier(result.stream).copy(doc, 0));
  } catch (const YAML::Exception& e) {
    result.stream = yaml_stream();
    result.error = yaml_error{mark_of(e.mark), e.msg};
  }
  return result;
}

bool is_null_text(std::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

bool is_wide_unicode(std::string_view text) {
  return text.substr(0, 2) == "\xFE\xFF" || text.substr(0, 2) == "\xFF\xFE" ||
         text.substr(0, 4) == std::string_view("\0\0\xFE\xFF", 4);
}

yaml_load_result load_yaml(std::string_view text) {
  if (!is_wide_unicode(text)) {
    yaml_load_result result;
    if (parse_with_libyaml(text, result.stream)) return result;
  }
  return parse_with_yaml_cpp(text);
}

embedded_yaml load_embedded_yaml(std::string_view text) {
  auto loaded = load_yaml(text);
  embedded_yaml out;
  if (loaded.error) {
    out.error = std::move(loaded.error->message);
    return out;
  }
  out.stream = std::move(loaded.stream);
  if (!out.stream.documents().empty()) out.root = out.stream.documents().front();
  if (out.root != nullptr && !within_yaml_bounds(*out.root)) {
    out.root = nullptr;
    out.error = yaml_bounds_message();
  }
  return out;
}

std::string yaml_bounds_message() {
  return "document nests deeper than " + std::to_string(max_yaml_depth) +
         " levels or expands to more than " + std::to_string(max_yaml_expanded_nodes) +
         " nodes through aliases";
}

const yaml_node* json_to_yaml(const nlohmann::json& document, yaml_stream& out) {
  const yaml_node* root = from_json(document, 0, out);
  if (root != nullptr) out.add_document(root);
  return root;
}

bool within_yaml_bounds(const yaml_node& node) {
  std::size_t budget = max_yaml_expanded_nodes;
  return within_bounds(node, 0, budget);
}

}  // namespace kairos::spec
