#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "http_types.hpp"

namespace kairos::api {

using handler = std::function<response(const request&)>;

// One row of the route table. `pattern` is a path such as
// /api/v1/workflows/{namespace}/{name}; a {segment} matches one path
// segment, which may be empty (GET /api/v1/workflows/ lists all namespaces).
struct route {
  http::verb method = http::verb::get;
  std::string pattern;
  std::vector<std::string> segments;
  handler fn;
  // Runs on the worker pool (it touches the store or the engine).
  bool blocking = true;
};

struct route_match {
  const route* matched = nullptr;
  std::map<std::string, std::string> params;
  // When the path is known but not for this method: the methods it takes.
  std::vector<http::verb> allowed;
};

class router {
 public:
  void add(http::verb method, std::string pattern, handler fn, bool blocking = true);
  // `segments` are the decoded path segments, without the leading empty one.
  route_match match(http::verb method, const std::vector<std::string>& segments) const;

  static std::vector<std::string> split_pattern(std::string_view pattern);

 private:
  std::vector<route> routes_;
};

}  // namespace kairos::api
