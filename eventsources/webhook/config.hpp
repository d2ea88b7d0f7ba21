#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "http/listener.hpp"
#include "kairos/core/result.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::eventsources {

// One HTTP endpoint with its secrets read: Argo's WebhookContext.
struct webhook_settings {
  std::string endpoint;
  std::string method;
  std::uint16_t port = 0;
  std::size_t max_payload = 1 << 20;
  std::optional<std::string> auth_token;
  std::optional<tls_material> tls;
  nlohmann::json metadata = nlohmann::json::object();
  std::optional<std::string> filter;
};

// A secret file's content as Argo reads it: one trailing newline dropped,
// since editors add one that nobody means.
result<std::string> read_secret(const spec::secret_resolver& secrets,
                                const spec::secret_key_selector& ref);

result<webhook_settings> webhook_settings_from(const spec::webhook_context& spec,
                                               const std::optional<spec::event_source_filter>& f,
                                               const spec::secret_resolver& secrets);

nlohmann::json metadata_json(const std::map<std::string, std::string>& metadata);

}  // namespace kairos::eventsources
