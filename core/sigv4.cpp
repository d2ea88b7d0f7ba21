#include "kairos/core/sigv4.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>

namespace kairos::sigv4 {

namespace {

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// AWS's "Trimall": outer whitespace dropped, inner runs of spaces made one.
std::string trim_all(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [name, value] : query)
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [name, value] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
  const auto days = std::chrono::floor<std::chrono::days>(seconds);
  const std::chrono::year_month_day ymd{days};
  const std::chrono::hh_mm_ss hms{seconds - days};
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%04d%02u%02uT%02d%02d%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buffer;
}

signing sign(const request& r, const credentials& c, std::string_view region,
             std::string_view service, std::string_view date) {
  // Sorted by lower-case name; repeated names are joined with ','.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : r.headers) {
    auto& slot = headers[lower(name)];
    if (!slot.empty()) slot.push_back(',');
    slot += trim_all(value);
  }
  signing out;
  std::string canonical_headers;
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ":" + value + "\n";
    if (!out.signed_headers.empty()) out.signed_headers.push_back(';');
    out.signed_headers += name;
  }
  std::string path = r.path.empty() ? "/" : r.path;
  if (path.front() != '/') path.insert(path.begin(), '/');
  out.canonical_request = r.method + "\n" + uri_encode(path, true) + "\n" +
                          canonical_query(r.query) + "\n" + canonical_headers + "\n" +
                          out.signed_headers + "\n" + r.payload_hash;

  const std::string day(date.substr(0, 8));
  const std::string scope =
      day + "/" + std::string(region) + "/" + std::string(service) + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + std::string(date) + "\n" + scope + "\n" +
                       sha256_hex(out.canonical_request);

  std::string key = hmac_sha256("AWS4" + c.secret_key, day);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, service);
  key = hmac_sha256(key, "aws4_request");
  out.signature = hex(hmac_sha256(key, out.string_to_sign));
  out.authorization = "AWS4-HMAC-SHA256 Credential=" + c.access_key + "/" + scope +
                      ",SignedHeaders=" + out.signed_headers + ",Signature=" + out.signature;
  return out;
}

std::vector<std::pair<std::string, std::string>> signed_headers_for(
    std::string_view method, std::string_view host, std::string_view path,
    const std::vector<std::pair<std::string, std::string>>& query, const credentials& c,
    std::string_view region, std::string_view service, std::chrono::system_clock::time_point now) {
  const std::string date = amz_date(now);
  request r;
  r.method = std::string(method);
  r.path = std::string(path);
  r.query = query;
  r.payload_hash = std::string(empty_payload_hash);
  r.headers = {
      {"host", std::string(host)}, {"x-amz-content-sha256", r.payload_hash}, {"x-amz-date", date}};
  if (!c.session_token.empty()) r.headers.emplace_back("x-amz-security-token", c.session_token);
  const auto s = sign(r, c, region, service, date);
  std::vector<std::pair<std::string, std::string>> out(r.headers.begin() + 1, r.headers.end());
  out.emplace_back("Authorization", s.authorization);
  return out;
}

}  // namespace kairos::sigv4
