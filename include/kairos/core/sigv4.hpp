#pragma once

// AWS Signature Version 4 (header form) over OpenSSL, as the S3 listing of
// the minio event source needs it. Follows AWS's "Create a signed AWS API
// request" steps; the S3 flavour is the default (the path is URI-encoded
// once, not normalised).

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kairos/core/digest.hpp"

namespace kairos::sigv4 {

struct credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // x-amz-security-token when not empty
};

struct request {
  std::string method = "GET";
  std::string path = "/";  // decoded; encoded here segment by segment
  // Decoded name/value pairs; an empty value is written `name=`.
  std::vector<std::pair<std::string, std::string>> query;
  // Headers to sign; must contain `host`. Names in any case.
  std::vector<std::pair<std::string, std::string>> headers;
  // Hex SHA-256 of the body, or "UNSIGNED-PAYLOAD".
  std::string payload_hash;
};

struct signing {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
};

using digest::hex;
using digest::sha256_hex;
// The hex SHA-256 of "".
inline constexpr std::string_view empty_payload_hash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// Raw (binary) HMAC-SHA256.
inline std::string hmac_sha256(std::string_view key, std::string_view data) {
  return digest::hmac(digest::algorithm::sha256, key, data);
}

// RFC 3986 encoding as AWS specifies: unreserved bytes kept, everything else
// %XX upper case; '/' kept when `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);
// name=value pairs, encoded, sorted by name then value, joined with '&'.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

// "20130524T000000Z" for a time point.
std::string amz_date(std::chrono::system_clock::time_point t);

// Signs `r` at `date` (the x-amz-date value, which must also be among the
// headers when the caller wants it checked by the server).
signing sign(const request& r, const credentials& c, std::string_view region,
             std::string_view service, std::string_view date);

// The headers to send for a request without a body: x-amz-date,
// x-amz-content-sha256 (the empty body's hash), x-amz-security-token when
// set, and Authorization. `host` is the Host header value the client sends.
std::vector<std::pair<std::string, std::string>> signed_headers_for(
    std::string_view method, std::string_view host, std::string_view path,
    const std::vector<std::pair<std::string, std::string>>& query, const credentials& c,
    std::string_view region, std::string_view service, std::chrono::system_clock::time_point now);

}  // namespace kairos::sigv4
