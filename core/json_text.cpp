#include "kairos/core/json_text.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <simdjson.h>

namespace kairos {
namespace {

using json = nlohmann::json;

void dump_with_nlohmann(const json& j, std::string& out) {
  out += j.dump(-1, ' ', false, json::error_handler_t::strict);
}

// Bytes a string can be copied with as they are: printable ASCII but the
// quote and the backslash.
constexpr std::array<bool, 256> plain_bytes = [] {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = true;
  t['"'] = false;
  t['\\'] = false;
  return t;
}();

void dump_string(std::string_view s, std::string& out) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n && plain_bytes[bytes[i]]) ++i;
  if (i == n) {
    out += '"';
    out.append(s);
    out += '"';
    return;
  }
  for (std::size_t k = i; k < n; ++k) {
    if (bytes[k] >= 0x80) {
      // Validating UTF-8 is nlohmann's job, with its exact error.
      dump_with_nlohmann(json(std::string(s)), out);
      return;
    }
  }
  out += '"';
  out.append(s, 0, i);
  for (; i < n; ++i) {
    const unsigned char c = bytes[i];
    if (plain_bytes[c]) {
      out += static_cast<char>(c);
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default: {
        constexpr std::string_view hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 0xF];
      }
    }
  }
  out += '"';
}

template <class Int>
void dump_integer(Int v, std::string& out) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

// One parser per thread, shared by is_json and parse_printed_json: it keeps
// its buffers from one document to the next, so a parse allocates nothing
// once they are large enough.
simdjson::dom::parser& thread_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

}  // namespace

bool is_json(std::string_view text) {
  if (thread_parser().parse(text.data(), text.size(), true).error() == simdjson::SUCCESS)
    return true;
  return text.find('\0') == std::string_view::npos && json::accept(text);
}

namespace {

// The tree nlohmann's parser builds for the same text: a non-negative
// integer is unsigned, a negative one signed, and a later duplicate key
// wins.
json tree_of(simdjson::dom::element e) {
  using type = simdjson::dom::element_type;
  switch (e.type()) {
    case type::ARRAY: {
      json out = json::array();
      auto& items = out.get_ref<json::array_t&>();
      simdjson::dom::array a;
      if (e.get(a) != simdjson::SUCCESS) break;
      items.reserve(a.size());
      for (simdjson::dom::element item : a) items.push_back(tree_of(item));
      return out;
    }
    case type::OBJECT: {
      json out = json::object();
      auto& members = out.get_ref<json::object_t&>();
      // Printed text has its keys in order: each goes in at the end.
      simdjson::dom::object fields;
      if (e.get(fields) != simdjson::SUCCESS) break;
      for (auto field : fields) {
        auto at = members.emplace_hint(members.end(), std::string(field.key), json());
        at->second = tree_of(field.value);
      }
      return out;
    }
    case type::INT64: {
      std::int64_t v = 0;
      if (e.get(v) != simdjson::SUCCESS) break;
      if (v >= 0) return json(static_cast<std::uint64_t>(v));
      return json(v);
    }
    case type::UINT64: {
      std::uint64_t v = 0;
      if (e.get(v) != simdjson::SUCCESS) break;
      return json(v);
    }
    case type::DOUBLE: {
      double v = 0;
      if (e.get(v) != simdjson::SUCCESS) break;
      return json(v);
    }
    case type::STRING: {
      std::string_view v;
      if (e.get(v) != simdjson::SUCCESS) break;
      return json(std::string(v));
    }
    case type::BOOL: {
      bool v = false;
      if (e.get(v) != simdjson::SUCCESS) break;
      return json(v);
    }
    case type::NULL_VALUE:
      break;
  }
  // The element's type was read from it, so its value reads too.
  return json(nullptr);
}

}  // namespace

json parse_printed_json(std::string_view text) {
  simdjson::dom::element root;
  if (thread_parser().parse(text.data(), text.size(), true).get(root) == simdjson::SUCCESS)
    return tree_of(root);
  // Whatever simdjson refuses (a byte order mark, an integer past 64 bits,
  // text that is not JSON) nlohmann decides, and throws for, as before.
  return json::parse(text);
}

json parse_json(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) return json(json::value_t::discarded);
  return json::parse(text, nullptr, false);
}

void dump_json_string(std::string_view s, std::string& out) {
  dump_string(s, out);
}

void dump_json(const json& j, std::string& out) {
  switch (j.type()) {
    case json::value_t::object: {
      const auto& object = j.get_ref<const json::object_t&>();
      out += '{';
      bool first = true;
      for (const auto& [key, value] : object) {
        if (!first) out += ',';
        first = false;
        dump_string(key, out);
        out += ':';
        dump_json(value, out);
      }
      out += '}';
      return;
    }
    case json::value_t::array: {
      const auto& array = j.get_ref<const json::array_t&>();
      out += '[';
      bool first = true;
      for (const auto& value : array) {
        if (!first) out += ',';
        first = false;
        dump_json(value, out);
      }
      out += ']';
      return;
    }
    case json::value_t::string:
      dump_string(j.get_ref<const json::string_t&>(), out);
      return;
    case json::value_t::boolean:
      out += j.get<bool>() ? "true" : "false";
      return;
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::number_integer:
      dump_integer(j.get<std::int64_t>(), out);
      return;
    case json::value_t::number_unsigned:
      dump_integer(j.get<std::uint64_t>(), out);
      return;
    default:
      // Floats (nlohmann's shortest round-trip form), binary, discarded.
      dump_with_nlohmann(j, out);
      return;
  }
}

std::string dump_json(const json& j) {
  std::string out;
  dump_json(j, out);
  return out;
}

namespace {

// A binary value somewhere in the tree: nlohmann prints those as objects of
// its own shape, and the whole tree is left to it.
struct binary_inside {};

void dump_indented(const json& j, std::string& out, std::size_t step, std::size_t depth) {
  const bool is_object = j.is_object();
  if (!is_object && !j.is_array()) {
    if (j.is_binary()) throw binary_inside{};
    dump_json(j, out);  // a scalar prints as in the compact form
    return;
  }
  if (j.empty()) {
    out += is_object ? "{}" : "[]";
    return;
  }
  out += is_object ? "{\n" : "[\n";
  const std::size_t inner = step * (depth + 1);
  bool first = true;
  auto next = [&] {
    if (!first) out += ",\n";
    first = false;
    out.append(inner, ' ');
  };
  if (is_object) {
    for (const auto& [key, value] : j.get_ref<const json::object_t&>()) {
      next();
      dump_string(key, out);
      out += ": ";
      dump_indented(value, out, step, depth + 1);
    }
  } else {
    for (const auto& value : j.get_ref<const json::array_t&>()) {
      next();
      dump_indented(value, out, step, depth + 1);
    }
  }
  out += '\n';
  out.append(step * depth, ' ');
  out += is_object ? '}' : ']';
}

}  // namespace

std::string dump_json_indented(const json& j, int indent) {
  if (indent < 0) return dump_json(j);
  std::string out;
  try {
    dump_indented(j, out, static_cast<std::size_t>(indent), 0);
  } catch (const binary_inside&) {
    return j.dump(indent, ' ', false, json::error_handler_t::strict);
  }
  return out;
}

std::string dump_json_replacing(const nlohmann::json& j) {
  // The fast printer first: almost everything is UTF-8, and where it is,
  // both print the same text.
  try {
    return dump_json(j);
  } catch (const nlohmann::json::type_error&) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
}

}  // namespace kairos
