#include "output.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include "kairos/core/json_text.hpp"

namespace kairos::cli {
namespace {

bool looks_like_non_string(const std::string& s) {
  if (s.empty()) return true;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const char* const reserved[] = {"true", "false", "yes", "no",   "on",   "off",  "null",
                                         "~",    "y",     "n",   ".nan", ".inf", "-.inf"};
  for (const char* r : reserved) {
    if (lower == r) return true;
  }
  // Anything strtod consumes whole is a number to a YAML reader.
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  if (end != nullptr && *end == '\0') return true;
  // Leading or trailing blanks and indicator characters need quotes to survive.
  if (std::isspace(static_cast<unsigned char>(s.front())) ||
      std::isspace(static_cast<unsigned char>(s.back()))) {
    return true;
  }
  return false;
}

void emit(YAML::Emitter& out, const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::object:
      // An empty map or list has no block form.
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      out << YAML::BeginMap;
      for (const auto& [key, value] : v.items()) {
        out << YAML::Key << key << YAML::Value;
        emit(out, value);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      if (v.empty()) {
        out << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      out << YAML::BeginSeq;
      for (const auto& item : v) emit(out, item);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.find('\n') != std::string::npos) {
        out << YAML::Literal << s;
      } else if (looks_like_non_string(s)) {
        out << YAML::DoubleQuoted << s;
      } else {
        out << s;
      }
      break;
    }
    case nlohmann::json::value_t::boolean:
      out << (v.get<bool>() ? "true" : "false");
      break;
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      out << YAML::Null;
      break;
    default:
      // Numbers: JSON's own text is valid YAML.
      out << v.dump();
      break;
  }
}

}  // namespace

std::string to_yaml(const nlohmann::json& value) {
  YAML::Emitter out;
  out.SetIndent(2);
  out.SetSeqFormat(YAML::Block);
  out.SetMapFormat(YAML::Block);
  emit(out, value);
  std::string text = out.c_str();
  if (text.empty() || text.back() != '\n') text += "\n";
  return text;
}

result<std::string> render_object(const nlohmann::json& value, std::string_view format) {
  if (format == "json") return dump_json_indented(value, 2) + "\n";
  if (format == "yaml") return to_yaml(value);
  return make_error(errc::invalid_argument,
                    "unknown output format \"" + std::string(format) + "\" (want json or yaml)");
}

}  // namespace kairos::cli
