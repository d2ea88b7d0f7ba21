#include "webhook/config.hpp"

namespace kairos::eventsources {

result<std::string> read_secret(const spec::secret_resolver& secrets,
                                const spec::secret_key_selector& ref) {
  auto value = secrets.resolve(ref);
  if (!value) return value.error();
  std::string text = value->reveal();
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

nlohmann::json metadata_json(const std::map<std::string, std::string>& metadata) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : metadata) out[k] = v;
  return out;
}

result<webhook_settings> webhook_settings_from(const spec::webhook_context& spec,
                                               const std::optional<spec::event_source_filter>& f,
                                               const spec::secret_resolver& secrets) {
  webhook_settings s;
  s.endpoint = spec.endpoint;
  s.method = spec.method;
  s.port = spec.port_number;
  if (s.port == 0) return make_error(errc::invalid_argument, "port '" + spec.port + "' is invalid");
  s.max_payload = spec.max_payload_size > 0
                      ? static_cast<std::size_t>(spec.max_payload_size)
                      : static_cast<std::size_t>(spec::default_max_payload_size);
  if (spec.auth_secret) {
    auto token = read_secret(secrets, *spec.auth_secret);
    if (!token) return make_error(token.error().code, "authSecret: " + token.error().message);
    // An optional secret that is absent leaves the endpoint open, as in Argo.
    if (!token->empty()) s.auth_token = std::move(*token);
  }
  if (spec.server_cert_secret && spec.server_key_secret) {
    auto cert = secrets.resolve(*spec.server_cert_secret);
    if (!cert) return make_error(cert.error().code, "serverCertSecret: " + cert.error().message);
    auto key = secrets.resolve(*spec.server_key_secret);
    if (!key) return make_error(key.error().code, "serverKeySecret: " + key.error().message);
    s.tls = tls_material{cert->reveal(), key->reveal()};
  }
  s.metadata = metadata_json(spec.metadata);
  if (f && !f->expression.empty()) s.filter = f->expression;
  return s;
}

}  // namespace kairos::eventsources
