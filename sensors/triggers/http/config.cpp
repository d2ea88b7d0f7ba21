#include "config.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kairos::sensors::http_trigger {

result<config> read_config(const spec::trigger& t) {
  if (!t.template_.http) return make_error(errc::internal, "not an http trigger");
  const auto& h = *t.template_.http;
  config c;
  c.url = h.url;
  if (!c.url.starts_with("http://") && !c.url.starts_with("https://"))
    return make_error(errc::invalid_argument,
                      fmt::format("trigger \"{}\": url \"{}\" is not an absolute http(s) URL",
                                  t.template_.name, c.url));
  c.method = h.method.empty() ? "POST" : h.method;
  std::transform(c.method.begin(), c.method.end(), c.method.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  c.timeout = std::chrono::seconds(
      h.timeout_seconds > 0 ? h.timeout_seconds : spec::default_http_trigger_timeout_seconds);
  for (const auto& [k, v] : h.headers) c.headers.emplace_back(k, v);
  c.secure_headers = h.secure_headers;
  c.basic_auth = h.basic_auth_;
  c.payload = h.payload;
  c.dynamic_headers = h.dynamic_headers;
  c.host = h.host;
  c.insecure_skip_verify = h.tls && h.tls->insecure_skip_verify;
  if (t.policy && t.policy->status) c.allow = t.policy->status->allow;
  return c;
}

bool status_allowed(const config& c, int status) {
  if (c.allow.empty()) return status >= 200 && status < 300;
  return std::find(c.allow.begin(), c.allow.end(), status) != c.allow.end();
}

}  // namespace kairos::sensors::http_trigger
