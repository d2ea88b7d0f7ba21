#pragma once

// An event as sensors see it: one journal record's CloudEvents envelope.

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "kairos/store/store.hpp"

namespace kairos::sensors {

struct event {
  std::int64_t sequence = 0;
  std::string id;
  // {id, source, type, subject, time, datacontenttype, specversion}
  nlohmann::json context = nlohmann::json::object();
  nlohmann::json data;

  // The record's body supplies context and data; the record's columns fill
  // in context members the body lacks.
  static event from_record(const store::event_record& r);
  static event from_record(store::event_record&& r);  // moves the body's parts
  // {"sequence", "id", "context", "data"}: how sensor state keeps events.
  nlohmann::json to_json() const;
  static event from_json(const nlohmann::json& j);

  std::string source() const;   // context.source: the EventSource name
  std::string subject() const;  // context.subject: the event name
};

// The events that fired a trigger, by dependency name.
using event_map = std::map<std::string, event>;

}  // namespace kairos::sensors
