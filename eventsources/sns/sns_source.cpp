#include "sns/sns_source.hpp"

#include <map>
#include <mutex>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <boost/url/parse.hpp>

#include "kairos/core/http_client.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "webhook/webhook_source.hpp"

namespace kairos::eventsources {

namespace {

// Certificates are few (one per region and key rotation); the bound only
// stops a flood of forged URLs from growing memory when validation is off.
constexpr std::size_t max_cached_certs = 16;
constexpr std::size_t max_cert_bytes = 64 * 1024;

std::optional<std::string> string_field(const nlohmann::json& m, const char* name) {
  auto it = m.find(name);
  if (it == m.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// SNS signatures may arrive wrapped; whitespace is not part of base64.
std::optional<std::string> decode_signature(std::string_view in) {
  std::string clean;
  for (char c : in)
    if (c != '\n' && c != '\r' && c != ' ') clean.push_back(c);
  if (clean.empty()) return std::nullopt;
  return base64_decode(clean);
}

bool is_sns_host(std::string_view host) {
  for (std::string_view suffix : {".amazonaws.com", ".amazonaws.com.cn"}) {
    if (!host.starts_with("sns.") || !host.ends_with(suffix)) continue;
    const auto region = host.substr(4, host.size() - 4 - suffix.size());
    if (region.empty()) return false;
    for (char c : region)
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
        return false;
    return true;
  }
  return false;
}

}  // namespace

std::optional<std::string> sns_string_to_sign(const nlohmann::json& message) {
  if (!message.is_object()) return std::nullopt;
  const auto type = string_field(message, "Type");
  if (!type) return std::nullopt;
  std::vector<const char*> fields;
  if (*type == "Notification") {
    fields = {"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"};
  } else if (*type == "SubscriptionConfirmation" || *type == "UnsubscribeConfirmation") {
    fields = {"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"};
  } else {
    return std::nullopt;
  }
  std::string out;
  for (const char* name : fields) {
    auto value = string_field(message, name);
    if (!value) {
      // A notification without a subject leaves the pair out.
      if (std::string_view(name) == "Subject" && !message.contains(name)) continue;
      return std::nullopt;
    }
    out += name;
    out += '\n';
    out += *value;
    out += '\n';
  }
  return out;
}

bool sns_trusted_url(std::string_view url, std::string_view endpoint_host) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return false;
  const std::string scheme(parsed->scheme());
  const std::string host(parsed->host_address());
  if (sns_trust_any_url_for_testing) return scheme == "https" || scheme == "http";
  if (scheme != "https") return false;
  if (!endpoint_host.empty() && host == endpoint_host) return true;
  return is_sns_host(host);
}

result<void> verify_sns_signature(const nlohmann::json& message, std::string_view cert_pem) {
  const auto text = sns_string_to_sign(message);
  if (!text) return make_error(errc::invalid_argument, "message lacks a field SNS signs");
  const auto version = string_field(message, "SignatureVersion").value_or("1");
  const EVP_MD* md = version == "1" ? EVP_sha1() : version == "2" ? EVP_sha256() : nullptr;
  if (!md) return make_error(errc::invalid_argument, "unknown SignatureVersion '" + version + "'");
  const auto signature = decode_signature(string_field(message, "Signature").value_or(""));
  if (!signature) return make_error(errc::invalid_argument, "Signature is not base64");

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())), &BIO_free);
  if (!bio) return make_error(errc::internal, "out of memory");
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  if (!cert) return make_error(errc::invalid_argument, "signing certificate is not PEM");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(X509_get_pubkey(cert.get()),
                                                          &EVP_PKEY_free);
  if (!key) return make_error(errc::invalid_argument, "signing certificate has no public key");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key.get()) != 1)
    return make_error(errc::internal, "cannot set up signature verification");
  const int ok = EVP_DigestVerify(
      ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
      reinterpret_cast<const unsigned char*>(text->data()), text->size());
  if (ok != 1) return make_error(errc::unauthenticated, "SNS signature does not verify");
  return {};
}

struct sns_source::core {
  std::shared_ptr<emitter> out;
  event_origin origin;
  sns_settings settings;
  std::mutex certs_mutex;
  std::map<std::string, std::string> certs;  // SigningCertURL -> PEM

  result<std::string> certificate(const std::string& url) {
    {
      std::lock_guard lock(certs_mutex);
      if (auto it = certs.find(url); it != certs.end()) return it->second;
    }
    http_client::request req;
    req.url = url;
    req.timeout = std::chrono::seconds(10);
    req.max_response_bytes = max_cert_bytes;
    auto res = http_client::perform(req);
    if (!res)
      return make_error(res.error().code, "cannot fetch " + url + ": " + res.error().message);
    if (res->status != 200)
      return make_error(errc::unavailable,
                        "fetching " + url + " answered " + std::to_string(res->status));
    std::lock_guard lock(certs_mutex);
    if (certs.size() >= max_cached_certs) certs.clear();
    certs[url] = res->body;
    return res->body;
  }

  outbound_response handle(const inbound_request& req) {
    auto body = parse_json(req.body);
    if (body.is_discarded() || !body.is_object()) {
      out->count_failure(origin);
      return error_reply(400, "the body is not an SNS message (a JSON object)");
    }
    const auto type = string_field(body, "Type").value_or("");
    if (settings.validate_signature) {
      const auto cert_url = string_field(body, "SigningCertURL").value_or("");
      if (!sns_trusted_url(cert_url, settings.endpoint_host)) {
        out->count_failure(origin);
        return error_reply(401, "SigningCertURL '" + cert_url + "' is not an SNS https URL");
      }
      auto pem = certificate(cert_url);
      if (!pem) {
        out->count_failure(origin);
        return error_reply(502, pem.error().message);
      }
      if (auto verified = verify_sns_signature(body, *pem); !verified) {
        out->count_failure(origin);
        return error_reply(401, verified.error().message);
      }
    }
    if (type == "SubscriptionConfirmation") return confirm(body);
    if (type != "Notification") return success_reply();  // UnsubscribeConfirmation and others

    auto id = string_field(body, "MessageId");
    // SNS redelivers with the same MessageId; the id makes that a duplicate.
    std::string event_id = id && !id->empty() ? origin.namespace_ + "/" + origin.source + "/" +
                                                    origin.subject + "/" + *id
                                              : random_uuid();
    nlohmann::json data = {{"header", header_object(req.headers)},
                           {"body", std::move(body)},
                           {"metadata", settings.webhook.metadata}};
    return reply_for(
        out->emit(origin, std::move(event_id), std::move(data), settings.webhook.filter));
  }

  outbound_response confirm(const nlohmann::json& body) {
    const auto url = string_field(body, "SubscribeURL").value_or("");
    if (!sns_trusted_url(url, settings.endpoint_host)) {
      out->count_failure(origin);
      return error_reply(400, "SubscribeURL '" + url + "' is not an SNS https URL");
    }
    http_client::request req;
    req.url = url;
    req.timeout = std::chrono::seconds(10);
    req.max_response_bytes = 1 << 20;
    auto res = http_client::perform(req);
    if (!res || res->status < 200 || res->status >= 300) {
      const std::string why = !res ? res.error().message : "status " + std::to_string(res->status);
      spdlog::warn("sns {}/{}/{}: subscription confirmation failed: {}", origin.namespace_,
                   origin.source, origin.subject, why);
      return error_reply(502, "cannot confirm the subscription: " + why);
    }
    spdlog::info("sns {}/{}/{}: subscription to {} confirmed", origin.namespace_, origin.source,
                 origin.subject, string_field(body, "TopicArn").value_or("?"));
    return success_reply();
  }
};

sns_source::sns_source(const source_context& ctx, std::string event_name, sns_settings settings)
    : hub_(ctx.http),
      port_(settings.webhook.port),
      tls_(settings.webhook.tls),
      core_(std::make_shared<core>()) {
  core_->out = ctx.out;
  core_->origin = {ctx.namespace_, ctx.name, event_name, "sns"};
  core_->settings = std::move(settings);
  route_ = std::make_shared<route>();
  route_->endpoint = core_->settings.webhook.endpoint;
  route_->method = core_->settings.webhook.method.empty() ? "POST" : core_->settings.webhook.method;
  route_->max_payload = core_->settings.webhook.max_payload;
  route_->auth_token = core_->settings.webhook.auth_token;
  route_->owner = ctx.namespace_ + "/" + ctx.name + "/" + event_name;
  route_->handler = [c = core_](const inbound_request& req) { return c->handle(req); };
}

sns_source::~sns_source() {
  stop();
}

outbound_response sns_source::handle(const inbound_request& req) {
  return core_->handle(req);
}

result<void> sns_source::start() {
  if (auto added = hub_->add_route(port_, tls_, route_); !added)
    return make_error(added.error().code, route_->owner + ": port " + std::to_string(port_) + ": " +
                                              added.error().message);
  started_ = true;
  return {};
}

void sns_source::stop() {
  if (!started_) return;
  started_ = false;
  hub_->remove_route(port_, route_.get());
}

result<std::vector<std::unique_ptr<source>>> build_sns_sources(
    const source_context& ctx, const spec::event_source_spec& spec) {
  std::vector<std::unique_ptr<source>> out;
  for (const auto& [name, s] : spec.sns) {
    sns_settings settings;
    auto hook = webhook_settings_from(s.webhook, s.filter, *ctx.secrets);
    if (!hook) return make_error(hook.error().code, "sns." + name + ": " + hook.error().message);
    settings.webhook = std::move(*hook);
    if (settings.webhook.max_payload == 0) settings.webhook.max_payload = ctx.default_max_payload;
    // The sns spec carries metadata beside the webhook, not inside it.
    if (!s.metadata.empty()) settings.webhook.metadata = metadata_json(s.metadata);
    settings.topic_arn = s.topic_arn;
    settings.region = s.region;
    settings.validate_signature = s.validate_signature;
    if (!s.endpoint.empty()) {
      std::string endpoint = s.endpoint;
      if (endpoint.find("://") == std::string::npos) endpoint = "https://" + endpoint;
      auto parsed = boost::urls::parse_absolute_uri(endpoint);
      if (!parsed)
        return make_error(errc::invalid_argument,
                          "sns." + name + ": endpoint '" + s.endpoint + "' is not a URL");
      settings.endpoint_host = std::string(parsed->host_address());
    }
    out.push_back(std::make_unique<sns_source>(ctx, name, std::move(settings)));
  }
  return out;
}

}  // namespace kairos::eventsources
