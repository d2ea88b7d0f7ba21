#include "kairos/store/store.hpp"

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

}  // namespace kairos::store
