#pragma once

// An event as sensors see it: one journal record's CloudEvents envelope.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "kairos/store/store.hpp"

namespace kairos::sensors {

struct event {
  std::int64_t sequence = 0;
  std::string id;

  // {id, source, type, subject, time, datacontenttype, specversion}
  const nlohmann::json& context() const;
  const nlohmann::json& data() const;  // null when the event has none
  // A copy of the context that this event holds from now on; copies of the
  // event made afterwards share it.
  nlohmann::json& mutable_context();
  void set_data(nlohmann::json data);

  // The record's body supplies context and data; the record's columns fill
  // in context members the body lacks. A record's shared_body stays shared.
  static event from_record(const store::event_record& r);
  static event from_record(store::event_record&& r);  // moves the body's parts
  // {"sequence", "id", "context", "data"}: how sensor state keeps events.
  nlohmann::json to_json() const;
  static event from_json(const nlohmann::json& j);

  // context.source and context.subject. An event whose envelope is still
  // unparsed text answers from the record's columns instead, which kairos
  // writes from the same origin as the context: matching an event to a
  // dependency does not parse it.
  std::string source() const;   // the EventSource name
  std::string subject() const;  // the event name

 private:
  // The journal record's envelope, which the store's cache, every copy of
  // the event and every sensor reading it share (an event is read by each
  // dependency, trigger and firing that holds it, and copying it for each
  // cost more than handling it), with the parts of it this event reads,
  // found the first time someone asks.
  struct envelope {
    std::shared_ptr<const store::event_body> body;
    // The record's columns, for context members the body lacks.
    std::string id, source, subject, type, time;
    std::once_flag once;
    std::shared_ptr<const nlohmann::json> context, data;
    void resolve();
  };
  std::shared_ptr<envelope> envelope_;
  // Parts of its own, set by mutable_context, set_data and from_json; they
  // come before the envelope's.
  std::shared_ptr<const nlohmann::json> context_;
  std::shared_ptr<const nlohmann::json> data_;
  const envelope* resolved() const;
};

// The events that fired a trigger, by dependency name.
using event_map = std::map<std::string, event>;

}  // namespace kairos::sensors
