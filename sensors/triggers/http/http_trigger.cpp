#include "http_trigger.hpp"

#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "config.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "kairos/sensors/parameters.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::sensors::http_trigger {
namespace {

class action final : public trigger_action {
 public:
  action(std::shared_ptr<http_sender> sender, std::filesystem::path data_dir)
      : sender_(std::move(sender)), secrets_(std::move(data_dir)) {}

  result<void> execute(const spec::trigger& t, const firing& f) override {
    auto c = read_config(t);
    if (!c) return std::move(c).error();
    http_client::request req;
    req.method = c->method;
    req.url = c->url;
    req.timeout = c->timeout;
    req.insecure_skip_verify = c->insecure_skip_verify;
    req.headers = c->headers;
    auto payload = build_payload(c->payload, f.events);
    if (!payload) return std::move(payload).error();
    if (!payload->is_null()) {
      req.body = dump_json_replacing(*payload);
      bool has_type = false;
      for (const auto& [k, v] : req.headers)
        has_type = has_type || (k.size() == 12 && strcasecmp(k.c_str(), "content-type") == 0);
      if (!has_type) req.headers.emplace_back("Content-Type", "application/json");
    }
    for (const auto& p : c->dynamic_headers) {
      auto v = resolve_parameter(p.src, f.events);
      if (!v) return std::move(v).error();
      req.headers.emplace_back(p.dest, v->text);
    }
    if (!c->host.empty()) req.headers.emplace_back("Host", c->host);
    // Secret values go only into the request, never into a message.
    for (const auto& h : c->secure_headers) {
      auto v = secrets_.resolve(h.secret_key_ref);
      if (!v)
        return make_error(v.error().code,
                          fmt::format("secure header \"{}\": {}", h.name, v.error().message));
      req.headers.emplace_back(h.name, v->reveal());
    }
    if (c->basic_auth) {
      std::string user, password;
      if (c->basic_auth->username) {
        auto v = secrets_.resolve(*c->basic_auth->username);
        if (!v) return std::move(v).error();
        user = v->reveal();
      }
      if (c->basic_auth->password) {
        auto v = secrets_.resolve(*c->basic_auth->password);
        if (!v) return std::move(v).error();
        password = v->reveal();
      }
      req.headers.emplace_back("Authorization", "Basic " + base64_encode(user + ":" + password));
    }
    auto res = sender_->send(req);
    if (!res)
      return make_error(res.error().code,
                        fmt::format("{} {}: {}", req.method, req.url, res.error().message));
    if (!status_allowed(*c, res->status))
      return make_error(errc::unavailable,
                        fmt::format("{} {}: response status {} is not allowed by the policy",
                                    req.method, req.url, res->status));
    spdlog::info("sensor {}/{} trigger {}: {} {} -> {}", f.sensor_namespace, f.sensor_name,
                 f.trigger_name, req.method, req.url, res->status);
    return {};
  }

 private:
  std::shared_ptr<http_sender> sender_;
  spec::secret_resolver secrets_;
};

}  // namespace

result<std::unique_ptr<trigger_action>> make(const spec::trigger& t,
                                             const trigger_services& services) {
  auto c = read_config(t);
  if (!c) return std::move(c).error();
  auto sender = services.http ? services.http : default_http_sender();
  return std::unique_ptr<trigger_action>(new action(std::move(sender), services.data_dir));
}

}  // namespace kairos::sensors::http_trigger
