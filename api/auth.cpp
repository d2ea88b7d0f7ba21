#include "auth.hpp"

#include <cctype>

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace kairos::api {

namespace {

std::optional<std::array<unsigned char, 32>> sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  if (EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr) != 1 ||
      len != out.size()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace

bearer_auth::bearer_auth(std::string_view token) : enabled_(!token.empty()) {
  if (enabled_) digest_ = sha256(token);
}

bool bearer_auth::allows(std::optional<std::string_view> header) const {
  if (!enabled_) return true;
  // A token that could not be hashed admits nobody.
  if (!digest_ || !header) return false;
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
  const auto presented = sha256(value);
  return presented && CRYPTO_memcmp(presented->data(), digest_->data(), digest_->size()) == 0;
}

}  // namespace kairos::api
