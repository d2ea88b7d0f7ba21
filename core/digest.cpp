#include "kairos/core/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace kairos::digest {
namespace {

// Fetched once: OpenSSL 3 looks a legacy EVP_sha256() up again in its
// provider tables on every EVP_Digest, which cost more than hashing a short
// string (a sensor hashes every firing's event ids). A fetch that fails
// falls back to the legacy handle.
const EVP_MD* md_of(algorithm a) {
  static const EVP_MD* const sha1 = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return md ? md : EVP_sha1();
  }();
  static const EVP_MD* const sha256 = [] {
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md ? md : EVP_sha256();
  }();
  return a == algorithm::sha1 ? sha1 : sha256;
}

}  // namespace

std::string hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0xf]);
  }
  return out;
}

std::string hash(algorithm a, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Only fails when OpenSSL cannot allocate; an empty result then compares
  // unequal to every real digest.
  if (EVP_Digest(data.data(), data.size(), out, &length, md_of(a), nullptr) != 1) return {};
  return {reinterpret_cast<const char*>(out), length};
}

std::string hmac(algorithm a, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(md_of(a), key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length))
    return {};
  return {reinterpret_cast<const char*>(out), length};
}

bool equal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool secret_equal(std::string_view expected, std::string_view presented) {
  const auto e = hash(algorithm::sha256, expected);
  // A failed hash (empty) admits nobody.
  return !e.empty() && equal(e, hash(algorithm::sha256, presented));
}

}  // namespace kairos::digest
