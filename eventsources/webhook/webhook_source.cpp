#include "webhook/webhook_source.hpp"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"

namespace kairos::eventsources {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Go's QueryUnescape: '+' is a space, %XX a byte; a bad escape fails.
std::optional<std::string> query_unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      const int hi = hex_value(s[i + 1]);
      const int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

nlohmann::json form_values(std::string_view encoded) {
  nlohmann::json out = nlohmann::json::object();
  while (!encoded.empty()) {
    const auto amp = encoded.find('&');
    std::string_view pair = encoded.substr(0, amp);
    encoded = amp == std::string_view::npos ? std::string_view{} : encoded.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    const auto eq = pair.find('=');
    auto key = query_unescape(pair.substr(0, eq));
    auto value =
        query_unescape(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!key || !value) continue;
    auto& list = out[*key];
    if (!list.is_array()) list = nlohmann::json::array();
    list.push_back(std::move(*value));
  }
  return out;
}

std::string media_type(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.remove_suffix(1);
  std::string out(t);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

namespace {

// The text Argo's `body` is made of as form fields (a GET's query, a form
// post's body); nullopt: the body itself. One decision for the built and
// the printed data, which must agree.
std::optional<std::string_view> form_text(const inbound_request& req) {
  if (req.method == "GET") return std::string_view(req.query);
  if (req.method == "POST" &&
      media_type(req.header("content-type").value_or("")) == "application/x-www-form-urlencoded")
    return std::string_view(req.body);
  return std::nullopt;
}

// A body of whitespace only is Argo's null.
bool blank(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

nlohmann::json body_value(const std::string& body) {
  if (blank(body)) return nullptr;
  auto parsed = parse_json(body);
  if (parsed.is_discarded()) return body;
  return parsed;
}

nlohmann::json webhook_data(const inbound_request& req, const nlohmann::json& metadata) {
  const auto form = form_text(req);
  nlohmann::json body = form ? form_values(*form) : body_value(req.body);
  return {
      {"header", header_object(req.headers)}, {"body", std::move(body)}, {"metadata", metadata}};
}

std::optional<std::string> webhook_data_text(const inbound_request& req,
                                             std::string_view metadata_text) {
  if (form_text(req)) return std::nullopt;
  // A byte order mark is JSON to nlohmann at the start of a document, not
  // in the middle of the envelope.
  if (req.body.rfind("\xEF\xBB\xBF", 0) == 0) return std::nullopt;
  const auto groups = group_headers(req.headers);
  std::string out;
  out.reserve(req.body.size() + metadata_text.size() + 64 * (groups.size() + 1));
  try {
    out += "{\"body\":";
    if (blank(req.body)) {
      out += "null";
    } else if (is_json(req.body)) {
      out += req.body;
    } else {
      dump_json_string(req.body, out);
    }
    out += ",\"header\":{";
    for (std::size_t i = 0; i < groups.size(); ++i) {
      if (i > 0) out += ',';
      dump_json_string(groups[i].first, out);
      out += ":[";
      for (std::size_t j = 0; j < groups[i].second.size(); ++j) {
        if (j > 0) out += ',';
        dump_json_string(groups[i].second[j], out);
      }
      out += ']';
    }
    out += "},\"metadata\":";
    out += metadata_text;
    out += '}';
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // not UTF-8: webhook_data and the store's printing handle it
  }
  return out;
}

outbound_response reply_for(const emit_result& outcome) {
  switch (outcome.status) {
    case emit_status::committed:
    case emit_status::duplicate:
    case emit_status::filtered:
      return success_reply();
    case emit_status::failed:
      break;
  }
  return error_reply(503, "cannot record the event: " + outcome.message);
}

webhook_source::webhook_source(const source_context& ctx, std::string event_name,
                               webhook_settings settings)
    : hub_(ctx.http), settings_(std::move(settings)) {
  route_ = std::make_shared<route>();
  route_->endpoint = settings_.endpoint;
  route_->method = settings_.method;
  route_->max_payload = settings_.max_payload;
  route_->auth_token = settings_.auth_token;
  const event_origin origin{ctx.namespace_, ctx.name, event_name, "webhook"};
  route_->owner = ctx.namespace_ + "/" + ctx.name + "/" + event_name;
  // Printed once; nullopt when it cannot be (not UTF-8): the tree path
  // then handles every request.
  std::optional<std::string> metadata_text;
  try {
    metadata_text = dump_json(settings_.metadata);
  } catch (const nlohmann::json::exception&) {
  }
  // Asynchronous: building the data is bounded by maxPayloadSize, and the
  // journal append is queued, so the connection's thread never blocks.
  route_->async_handler = [out = ctx.out, origin, metadata = settings_.metadata,
                           metadata_text = std::move(metadata_text), filter = settings_.filter](
                              const inbound_request& req, route::done_fn done) {
    // Without a filter to evaluate, the envelope is printed straight from
    // the request: no tree is built, printed and freed per request.
    if (metadata_text && (!filter || filter->empty())) {
      if (auto text = webhook_data_text(req, *metadata_text)) {
        const auto now = out->clock().now();
        std::optional<store::event_record> record;
        try {
          record = make_event_text(origin, time_ordered_uuid(now), now, *text);
        } catch (const nlohmann::json::exception&) {
          // A column that is not UTF-8: the tree path below prints it its way.
        }
        if (record) {
          std::vector<store::event_record> one;
          one.push_back(std::move(*record));
          out->append_prepared_async(
              origin, out->prepare_records(std::move(one)),
              [done = std::move(done)](std::vector<emit_result> r) { done(reply_for(r.front())); });
          return;
        }
      }
    }
    auto data = webhook_data(req, metadata);
    out->emit_async(origin, time_ordered_uuid(out->clock().now()), std::move(data), filter,
                    [done = std::move(done)](emit_result r) { done(reply_for(r)); });
  };
}

webhook_source::~webhook_source() {
  stop();
}

result<void> webhook_source::start() {
  if (auto added = hub_->add_route(settings_.port, settings_.tls, route_); !added)
    return make_error(
        added.error().code,
        route_->owner + ": port " + std::to_string(settings_.port) + ": " + added.error().message);
  started_ = true;
  return {};
}

void webhook_source::stop() {
  if (!started_) return;
  started_ = false;
  hub_->remove_route(settings_.port, route_.get());
}

result<std::vector<std::unique_ptr<source>>> build_webhook_sources(
    const source_context& ctx, const spec::event_source_spec& spec) {
  std::vector<std::unique_ptr<source>> out;
  for (const auto& [name, s] : spec.webhook) {
    auto settings = webhook_settings_from(s.webhook, s.filter, *ctx.secrets);
    if (!settings)
      return make_error(settings.error().code, "webhook." + name + ": " + settings.error().message);
    if (settings->max_payload == 0) settings->max_payload = ctx.default_max_payload;
    out.push_back(std::make_unique<webhook_source>(ctx, name, std::move(*settings)));
  }
  return out;
}

}  // namespace kairos::eventsources
