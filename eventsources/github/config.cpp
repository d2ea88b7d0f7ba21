#include "github/config.hpp"

namespace kairos::eventsources {

result<github_settings> github_settings_from(const spec::github_event_source& spec,
                                             const spec::secret_resolver& secrets) {
  auto hook = webhook_settings_from(spec.webhook, spec.filter, secrets);
  if (!hook) return hook.error();
  github_settings s;
  s.hook = std::move(*hook);
  s.events = spec.events;
  if (spec.webhook_secret) {
    auto secret = read_secret(secrets, *spec.webhook_secret);
    if (!secret) return make_error(secret.error().code, "webhookSecret: " + secret.error().message);
    if (!secret->empty()) s.webhook_secret = std::move(*secret);
  }
  s.metadata = metadata_json(spec.metadata);
  return s;
}

}  // namespace kairos::eventsources
