#include "kairos/sensors/event.hpp"

namespace kairos::sensors {
namespace {

void fill(nlohmann::json& context, const char* key, const std::string& value) {
  if (!value.empty() && (!context.contains(key) || !context[key].is_string())) context[key] = value;
}

std::string member(const nlohmann::json& context, const char* key) {
  const auto it = context.find(key);
  return it != context.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

event event::from_record(const store::event_record& r) {
  return from_record(store::event_record(r));
}

event event::from_record(store::event_record&& r) {
  event e;
  e.sequence = r.sequence;
  e.id = r.id;
  if (r.body.is_object()) {
    if (const auto c = r.body.find("context"); c != r.body.end() && c->is_object())
      e.context = std::move(*c);
    if (const auto d = r.body.find("data"); d != r.body.end()) e.data = std::move(*d);
  }
  fill(e.context, "id", r.id);
  fill(e.context, "source", r.source);
  fill(e.context, "subject", r.subject);
  fill(e.context, "type", r.type);
  fill(e.context, "time", r.time);
  return e;
}

nlohmann::json event::to_json() const {
  return {{"sequence", sequence}, {"id", id}, {"context", context}, {"data", data}};
}

event event::from_json(const nlohmann::json& j) {
  event e;
  if (!j.is_object()) return e;
  e.sequence = j.value("sequence", std::int64_t{0});
  e.id = j.value("id", std::string());
  if (const auto c = j.find("context"); c != j.end() && c->is_object()) e.context = *c;
  if (const auto d = j.find("data"); d != j.end()) e.data = *d;
  return e;
}

std::string event::source() const {
  return member(context, "source");
}
std::string event::subject() const {
  return member(context, "subject");
}

}  // namespace kairos::sensors
