#include "kairos/eventsources/event.hpp"

#include <algorithm>
#include <cctype>

#include "kairos/core/expr.hpp"
#include "kairos/core/text.hpp"

namespace kairos::eventsources {
namespace {

// The record's columns; the body is the caller's.
store::event_record columns_of(const event_origin& origin, std::string id,
                               std::chrono::system_clock::time_point time) {
  store::event_record e;
  e.id = std::move(id);
  e.namespace_ = origin.namespace_;
  e.source = origin.source;
  e.subject = origin.subject;
  e.type = origin.type;
  e.time = format_rfc3339(time);
  return e;
}

}  // namespace

store::event_record make_event(const event_origin& origin, std::string id,
                               std::chrono::system_clock::time_point time, nlohmann::json data,
                               std::string_view content_type) {
  auto e = columns_of(origin, std::move(id), time);
  // Built member by member: a braced initializer list builds every pair as
  // a two-element array first and then copies it apart.
  nlohmann::json context = nlohmann::json::object();
  auto& c = context.get_ref<nlohmann::json::object_t&>();
  c.emplace("id", e.id);
  c.emplace("source", e.source);
  c.emplace("type", e.type);
  c.emplace("subject", e.subject);
  c.emplace("time", e.time);
  c.emplace("datacontenttype", std::string(content_type));
  c.emplace("specversion", "1.0");
  e.body = nlohmann::json::object();
  auto& body = e.body.get_ref<nlohmann::json::object_t&>();
  body.emplace("context", std::move(context));
  body.emplace("data", std::move(data));
  return e;
}

store::event_record make_event_text(const event_origin& origin, std::string id,
                                    std::chrono::system_clock::time_point time,
                                    std::string_view data, std::string_view content_type) {
  auto e = columns_of(origin, std::move(id), time);
  // Reads back as make_event's body: the head prints members in dump_json's order.
  auto& out = e.text;
  out.reserve(data.size() + e.id.size() + e.source.size() + e.subject.size() + 160);
  store::print_event_head(e, content_type, out);
  out += data;
  out += '}';
  return e;
}

namespace {

// RFC 7230 token characters: the only names Go canonicalises.
bool is_token_char(unsigned char c) {
  if (std::isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

std::string canonical_header_name(std::string_view name) {
  if (name.empty() ||
      !std::all_of(name.begin(), name.end(), [](char c) { return is_token_char(c); }))
    return std::string(name);
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    c = static_cast<char>(upper ? std::toupper(u) : std::tolower(u));
    upper = c == '-';
  }
  return out;
}

header_groups group_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  header_groups groups;
  for (const auto& [name, value] : headers) {
    if (iequals(name, "host") || iequals(name, "transfer-encoding")) continue;
    auto key = canonical_header_name(name);
    // The bearer token stops at the source, as in Argo.
    const std::string_view shown =
        iequals(name, "authorization") ? "*** Masked Auth Secret ***" : std::string_view(value);
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == key; });
    if (it == groups.end()) {
      groups.emplace_back(std::move(key), std::vector<std::string_view>{shown});
    } else {
      it->second.push_back(shown);
    }
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return groups;
}

nlohmann::json header_object(const std::vector<std::pair<std::string, std::string>>& headers) {
  nlohmann::json out = nlohmann::json::object();
  for (auto& [name, values] : group_headers(headers)) {
    auto& list = out[std::move(name)];
    list = nlohmann::json::array();
    for (const auto v : values) list.push_back(std::string(v));
  }
  return out;
}

result<bool> passes_filter(std::string_view expression, const nlohmann::json& data) {
  nlohmann::json env = nlohmann::json::object();
  if (data.is_object()) {
    for (const auto& [key, value] : data.items()) {
      std::string name = key;
      std::replace(name.begin(), name.end(), '-', '_');
      env[name] = value;
    }
  }
  return expr::evaluate_bool(expression, env);
}

}  // namespace kairos::eventsources
