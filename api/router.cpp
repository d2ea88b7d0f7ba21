#include "router.hpp"

#include <algorithm>

namespace kairos::api {

namespace {

bool is_param(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

// The number of literal segments, or -1 when the path does not fit. More
// literals wins, so /workflows/{namespace}/submit beats /workflows/{namespace}/{name}.
int fit(const route& r, const std::vector<std::string>& segments,
        std::map<std::string, std::string>* params) {
  if (r.segments.size() != segments.size()) return -1;
  int literals = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    if (is_param(r.segments[i])) continue;
    if (r.segments[i] != segments[i]) return -1;
    ++literals;
  }
  if (params) {
    for (std::size_t i = 0; i < segments.size(); ++i) {
      if (is_param(r.segments[i]))
        (*params)[r.segments[i].substr(1, r.segments[i].size() - 2)] = segments[i];
    }
  }
  return literals;
}

}  // namespace

std::vector<std::string> router::split_pattern(std::string_view pattern) {
  std::vector<std::string> out;
  if (!pattern.empty() && pattern.front() == '/') pattern.remove_prefix(1);
  std::size_t start = 0;
  while (true) {
    const auto slash = pattern.find('/', start);
    out.emplace_back(
        pattern.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

void router::add(http::verb method, std::string pattern, handler fn, bool blocking) {
  route r;
  r.method = method;
  r.segments = split_pattern(pattern);
  r.pattern = std::move(pattern);
  r.fn = std::move(fn);
  r.blocking = blocking;
  routes_.push_back(std::move(r));
}

route_match router::match(http::verb method, const std::vector<std::string>& segments) const {
  route_match out;
  int best = -1;
  for (const auto& r : routes_) {
    const int score = fit(r, segments, nullptr);
    if (score < 0) continue;
    if (r.method != method) {
      if (std::find(out.allowed.begin(), out.allowed.end(), r.method) == out.allowed.end())
        out.allowed.push_back(r.method);
      continue;
    }
    if (score > best) {
      best = score;
      out.matched = &r;
    }
  }
  if (out.matched) {
    out.allowed.clear();
    fit(*out.matched, segments, &out.params);
  }
  return out;
}

}  // namespace kairos::api
