#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/listener.hpp"
#include "source.hpp"
#include "webhook/config.hpp"

namespace kairos::eventsources {

struct sns_settings {
  webhook_settings webhook;
  std::string topic_arn;
  std::string region;
  bool validate_signature = false;
  // Host of a custom SNS endpoint (spec `endpoint`): its SubscribeURL and
  // SigningCertURL are trusted besides sns.<region>.amazonaws.com.
  std::string endpoint_host;
};

// Tests: trust any http(s) SigningCertURL and SubscribeURL, so that a local
// server can play SNS. Never set outside tests.
inline std::atomic<bool> sns_trust_any_url_for_testing{false};

// The text SNS signs for a message (Notification, SubscriptionConfirmation,
// UnsubscribeConfirmation): "Name\nvalue\n" for its fields in AWS's order;
// nullopt when a required field is missing or not a string.
std::optional<std::string> sns_string_to_sign(const nlohmann::json& message);

// Whether a SigningCertURL or SubscribeURL may be fetched: https on
// sns.<region>.amazonaws.com(.cn), or on the custom endpoint's host.
bool sns_trusted_url(std::string_view url, std::string_view endpoint_host);

// Checks `Signature` (SignatureVersion 1: SHA1withRSA, 2: SHA256withRSA)
// against the certificate in `cert_pem`.
result<void> verify_sns_signature(const nlohmann::json& message, std::string_view cert_pem);

// Argo's sns event source: an HTTP endpoint on the shared listener that
// confirms subscriptions (by fetching the SubscribeURL), optionally checks
// signatures, and emits Notifications as {header, body, metadata}.
class sns_source final : public source {
 public:
  sns_source(const source_context& ctx, std::string event_name, sns_settings settings);
  ~sns_source() override;
  result<void> start() override;
  void stop() override;

  // What the route answers; public for tests.
  outbound_response handle(const inbound_request& req);

  struct core;

 private:
  std::shared_ptr<http_hub> hub_;
  std::uint16_t port_ = 0;
  std::optional<tls_material> tls_;
  std::shared_ptr<core> core_;  // shared with the route, which may outlive stop()
  std::shared_ptr<route> route_;
  bool started_ = false;
};

result<std::vector<std::unique_ptr<source>>> build_sns_sources(const source_context& ctx,
                                                               const spec::event_source_spec& spec);

}  // namespace kairos::eventsources
