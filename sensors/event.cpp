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

void event::envelope::resolve() {
  const auto& whole = body->value();
  // Aliases: each part keeps the whole body alive, and nothing is copied.
  const std::shared_ptr<const nlohmann::json> alias(body, &whole);
  if (whole.is_object()) {
    if (const auto c = whole.find("context"); c != whole.end() && c->is_object())
      context = std::shared_ptr<const nlohmann::json>(alias, &*c);
    if (const auto d = whole.find("data"); d != whole.end())
      data = std::shared_ptr<const nlohmann::json>(alias, &*d);
  }
  const std::pair<const char*, const std::string*> columns[] = {
      {"id", &id}, {"source", &source}, {"subject", &subject}, {"type", &type}, {"time", &time}};
  std::shared_ptr<nlohmann::json> own;  // copied once, and only when a member is missing
  for (const auto& [key, value] : columns) {
    if (value->empty()) continue;
    const nlohmann::json* c = own ? own.get() : context.get();
    if (c) {
      if (const auto it = c->find(key); it != c->end() && it->is_string()) continue;
    }
    if (!own) {
      own = context ? std::make_shared<nlohmann::json>(*context)
                    : std::make_shared<nlohmann::json>(nlohmann::json::object());
    }
    (*own)[key] = *value;
  }
  if (own) context = std::move(own);
}

const event::envelope* event::resolved() const {
  if (!envelope_) return nullptr;
  std::call_once(envelope_->once, [e = envelope_.get()] { e->resolve(); });
  return envelope_.get();
}

const nlohmann::json& event::context() const {
  static const nlohmann::json empty = nlohmann::json::object();
  if (context_) return *context_;
  const auto* e = resolved();
  return e && e->context ? *e->context : empty;
}

const nlohmann::json& event::data() const {
  if (data_) return *data_;
  const auto* e = resolved();
  return e && e->data ? *e->data : null_json;
}

nlohmann::json& event::mutable_context() {
  auto own = std::make_shared<nlohmann::json>(context());
  context_ = own;
  return *own;
}

void event::set_data(nlohmann::json data) {
  data_ = std::make_shared<const nlohmann::json>(std::move(data));
}

event event::from_record(const store::event_record& r) {
  store::event_record copy;
  copy.sequence = r.sequence;
  copy.id = r.id;
  copy.source = r.source;
  copy.subject = r.subject;
  copy.type = r.type;
  copy.time = r.time;
  copy.shared_body =
      r.shared_body ? r.shared_body : std::make_shared<const store::event_body>(r.body);
  return from_record(std::move(copy));
}

event event::from_record(store::event_record&& r) {
  event e;
  e.sequence = r.sequence;
  e.id = r.id;
  if (!r.shared_body) r.share_body();
  auto env = std::make_shared<envelope>();
  env->body = std::move(r.shared_body);
  env->id = std::move(r.id);
  env->source = std::move(r.source);
  env->subject = std::move(r.subject);
  env->type = std::move(r.type);
  env->time = std::move(r.time);
  e.envelope_ = std::move(env);
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
  if (!context_ && envelope_ && !envelope_->body->parsed()) return envelope_->source;
  return member(context(), "source");
}
std::string event::subject() const {
  if (!context_ && envelope_ && !envelope_->body->parsed()) return envelope_->subject;
  return member(context(), "subject");
}

}  // namespace kairos::sensors
