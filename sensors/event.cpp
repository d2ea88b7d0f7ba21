#include "kairos/sensors/event.hpp"

#include <utility>

namespace kairos::sensors {
namespace {

const nlohmann::json null_json;

std::string member(const nlohmann::json& context, const char* key) {
  const auto it = context.find(key);
  return it != context.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

const nlohmann::json& event::context() const {
  static const nlohmann::json empty = nlohmann::json::object();
  return context_ ? *context_ : empty;
}

const nlohmann::json& event::data() const {
  return data_ ? *data_ : null_json;
}

nlohmann::json& event::mutable_context() {
  auto own = std::make_shared<nlohmann::json>(context());
  context_ = own;
  return *own;
}

void event::set_data(nlohmann::json data) {
  data_ = std::make_shared<const nlohmann::json>(std::move(data));
}

void event::take_body(std::shared_ptr<const nlohmann::json> body, const store::event_record& r) {
  if (body && body->is_object()) {
    // Aliases: each part keeps the whole body alive, and nothing is copied.
    if (const auto c = body->find("context"); c != body->end() && c->is_object())
      context_ = std::shared_ptr<const nlohmann::json>(body, &*c);
    if (const auto d = body->find("data"); d != body->end())
      data_ = std::shared_ptr<const nlohmann::json>(body, &*d);
  }
  const std::pair<const char*, const std::string*> columns[] = {{"id", &r.id},
                                                                {"source", &r.source},
                                                                {"subject", &r.subject},
                                                                {"type", &r.type},
                                                                {"time", &r.time}};
  nlohmann::json* own = nullptr;  // copied once, and only when a member is missing
  for (const auto& [key, value] : columns) {
    if (value->empty()) continue;
    const auto& c = own ? *own : context();
    if (const auto it = c.find(key); it != c.end() && it->is_string()) continue;
    if (!own) own = &mutable_context();
    (*own)[key] = *value;
  }
}

event event::from_record(const store::event_record& r) {
  event e;
  e.sequence = r.sequence;
  e.id = r.id;
  e.take_body(r.shared_body ? r.shared_body : std::make_shared<const nlohmann::json>(r.body), r);
  return e;
}

event event::from_record(store::event_record&& r) {
  event e;
  e.sequence = r.sequence;
  e.id = r.id;
  if (!r.shared_body) r.share_body();
  e.take_body(std::move(r.shared_body), r);
  return e;
}

nlohmann::json event::to_json() const {
  return {{"sequence", sequence}, {"id", id}, {"context", context()}, {"data", data()}};
}

event event::from_json(const nlohmann::json& j) {
  event e;
  if (!j.is_object()) return e;
  e.sequence = j.value("sequence", std::int64_t{0});
  e.id = j.value("id", std::string());
  if (const auto c = j.find("context"); c != j.end() && c->is_object())
    e.context_ = std::make_shared<const nlohmann::json>(*c);
  if (const auto d = j.find("data"); d != j.end()) e.set_data(*d);
  return e;
}

std::string event::source() const {
  return member(context(), "source");
}
std::string event::subject() const {
  return member(context(), "subject");
}

}  // namespace kairos::sensors
