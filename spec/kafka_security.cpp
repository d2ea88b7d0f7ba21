#include "kairos/spec/kafka_security.hpp"

#include <fmt/format.h>

namespace kairos::spec {

namespace {

result<std::string> read_secret(const secret_resolver* secrets, const secret_key_selector& ref,
                                std::string_view what) {
  if (!secrets)
    return make_error(errc::failed_precondition,
                      fmt::format("{}: no secret store to read {}/{}", what, ref.name, ref.key));
  auto v = secrets->resolve(ref);
  if (!v) return make_error(v.error().code, fmt::format("{}: {}", what, v.error().message));
  return v->reveal();
}

}  // namespace

result<std::vector<std::pair<std::string, std::string>>> kafka_security_properties(
    const std::optional<tls_config>& tls, const std::optional<sasl_config>& sasl,
    const secret_resolver* secrets) {
  std::vector<std::pair<std::string, std::string>> props;
  // Argo enables TLS whenever the block is present, like sarama's Net.TLS.Enable.
  const bool use_tls = tls.has_value();
  if (sasl)
    props.emplace_back("security.protocol", use_tls ? "sasl_ssl" : "sasl_plaintext");
  else if (use_tls)
    props.emplace_back("security.protocol", "ssl");
  if (tls) {
    if (tls->ca_cert_secret) {
      auto v = read_secret(secrets, *tls->ca_cert_secret, "tls.caCertSecret");
      if (!v) return std::move(v).error();
      props.emplace_back("ssl.ca.pem", std::move(*v));
    }
    if (tls->client_cert_secret) {
      auto v = read_secret(secrets, *tls->client_cert_secret, "tls.clientCertSecret");
      if (!v) return std::move(v).error();
      props.emplace_back("ssl.certificate.pem", std::move(*v));
    }
    if (tls->client_key_secret) {
      auto v = read_secret(secrets, *tls->client_key_secret, "tls.clientKeySecret");
      if (!v) return std::move(v).error();
      props.emplace_back("ssl.key.pem", std::move(*v));
    }
    if (tls->insecure_skip_verify) {
      props.emplace_back("enable.ssl.certificate.verification", "false");
      props.emplace_back("ssl.endpoint.identification.algorithm", "none");
    }
  }
  if (sasl) {
    switch (sasl->mechanism) {
      case sasl_mechanism::plain:
        props.emplace_back("sasl.mechanisms", "PLAIN");
        break;
      case sasl_mechanism::scram_sha_256:
        props.emplace_back("sasl.mechanisms", "SCRAM-SHA-256");
        break;
      case sasl_mechanism::scram_sha_512:
        props.emplace_back("sasl.mechanisms", "SCRAM-SHA-512");
        break;
    }
    if (sasl->user_secret) {
      auto v = read_secret(secrets, *sasl->user_secret, "sasl.userSecret");
      if (!v) return std::move(v).error();
      props.emplace_back("sasl.username", std::move(*v));
    }
    if (sasl->password_secret) {
      auto v = read_secret(secrets, *sasl->password_secret, "sasl.passwordSecret");
      if (!v) return std::move(v).error();
      props.emplace_back("sasl.password", std::move(*v));
    }
  }
  return props;
}

}  // namespace kairos::spec
