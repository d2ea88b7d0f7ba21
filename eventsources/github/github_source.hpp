#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "github/config.hpp"
#include "http/listener.hpp"
#include "source.hpp"

namespace kairos::eventsources {

enum class signature_check { ok, missing, invalid };

// GitHub's HMAC over the raw body: X-Hub-Signature-256 (`sha256=<hex>`)
// when present, else X-Hub-Signature (`sha1=<hex>`). Compared in constant
// time.
signature_check verify_github_signature(std::string_view secret, std::string_view body,
                                        std::optional<std::string_view> sha256_header,
                                        std::optional<std::string_view> sha1_header);

// `sha256=<hex>` of the body, as GitHub computes it (tests, README).
std::string github_signature_sha256(std::string_view secret, std::string_view body);
std::string github_signature_sha1(std::string_view secret, std::string_view body);

// Everything between the listener and the journal for one delivery. Returns
// the HTTP answer; emits through `out` when the delivery is accepted.
outbound_response handle_github_delivery(const inbound_request& req, const github_settings& s,
                                         emitter& out, const event_origin& origin);

class github_source final : public source {
 public:
  github_source(const source_context& ctx, std::string event_name, github_settings settings);
  ~github_source() override;
  result<void> start() override;
  void stop() override;

 private:
  std::shared_ptr<http_hub> hub_;
  std::uint16_t port_ = 0;
  std::optional<tls_material> tls_;
  std::shared_ptr<route> route_;
  bool started_ = false;
};

result<std::vector<std::unique_ptr<source>>> build_github_sources(
    const source_context& ctx, const spec::event_source_spec& spec);

}  // namespace kairos::eventsources
