#include "kairos/store/store.hpp"

#include "kairos/core/json_text.hpp"

namespace kairos::store {

event_body::event_body(nlohmann::json value) : value_(std::move(value)) {
  std::call_once(once_, [] {});
  parsed_.store(true, std::memory_order_release);
}

event_body::event_body(std::string text) : text_(std::move(text)) {}

const nlohmann::json& event_body::value() const {
  std::call_once(once_, [this] {
    value_ = nlohmann::json::parse(text_, nullptr, false);
    if (value_.is_discarded()) value_ = nullptr;
    std::string().swap(text_);
    parsed_.store(true, std::memory_order_release);
  });
  return value_;
}

void print_event_head(const event_record& columns, std::string_view content_type,
                      std::string& out) {
  out += R"({"context":{"datacontenttype":)";
  dump_json_string(content_type, out);
  out += R"(,"id":)";
  dump_json_string(columns.id, out);
  out += R"(,"source":)";
  dump_json_string(columns.source, out);
  out += R"(,"specversion":"1.0","subject":)";
  dump_json_string(columns.subject, out);
  out += R"(,"time":)";
  dump_json_string(columns.time, out);
  out += R"(,"type":)";
  dump_json_string(columns.type, out);
  out += R"(},"data":)";
}

}  // namespace kairos::store
