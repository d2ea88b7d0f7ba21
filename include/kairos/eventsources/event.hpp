#pragma once

// The journal envelope every event source writes: a CloudEvents-style
// context plus the data shaped as Argo Events shapes it, so sensors written
// for Argo read the same paths (`body.ref`, `header.Content-Type`, ...).

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/store/store.hpp"

namespace kairos::eventsources {

// Where an event comes from: `source` is the EventSource name, `subject` the
// event name inside it, `type` the source type (webhook, github, calendar).
struct event_origin {
  std::string namespace_;
  std::string source;
  std::string subject;
  std::string type;
};

// The store record of one event. `time` goes into the context as RFC 3339.
store::event_record make_event(const event_origin& origin, std::string id,
                               std::chrono::system_clock::time_point time, nlohmann::json data,
                               std::string_view content_type = "application/json");

// make_event for a source that prints its data itself: `data` must be one
// JSON value. The record's body stays null and its text is the envelope, as
// make_event's body parses back, so the tree is only built if a filter,
// template or trigger looks into the event. Throws nlohmann::json::type_error
// where a column is not valid UTF-8, as dump_json does.
store::event_record make_event_text(const event_origin& origin, std::string id,
                                    std::chrono::system_clock::time_point time,
                                    std::string_view data,
                                    std::string_view content_type = "application/json");

// An HTTP header name as Go's net/http keys it (textproto canonical form:
// `x-github-event` becomes `X-Github-Event`), because Argo's data.header is a
// Go http.Header and sensors address its keys that way. Names with bytes
// outside the token set are returned unchanged, as Go does.
std::string canonical_header_name(std::string_view name);

// Argo's `header`/`headers` object: canonical name -> list of values, in
// arrival order. Host and Transfer-Encoding are left out (Go moves them off
// the header map), and an Authorization value is masked as Argo masks it.
nlohmann::json header_object(const std::vector<std::pair<std::string, std::string>>& headers);
// header_object's content before it is a tree: canonical name -> values (views
// into `headers`, or the mask), names in the order dump_json prints keys.
using header_groups = std::vector<std::pair<std::string, std::vector<std::string_view>>>;
header_groups group_headers(const std::vector<std::pair<std::string, std::string>>& headers);

// `filter.expression` of an event source, with Argo's environment: the
// top-level keys of `data`, with '-' replaced by '_' so they are identifiers.
result<bool> passes_filter(std::string_view expression, const nlohmann::json& data);

}  // namespace kairos::eventsources
