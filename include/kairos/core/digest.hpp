#pragma once

// Hashes and HMACs over OpenSSL, for everything that needs one: sprig's
// sha256sum/sha1sum, SigV4 signing, GitHub signatures, firing keys.

#include <string>
#include <string_view>

namespace kairos::digest {

enum class algorithm { sha1, sha256 };

// Lower-case hex of raw bytes.
std::string hex(std::string_view bytes);

// Raw digest bytes (20 for sha1, 32 for sha256).
std::string hash(algorithm a, std::string_view data);
// Raw HMAC bytes.
std::string hmac(algorithm a, std::string_view key, std::string_view data);

inline std::string sha256_hex(std::string_view data) {
  return hex(hash(algorithm::sha256, data));
}
inline std::string sha1_hex(std::string_view data) {
  return hex(hash(algorithm::sha1, data));
}

}  // namespace kairos::digest
