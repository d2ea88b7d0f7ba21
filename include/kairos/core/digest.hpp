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

// Equality in time that depends on the lengths only, for signatures and
// digests whose length is public.
bool equal(std::string_view a, std::string_view b);
// Equality of a presented secret with the expected one that reveals through
// timing neither how much matched nor the secret's length: both sides are
// hashed to a fixed length before the constant-time comparison.
bool secret_equal(std::string_view expected, std::string_view presented);

inline std::string sha256_hex(std::string_view data) {
  return hex(hash(algorithm::sha256, data));
}
inline std::string sha1_hex(std::string_view data) {
  return hex(hash(algorithm::sha1, data));
}

}  // namespace kairos::digest
