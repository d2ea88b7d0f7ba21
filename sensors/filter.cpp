#include "kairos/sensors/filter.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <date/tz.h>
#include <fmt/format.h>

#include "kairos/core/expr.hpp"
#include "kairos/core/go_template.hpp"
#include "kairos/core/json_path.hpp"
#include "kairos/core/regex.hpp"
#include "kairos/core/text.hpp"

namespace kairos::sensors {
namespace {

using spec::logical_operator;

std::optional<double> parse_number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(d)) return std::nullopt;
  return d;
}

std::optional<bool> parse_bool(const std::string& s) {
  // strconv.ParseBool's spellings.
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False")
    return false;
  return std::nullopt;
}

// gjson's Result.Bool().
bool json_bool(const nlohmann::json& v) {
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number()) return v.get<double>() != 0;
  if (v.is_string()) return parse_bool(v.get<std::string>()).value_or(false);
  return false;
}

bool compare_numbers(spec::comparator c, double event_value, double filter_value) {
  switch (c) {
    case spec::comparator::equal:
      return event_value == filter_value;
    case spec::comparator::not_equal:
      return event_value != filter_value;
    case spec::comparator::greater:
      return event_value > filter_value;
    case spec::comparator::greater_or_equal:
      return event_value >= filter_value;
    case spec::comparator::less:
      return event_value < filter_value;
    case spec::comparator::less_or_equal:
      return event_value <= filter_value;
  }
  return false;
}

// One data filter against the event data: true, false, or why it could not
// be evaluated.
result<bool> one_data_filter(const spec::data_filter& f, const nlohmann::json& data) {
  auto found = json_path::get(data, f.path);
  if (!found) return make_error(errc::not_found, fmt::format("path '{}' does not exist", f.path));
  if (f.value.empty())
    return make_error(errc::invalid_argument,
                      fmt::format("path '{}': no values specified", f.path));
  std::string text = json_path::to_string(*found);
  if (!f.template_.empty()) {
    auto rendered = go_template::render(f.template_, nlohmann::json{{"Input", text}});
    if (!rendered) return std::move(rendered).error();
    if (rendered->empty() || *rendered == "<no value>")
      return make_error(
          errc::invalid_argument,
          fmt::format("template evaluated to empty string or no value: {}", f.template_));
    text = *rendered;
    found = nlohmann::json(text);
  }
  switch (f.type) {
    case spec::json_type::boolean:
      for (const auto& v : f.value) {
        const auto b = parse_bool(v);
        if (!b) return make_error(errc::invalid_argument, fmt::format("'{}' is not a bool", v));
        if (*b == json_bool(*found)) return true;
      }
      return false;
    case spec::json_type::number: {
      const auto event_value = parse_number(text);
      for (const auto& v : f.value) {
        const auto filter_value = parse_number(v);
        if (!filter_value)
          return make_error(errc::invalid_argument, fmt::format("'{}' is not a number", v));
        if (!event_value)
          return make_error(errc::invalid_argument,
                            fmt::format("path '{}': '{}' is not a number", f.path, text));
        if (compare_numbers(f.comparator_, *event_value, *filter_value)) return true;
      }
      return false;
    }
    case spec::json_type::string:
      for (const auto& v : f.value) {
        auto m = regex::search(v, text);
        if (!m) return std::move(m).error();
        // Strings support only = and !=, as in Argo.
        if (f.comparator_ == spec::comparator::equal && *m) return true;
        if (f.comparator_ == spec::comparator::not_equal && !*m) return true;
      }
      return false;
  }
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "; ") + s;
  return out;
}

}  // namespace

result<bool> filter_data(const std::vector<spec::data_filter>& filters, logical_operator op,
                         const event& e) {
  if (filters.empty() || e.data().is_null()) return true;
  std::vector<std::string> errors;
  for (const auto& f : filters) {
    auto r = one_data_filter(f, e.data());
    if (!r) {
      if (op == logical_operator::or_) {
        errors.push_back(r.error().message);
        continue;
      }
      return std::move(r).error();
    }
    if (op == logical_operator::or_ && *r) return true;
    if (op == logical_operator::and_ && !*r) return false;
  }
  if (op == logical_operator::or_) {
    if (!errors.empty()) return make_error(errc::invalid_argument, join(errors));
    return false;
  }
  return true;
}

result<bool> filter_exprs(const std::vector<spec::expr_filter>& filters, logical_operator op,
                          const event& e) {
  if (filters.empty() || e.data().is_null()) return true;
  std::vector<std::string> errors;
  for (const auto& f : filters) {
    nlohmann::json parameters = nlohmann::json::object();
    bool missing = false;
    for (const auto& field : f.fields) {
      auto v = json_path::get(e.data(), field.path);
      if (!v) {
        const auto msg = fmt::format("path '{}' does not exist", field.path);
        if (op == logical_operator::and_) return make_error(errc::not_found, msg);
        errors.push_back(msg);
        missing = true;
        break;
      }
      parameters[field.name] = std::move(*v);
    }
    if (missing) continue;
    if (parameters.empty()) continue;  // Argo skips an expr without fields
    auto r = expr::evaluate_govaluate(f.expr, parameters);
    if (!r) {
      if (op == logical_operator::and_) return std::move(r).error();
      errors.push_back(r.error().message);
      continue;
    }
    if (op == logical_operator::or_ && *r) return true;
    if (op == logical_operator::and_ && !*r) return false;
  }
  if (op == logical_operator::or_) {
    if (!errors.empty()) return make_error(errc::invalid_argument, join(errors));
    return false;
  }
  return true;
}

bool filter_context(const spec::event_context_filter& expected, const event& e) {
  // Argo compares these four members exactly; the others are ignored.
  auto same = [&](const std::string& want, const char* key) {
    if (want.empty()) return true;
    const auto it = e.context().find(key);
    return it != e.context().end() && it->is_string() && it->get<std::string>() == want;
  };
  return same(expected.type, "type") && same(expected.subject, "subject") &&
         same(expected.source, "source") && same(expected.datacontenttype, "datacontenttype");
}

result<bool> filter_time(const spec::time_filter& window, const event& e,
                         const kairos::clock& clock) {
  std::chrono::system_clock::time_point t = clock.now();
  if (const auto it = e.context().find("time"); it != e.context().end() && it->is_string()) {
    if (auto parsed = parse_rfc3339(it->get<std::string>())) t = *parsed;
  }
  const date::time_zone* zone = nullptr;
  try {
    zone = window.timezone.empty() ? date::locate_zone("UTC") : date::locate_zone(window.timezone);
  } catch (const std::exception&) {
    return make_error(errc::invalid_argument,
                      fmt::format("unknown time zone \"{}\"", window.timezone));
  }
  const auto local =
      date::zoned_time<std::chrono::seconds>(zone, std::chrono::floor<std::chrono::seconds>(t))
          .get_local_time();
  const auto of_day = local - std::chrono::floor<date::days>(local);
  const auto start = window.start_of_day;
  const auto stop = window.stop_of_day;
  if (start < stop) return of_day >= start && of_day < stop;
  // The window wraps past midnight.
  return of_day >= start || of_day < stop;
}

filter_outcome apply_filters(const spec::event_dependency& dependency, const event& e,
                             const kairos::clock& clock) {
  if (!dependency.filters) return {};
  const auto& f = *dependency.filters;
  const bool any = dependency.filters_logical_operator == logical_operator::or_;
  struct part {
    const char* name;
    bool present;
    result<bool> outcome;
  };
  std::vector<part> parts;
  parts.push_back({"exprs", !f.exprs.empty(), filter_exprs(f.exprs, f.expr_logical_operator, e)});
  parts.push_back({"data", !f.data.empty(), filter_data(f.data, f.data_logical_operator, e)});
  parts.push_back({"context", f.context.has_value(),
                   f.context ? result<bool>(filter_context(*f.context, e)) : result<bool>(true)});
  parts.push_back(
      {"time", f.time.has_value(), f.time ? filter_time(*f.time, e, clock) : result<bool>(true)});
  std::vector<std::string> reasons;
  for (const auto& p : parts) {
    if (!p.present) continue;
    if (!p.outcome) {
      reasons.push_back(fmt::format("{} filter: {}", p.name, p.outcome.error().message));
      if (!any) return {false, join(reasons)};
      continue;
    }
    if (*p.outcome && any) return {};
    if (!*p.outcome) {
      reasons.push_back(fmt::format("{} filter did not match", p.name));
      if (!any) return {false, join(reasons)};
    }
  }
  if (any) {
    // With `or`, nothing present passed (or no filter is present at all).
    bool none_present = true;
    for (const auto& p : parts) none_present = none_present && !p.present;
    if (none_present) return {};
    return {false, join(reasons)};
  }
  return {};
}

}  // namespace kairos::sensors
