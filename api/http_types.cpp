#include "http_types.hpp"

#include "kairos/core/json_text.hpp"

namespace kairos::api {

std::string request::param(const std::string& key) const {
  auto it = params.find(key);
  return it == params.end() ? std::string() : it->second;
}

std::optional<std::string> request::query_value(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return std::nullopt;
}

std::optional<std::string> request::header(std::string_view lowercase_name) const {
  auto it = headers.find(std::string(lowercase_name));
  if (it == headers.end()) return std::nullopt;
  return it->second;
}

response json_response(const nlohmann::json& body, unsigned status) {
  response r;
  r.status = status;
  // Replacing invalid UTF-8 keeps a stored oddity from turning into a 500.
  r.body = dump_json_replacing(body);
  return r;
}

unsigned http_status(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
      return 400;
    case errc::unauthenticated:
      return 401;
    case errc::not_found:
      return 404;
    case errc::already_exists:
      return 409;
    case errc::conflict:
      return 409;
    case errc::failed_precondition:
      return 412;
    case errc::payload_too_large:
      return 413;
    case errc::unavailable:
      return 503;
    case errc::internal:
      return 500;
  }
  return 500;
}

int grpc_code(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument:
      return 3;
    case errc::unauthenticated:
      return 16;
    case errc::not_found:
      return 5;
    case errc::already_exists:
      return 6;
    case errc::conflict:
      return 10;
    case errc::failed_precondition:
      return 9;
    case errc::payload_too_large:
      return 8;
    case errc::unavailable:
      return 14;
    case errc::internal:
      return 13;
  }
  return 13;
}

response error_response(const error& e) {
  return error_response(http_status(e.code), grpc_code(e.code), e.message);
}

response error_response(unsigned status, int grpc, std::string message) {
  return json_response({{"code", grpc}, {"message", std::move(message)}}, status);
}

}  // namespace kairos::api
