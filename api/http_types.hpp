#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "kairos/core/error.hpp"

namespace kairos::api {

namespace http = boost::beast::http;

// One request as the handlers see it: already routed, path parameters
// decoded, the body still raw so each handler decides how to parse it.
struct request {
  http::verb method = http::verb::get;
  std::string path;
  std::map<std::string, std::string> params;  // {namespace}, {name}, ...
  std::vector<std::pair<std::string, std::string>> query;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;

  std::string param(const std::string& key) const;
  std::optional<std::string> query_value(std::string_view key) const;
  std::optional<std::string> header(std::string_view lowercase_name) const;
};

struct response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

response json_response(const nlohmann::json& body, unsigned status = 200);

// The HTTP status and gRPC code the Argo Server uses for each error class.
unsigned http_status(errc code) noexcept;
int grpc_code(errc code) noexcept;

// `{"code": <grpc>, "message": ...}` with the matching status.
response error_response(const error& e);
response error_response(unsigned status, int grpc, std::string message);

}  // namespace kairos::api
