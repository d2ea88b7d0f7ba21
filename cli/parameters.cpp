#include "parameters.hpp"

#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "kairos/core/json_text.hpp"

namespace kairos::cli {
namespace {

nlohmann::json yaml_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& kv : node) out[kv.first.as<std::string>()] = yaml_to_json(kv.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(yaml_to_json(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      // Unquoted numbers and booleans keep their type, as a YAML reader
      // would give them; quoted scalars ("!" tag) stay strings.
      if (node.Tag() != "!") {
        auto typed = parse_json(node.Scalar());
        if (!typed.is_discarded() && (typed.is_number() || typed.is_boolean() || typed.is_null())) {
          return typed;
        }
      }
      return node.Scalar();
    }
    default:
      return nullptr;
  }
}

void set_parameter(parameter_list& list, std::string name, std::string value) {
  for (auto& [n, v] : list) {
    if (n == name) {
      v = std::move(value);
      return;
    }
  }
  list.emplace_back(std::move(name), std::move(value));
}

}  // namespace

result<std::pair<std::string, std::string>> parse_parameter(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos) {
    return make_error(errc::invalid_argument,
                      "parameter \"" + std::string(text) + "\" is not of the form name=value");
  }
  if (eq == 0) {
    return make_error(errc::invalid_argument,
                      "parameter \"" + std::string(text) + "\" has an empty name");
  }
  return std::pair{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

result<parameter_list> parse_parameter_text(std::string_view text, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_argument, std::string(source) + ":" +
                                                  std::to_string(e.mark.line + 1) + ":" +
                                                  std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  parameter_list out;
  if (root.IsNull()) return out;
  if (!root.IsMap()) {
    return make_error(errc::invalid_argument,
                      std::string(source) + ": a parameter file must be a map of names to values");
  }
  try {
    for (const auto& kv : root) {
      auto name = kv.first.as<std::string>();
      if (name.empty()) {
        return make_error(errc::invalid_argument, std::string(source) + ": empty parameter name");
      }
      const auto& value = kv.second;
      if (value.IsScalar()) {
        set_parameter(out, name, value.Scalar());
      } else if (value.IsNull()) {
        set_parameter(out, name, "");
      } else {
        set_parameter(out, name, yaml_to_json(value).dump());
      }
    }
  } catch (const YAML::Exception& e) {
    return make_error(errc::invalid_argument, std::string(source) + ": " + e.msg);
  }
  return out;
}

result<parameter_list> read_parameter_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(errc::invalid_argument, "cannot read parameter file " + path.string());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_parameter_text(text.str(), path.string());
}

result<parameter_list> collect_parameters(const std::vector<std::string>& flags,
                                          const std::optional<std::filesystem::path>& file) {
  parameter_list out;
  if (file) {
    auto from_file = read_parameter_file(*file);
    if (!from_file) return from_file.error();
    out = std::move(*from_file);
  }
  for (const auto& flag : flags) {
    auto p = parse_parameter(flag);
    if (!p) return p.error();
    set_parameter(out, std::move(p->first), std::move(p->second));
  }
  return out;
}

void apply_parameters(nlohmann::json& workflow, const parameter_list& parameters) {
  if (parameters.empty()) return;
  if (!workflow.is_object()) return;
  auto& spec = workflow["spec"];
  if (!spec.is_object()) spec = nlohmann::json::object();
  auto& arguments = spec["arguments"];
  if (!arguments.is_object()) arguments = nlohmann::json::object();
  auto& list = arguments["parameters"];
  if (!list.is_array()) list = nlohmann::json::array();
  for (const auto& [name, value] : parameters) {
    bool found = false;
    for (auto& p : list) {
      if (p.is_object() && p.value("name", nlohmann::json()) == name) {
        p["value"] = value;
        found = true;
      }
    }
    if (!found) list.push_back({{"name", name}, {"value", value}});
  }
}

}  // namespace kairos::cli
