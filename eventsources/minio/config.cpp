#include "minio/config.hpp"

#include "webhook/config.hpp"

namespace kairos::eventsources {

result<minio_settings> minio_settings_from(const spec::minio_event_source& spec,
                                           const spec::secret_resolver& secrets) {
  minio_settings s;
  s.endpoint = spec.endpoint;
  s.tls = !spec.insecure;
  // Argo wants a bare host[:port]; a scheme is accepted and decides TLS.
  if (s.endpoint.starts_with("https://")) {
    s.endpoint.erase(0, 8);
    s.tls = true;
  } else if (s.endpoint.starts_with("http://")) {
    s.endpoint.erase(0, 7);
    s.tls = false;
  }
  while (!s.endpoint.empty() && s.endpoint.back() == '/') s.endpoint.pop_back();
  if (s.endpoint.empty() || s.endpoint.find_first_of("/?# ") != std::string::npos)
    return make_error(errc::invalid_argument,
                      "endpoint '" + spec.endpoint + "' is not a host[:port]");
  s.bucket = spec.bucket.name;
  if (s.bucket.empty()) return make_error(errc::invalid_argument, "bucket.name is required");
  if (!spec.region.empty()) s.region = spec.region;
  if (spec.ca_certificate)
    return make_error(errc::invalid_argument,
                      "caCertificate is not supported: the system CA store verifies the endpoint");
  auto access = read_secret(secrets, spec.access_key);
  if (!access) return make_error(access.error().code, "accessKey: " + access.error().message);
  auto secret = read_secret(secrets, spec.secret_key);
  if (!secret) return make_error(secret.error().code, "secretKey: " + secret.error().message);
  s.access_key = std::move(*access);
  s.secret_key = std::move(*secret);
  s.events = spec.events;
  if (spec.filter) {
    s.prefix = spec.filter->prefix;
    s.suffix = spec.filter->suffix;
  }
  s.metadata = metadata_json(spec.metadata);
  if (spec.poll_interval.count() <= 0)
    return make_error(errc::invalid_argument, "pollInterval must be positive");
  s.poll_interval = spec.poll_interval;
  return s;
}

bool s3_event_selected(const std::vector<std::string>& patterns, std::string_view name) {
  for (const auto& p : patterns) {
    if (p == name) return true;
    if (!p.empty() && p.back() == '*' &&
        name.starts_with(std::string_view(p).substr(0, p.size() - 1)))
      return true;
  }
  return false;
}

}  // namespace kairos::eventsources
