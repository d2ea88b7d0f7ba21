#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"
#include "webhook/config.hpp"

namespace kairos::eventsources {

struct github_settings {
  webhook_settings hook;
  // Accepted X-GitHub-Event values; empty or containing "*": every type.
  std::vector<std::string> events;
  // HMAC key of X-Hub-Signature-256 / X-Hub-Signature; unset: not checked.
  std::optional<std::string> webhook_secret;
  nlohmann::json metadata = nlohmann::json::object();
};

result<github_settings> github_settings_from(const spec::github_event_source& spec,
                                             const spec::secret_resolver& secrets);

}  // namespace kairos::eventsources
