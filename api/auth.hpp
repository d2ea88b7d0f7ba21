#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kairos::api {

// Checks `Authorization: Bearer <token>` headers without leaking, through
// timing, how much of a guess was right: both sides are hashed to a fixed
// length and compared in constant time.
class bearer_auth {
 public:
  explicit bearer_auth(std::string_view token);

  bool enabled() const noexcept { return enabled_; }
  // True when auth is disabled or the header carries the token.
  bool allows(std::optional<std::string_view> authorization_header) const;

 private:
  std::string token_;
  bool enabled_ = false;
};

}  // namespace kairos::api
