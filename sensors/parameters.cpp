#include "kairos/sensors/parameters.hpp"

#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kairos/core/go_template.hpp"
#include "kairos/core/json_path.hpp"
#include "kairos/core/json_text.hpp"

namespace kairos::sensors {

result<parameter_value> resolve_parameter(const spec::trigger_parameter_source& src,
                                          const event_map& events) {
  const bool has_template = !src.data_template.empty() || !src.context_template.empty();
  const bool has_key = !src.data_key.empty() || !src.context_key.empty();
  const auto it = events.find(src.dependency_name);
  std::optional<nlohmann::json> value;
  if (it != events.end()) {
    const event& e = it->second;
    if (!src.data_key.empty() || !src.data_template.empty())
      value = e.data();
    else if (!src.context_key.empty() || !src.context_template.empty())
      value = e.context();
    else
      value = nlohmann::json{{"context", e.context()}, {"data", e.data()}};
  }
  if (value) {
    if (has_template) {
      const std::string& tmpl =
          !src.data_template.empty() ? src.data_template : src.context_template;
      auto rendered = go_template::render(tmpl, nlohmann::json{{"Input", *value}});
      if (rendered && !rendered->empty() && *rendered != "<no value>")
        return parameter_value{std::move(*rendered), false};
      spdlog::debug("sensor parameter template \"{}\" gave no value: {}", tmpl,
                    rendered ? "empty result" : rendered.error().message);
    }
    if (has_key) {
      const std::string& key = !src.data_key.empty() ? src.data_key : src.context_key;
      if (auto found = json_path::get(*value, key)) {
        if (src.use_raw_data && !found->is_string())
          return parameter_value{dump_json_replacing(*found), true};
        return parameter_value{json_path::to_string(*found), false};
      }
    }
    if (!has_template && !has_key) {
      if (src.use_raw_data) return parameter_value{dump_json_replacing(*value), true};
      return parameter_value{dump_json_replacing(*value), false};
    }
  }
  if (src.value) return parameter_value{*src.value, false};
  if (it == events.end())
    return make_error(
        errc::not_found,
        fmt::format("parameter source: no event for dependency \"{}\"", src.dependency_name));
  return make_error(
      errc::not_found,
      fmt::format("parameter source: dependency \"{}\": {} resolves to nothing and "
                  "there is no default value",
                  src.dependency_name,
                  !src.data_key.empty()      ? "dataKey \"" + src.data_key + "\""
                  : !src.context_key.empty() ? "contextKey \"" + src.context_key + "\""
                                             : std::string("the template")));
}

namespace {

result<void> apply_one(nlohmann::json& doc, const spec::trigger_parameter& p,
                       const event_map& events) {
  auto v = resolve_parameter(p.src, events);
  if (!v) return std::move(v).error();
  parameter_value value = std::move(*v);
  if (p.operation != spec::trigger_parameter_operation::overwrite) {
    if (auto current = json_path::get(doc, p.dest)) {
      const std::string existing = json_path::to_string(*current);
      value.text = p.operation == spec::trigger_parameter_operation::append ? existing + value.text
                                                                            : value.text + existing;
      value.raw = false;
    }
  }
  nlohmann::json to_set = value.text;
  if (value.raw) {
    auto parsed = parse_json(value.text);
    if (!parsed.is_discarded()) to_set = std::move(parsed);
  }
  auto r = json_path::set(doc, p.dest, std::move(to_set));
  if (!r) return make_error(errc::invalid_argument, "parameter dest: " + r.error().message);
  return {};
}

}  // namespace

result<void> apply_parameters(nlohmann::json& doc,
                              const std::vector<spec::trigger_parameter>& params,
                              const event_map& events) {
  for (const auto& p : params) {
    auto r = apply_one(doc, p, events);
    if (!r) return r;
  }
  return {};
}

result<nlohmann::json> build_payload(const std::vector<spec::trigger_parameter>& params,
                                     const event_map& events) {
  if (params.empty()) return nlohmann::json();
  nlohmann::json doc = nlohmann::json::object();
  auto r = apply_parameters(doc, params, events);
  if (!r) return std::move(r).error();
  return doc;
}

}  // namespace kairos::sensors
