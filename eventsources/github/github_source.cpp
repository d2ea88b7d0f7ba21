#include "github/github_source.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "kairos/core/digest.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "webhook/webhook_source.hpp"

namespace kairos::eventsources {

namespace {

std::string hmac_hex(digest::algorithm a, std::string_view key, std::string_view body) {
  return digest::hex(digest::hmac(a, key, body));
}

// Hex comparison in constant time for a given length; GitHub sends lower case,
// accept either case by lowering first.
bool same_hex(std::string_view expected_lower, std::string_view presented) {
  if (expected_lower.size() != presented.size()) return false;
  std::string lowered(presented);
  for (char& c : lowered)
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  return digest::equal(expected_lower, lowered);
}

bool event_wanted(const std::vector<std::string>& events, std::string_view type) {
  if (events.empty()) return true;
  return std::any_of(events.begin(), events.end(),
                     [&](const std::string& e) { return e == "*" || e == type; });
}

}  // namespace

std::string github_signature_sha256(std::string_view secret, std::string_view body) {
  return "sha256=" + hmac_hex(digest::algorithm::sha256, secret, body);
}

std::string github_signature_sha1(std::string_view secret, std::string_view body) {
  return "sha1=" + hmac_hex(digest::algorithm::sha1, secret, body);
}

signature_check verify_github_signature(std::string_view secret, std::string_view body,
                                        std::optional<std::string_view> sha256_header,
                                        std::optional<std::string_view> sha1_header) {
  if (sha256_header && !sha256_header->empty()) {
    constexpr std::string_view prefix = "sha256=";
    if (sha256_header->substr(0, prefix.size()) != prefix) return signature_check::invalid;
    return same_hex(hmac_hex(digest::algorithm::sha256, secret, body),
                    sha256_header->substr(prefix.size()))
               ? signature_check::ok
               : signature_check::invalid;
  }
  if (sha1_header && !sha1_header->empty()) {
    constexpr std::string_view prefix = "sha1=";
    if (sha1_header->substr(0, prefix.size()) != prefix) return signature_check::invalid;
    return same_hex(hmac_hex(digest::algorithm::sha1, secret, body),
                    sha1_header->substr(prefix.size()))
               ? signature_check::ok
               : signature_check::invalid;
  }
  return signature_check::missing;
}

outbound_response handle_github_delivery(const inbound_request& req, const github_settings& s,
                                         emitter& out, const event_origin& origin) {
  const std::string type(req.header("x-github-event").value_or(""));
  const std::string delivery(req.header("x-github-delivery").value_or(""));

  if (s.webhook_secret) {
    switch (verify_github_signature(*s.webhook_secret, req.body, req.header("x-hub-signature-256"),
                                    req.header("x-hub-signature"))) {
      case signature_check::ok:
        break;
      case signature_check::missing:
        out.count_failure(origin);
        spdlog::debug("github {}: delivery {} discarded: no signature", origin.subject, delivery);
        return error_reply(401, "missing X-Hub-Signature-256 header");
      case signature_check::invalid:
        out.count_failure(origin);
        spdlog::debug("github {}: delivery {} discarded: signature does not match", origin.subject,
                      delivery);
        return error_reply(401, "payload signature does not match");
    }
  }

  // As GitHub's own client library reads a delivery: JSON, or a form whose
  // `payload` field holds the JSON.
  std::string payload;
  const std::string media = media_type(req.header("content-type").value_or(""));
  if (media == "application/json") {
    payload = req.body;
  } else if (media == "application/x-www-form-urlencoded") {
    auto form = form_values(req.body);
    if (auto it = form.find("payload"); it != form.end() && !it->empty())
      payload = it->front().get<std::string>();
  } else {
    out.count_failure(origin);
    return error_reply(400, "webhook request has unsupported Content-Type '" + media + "'");
  }
  auto body = parse_json(payload);
  if (body.is_discarded() || !body.is_object()) {
    out.count_failure(origin);
    return error_reply(400, "the delivery payload is not a JSON object");
  }

  if (!event_wanted(s.events, type)) {
    spdlog::debug("github {}: delivery {} discarded: event type '{}' is not in events",
                  origin.subject, delivery, type);
    return json_reply(200, {{"status", "ignored"}});
  }

  // Argo adds these two headers to the body, so sensors can filter on them.
  body["X-GitHub-Event"] = type;
  body["X-GitHub-Delivery"] = delivery;
  nlohmann::json data = {
      {"headers", header_object(req.headers)}, {"body", std::move(body)}, {"metadata", s.metadata}};
  // The delivery id makes a redelivery a journal duplicate. It is scoped to
  // the event, so two sources that receive one delivery both journal it.
  std::string id = delivery.empty() ? time_ordered_uuid(out.clock().now())
                                    : origin.namespace_ + "/" + origin.source + "/" +
                                          origin.subject + "/" + delivery;
  return reply_for(out.emit(origin, std::move(id), std::move(data), s.hook.filter));
}

github_source::github_source(const source_context& ctx, std::string event_name,
                             github_settings settings)
    : hub_(ctx.http), port_(settings.hook.port), tls_(settings.hook.tls) {
  route_ = std::make_shared<route>();
  route_->endpoint = settings.hook.endpoint;
  route_->method = settings.hook.method;
  route_->max_payload = settings.hook.max_payload;
  route_->auth_token = settings.hook.auth_token;
  route_->owner = ctx.namespace_ + "/" + ctx.name + "/" + event_name;
  const event_origin origin{ctx.namespace_, ctx.name, event_name, "github"};
  route_->handler =
      [out = ctx.out, origin, s = std::make_shared<const github_settings>(std::move(settings))](
          const inbound_request& req) { return handle_github_delivery(req, *s, *out, origin); };
}

github_source::~github_source() {
  stop();
}

result<void> github_source::start() {
  if (auto added = hub_->add_route(port_, tls_, route_); !added)
    return make_error(added.error().code, route_->owner + ": port " + std::to_string(port_) + ": " +
                                              added.error().message);
  started_ = true;
  return {};
}

void github_source::stop() {
  if (!started_) return;
  started_ = false;
  hub_->remove_route(port_, route_.get());
}

result<std::vector<std::unique_ptr<source>>> build_github_sources(
    const source_context& ctx, const spec::event_source_spec& spec) {
  std::vector<std::unique_ptr<source>> out;
  for (const auto& [name, s] : spec.github) {
    auto settings = github_settings_from(s, *ctx.secrets);
    if (!settings)
      return make_error(settings.error().code, "github." + name + ": " + settings.error().message);
    out.push_back(std::make_unique<github_source>(ctx, name, std::move(*settings)));
  }
  return out;
}

}  // namespace kairos::eventsources
