#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "http/listener.hpp"
#include "source.hpp"
#include "webhook/config.hpp"

namespace kairos::eventsources {

// Go's url.ParseQuery: `a=1&a=2&b` becomes {"a": ["1", "2"], "b": [""]}.
// Pairs with a bad escape or a ';' are skipped, as Go skips them.
nlohmann::json form_values(std::string_view encoded);

// The media type of a Content-Type value, lower case, parameters dropped.
std::string media_type(std::string_view content_type);

// A request body as Argo's `body`: JSON when it parses, the text otherwise,
// null when empty.
nlohmann::json body_value(const std::string& body);

// Argo's webhook data, `{header, body, metadata}`: a GET's query and a form
// post's fields become `{name: [values]}`, other bodies are JSON.
nlohmann::json webhook_data(const inbound_request& req, const nlohmann::json& metadata);

// webhook_data printed without building it, for the usual request: a body
// that is JSON (kept as it came, as a Kafka source with jsonBody keeps its
// messages), text, or empty, and headers and text that are UTF-8. It parses
// back as webhook_data(req, metadata) does, where `metadata_text` is that
// metadata printed. nullopt: the request needs webhook_data (a GET's query,
// a form post, a body that is neither JSON nor UTF-8, a leading byte order
// mark, a header that is not UTF-8).
std::optional<std::string> webhook_data_text(const inbound_request& req,
                                             std::string_view metadata_text);

// The HTTP answer for an emit outcome: 200 once committed (or already
// journaled, or filtered out), 503 when the journal refused it.
outbound_response reply_for(const emit_result& outcome);

class webhook_source final : public source {
 public:
  webhook_source(const source_context& ctx, std::string event_name, webhook_settings settings);
  ~webhook_source() override;
  result<void> start() override;
  void stop() override;

 private:
  std::shared_ptr<http_hub> hub_;
  webhook_settings settings_;
  std::shared_ptr<route> route_;
  bool started_ = false;
};

result<std::vector<std::unique_ptr<source>>> build_webhook_sources(
    const source_context& ctx, const spec::event_source_spec& spec);

}  // namespace kairos::eventsources
