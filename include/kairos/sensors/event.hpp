#pragma once

// An event as sensors see it: one journal record's CloudEvents envelope.

#include <cstdint>
#include <map>
#include <memory>
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

  std::string source() const;   // context.source: the EventSource name
  std::string subject() const;  // context.subject: the event name

 private:
  // Parts of the journal record's body, which the store's cache and every
  // sensor reading the event share: an event is read by each dependency,
  // trigger and firing that holds it, and copying it for each cost more
  // than handling it.
  std::shared_ptr<const nlohmann::json> context_;
  std::shared_ptr<const nlohmann::json> data_;
  void take_body(std::shared_ptr<const nlohmann::json> body, const store::event_record& r);
};

// The events that fired a trigger, by dependency name.
using event_map = std::map<std::string, event>;

}  // namespace kairos::sensors
