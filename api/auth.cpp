#include "auth.hpp"

#include <cctype>

#include "kairos/core/digest.hpp"

namespace kairos::api {

bearer_auth::bearer_auth(std::string_view token) : enabled_(!token.empty()) {
  if (enabled_) token_ = token;
}

bool bearer_auth::allows(std::optional<std::string_view> header) const {
  if (!enabled_) return true;
  if (!header) return false;
  std::string_view value = *header;
  constexpr std::string_view scheme = "bearer ";
  if (value.size() < scheme.size()) return false;
  // The scheme is case-insensitive (RFC 7235); the token is not.
  for (std::size_t i = 0; i < scheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != scheme[i]) return false;
  }
  value.remove_prefix(scheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return false;
  return digest::secret_equal(token_, value);
}

}  // namespace kairos::api
