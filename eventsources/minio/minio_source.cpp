#include "minio/minio_source.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include <spdlog/spdlog.h>

#include "kairos/core/http_client.hpp"
#include "kairos/core/sigv4.hpp"
#include "kairos/core/text.hpp"

namespace kairos::eventsources {

namespace {

constexpr std::string_view created_event = "s3:ObjectCreated:Put";
constexpr std::string_view removed_event = "s3:ObjectRemoved:Delete";
// A store that keeps answering IsTruncated must not keep the poll forever.
constexpr int max_pages = 100000;

nlohmann::json state_json(const std::map<std::string, listed_object>& objects) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, o] : objects) out[key] = {o.etag, o.last_modified, o.size};
  return {{"objects", std::move(out)}};
}

std::optional<std::map<std::string, listed_object>> objects_from(const nlohmann::json& state) {
  if (!state.is_object()) return std::nullopt;
  auto it = state.find("objects");
  if (it == state.end() || !it->is_object()) return std::nullopt;
  std::map<std::string, listed_object> out;
  for (const auto& [key, v] : it->items()) {
    if (!v.is_array() || v.size() != 3 || !v[0].is_string() || !v[1].is_string() ||
        !v[2].is_number_integer())
      continue;
    out[key] = {v[0].get<std::string>(), v[1].get<std::string>(), v[2].get<std::int64_t>()};
  }
  return out;
}

std::string sequencer(sys_time t) {
  char buffer[32];
  std::snprintf(
      buffer, sizeof buffer, "%016llX",
      static_cast<unsigned long long>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count()));
  return buffer;
}

}  // namespace

std::string query_escape(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

nlohmann::json s3_event_record(const minio_settings& s, std::string_view event_name,
                               const std::string& key, const listed_object& object,
                               sys_time event_time) {
  std::string host = s.endpoint;
  std::string port;
  if (const auto colon = host.rfind(':');
      colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    port = host.substr(colon + 1);
    host.erase(colon);
  }
  nlohmann::json object_json = {{"key", query_escape(key)},
                                {"size", object.size},
                                {"eTag", object.etag},
                                {"sequencer", sequencer(event_time)}};
  return {{"eventVersion", "2.0"},
          {"eventSource", "minio:s3"},
          {"awsRegion", s.region},
          {"eventTime", format_rfc3339(event_time)},
          {"eventName", event_name},
          {"userIdentity", {{"principalId", ""}}},
          {"requestParameters", nlohmann::json::object()},
          {"responseElements", nlohmann::json::object()},
          {"s3",
           {{"s3SchemaVersion", "1.0"},
            {"configurationId", "Config"},
            {"bucket",
             {{"name", s.bucket},
              {"ownerIdentity", {{"principalId", ""}}},
              {"arn", "arn:aws:s3:::" + s.bucket}}},
            {"object", std::move(object_json)}}},
          {"source", {{"host", host}, {"port", port}, {"userAgent", "kairos"}}}};
}

minio_source::minio_source(const source_context& ctx, std::string event_name,
                           minio_settings settings)
    : out_(ctx.out),
      origin_{ctx.namespace_, ctx.name, event_name, "minio"},
      settings_(std::move(settings)),
      state_name_(ctx.name + "/" + event_name) {}

result<void> minio_source::start() {
  auto state = out_->db().get_state("minio", origin_.namespace_, state_name_);
  if (!state)
    return make_error(state.error().code,
                      "cannot read the minio listing state: " + state.error().message);
  if (*state) known_ = objects_from(**state);
  next_ = out_->clock().now();
  return {};
}

void minio_source::stop() {
  stopped_ = true;
}

std::optional<sys_time> minio_source::poll(sys_time now) {
  if (stopped_) return std::nullopt;
  if (now < next_) return next_;
  if (auto synced = sync(now); !synced)
    spdlog::warn("minio {}/{}: {}", origin_.namespace_, state_name_, synced.error().message);
  next_ = now + std::chrono::duration_cast<sys_time::duration>(settings_.poll_interval);
  return next_;
}

result<std::map<std::string, listed_object>> minio_source::list_bucket(sys_time now) {
  const sigv4::credentials creds{settings_.access_key, settings_.secret_key, ""};
  const std::string path = "/" + settings_.bucket;
  std::map<std::string, listed_object> out;
  std::string token;
  std::set<std::string> seen_tokens;
  for (int page_no = 0; page_no < max_pages && !stopped_; ++page_no) {
    std::vector<std::pair<std::string, std::string>> query = {{"list-type", "2"}};
    if (!settings_.prefix.empty()) query.emplace_back("prefix", settings_.prefix);
    if (!token.empty()) query.emplace_back("continuation-token", token);
    http_client::request req;
    req.method = "GET";
    req.url = std::string(settings_.tls ? "https://" : "http://") + settings_.endpoint +
              sigv4::uri_encode(path, true) + "?" + sigv4::canonical_query(query);
    req.headers = sigv4::signed_headers_for("GET", settings_.endpoint, path, query, creds,
                                            settings_.region, "s3", now);
    req.timeout = settings_.request_timeout;
    auto res = http_client::perform(req);
    if (!res) return make_error(res.error().code, "listing failed: " + res.error().message);
    auto page = parse_list_objects_v2(res->body);
    if (res->status != 200) {
      std::string why = page ? std::string("unexpected body") : page.error().message;
      return make_error(errc::unavailable, "listing bucket " + settings_.bucket + " answered " +
                                               std::to_string(res->status) + ": " + why);
    }
    if (!page) return page.error();
    for (auto& o : page->objects) {
      if (!o.key.starts_with(settings_.prefix) || !o.key.ends_with(settings_.suffix)) continue;
      out[o.key] = {std::move(o.etag), std::move(o.last_modified), o.size};
    }
    if (!page->is_truncated) return out;
    token = page->next_continuation_token;
    if (!seen_tokens.insert(token).second)
      return make_error(errc::unavailable, "listing repeats continuation token '" + token + "'");
  }
  return make_error(errc::unavailable, "listing did not finish");
}

result<void> minio_source::sync(sys_time now) {
  auto listed = list_bucket(now);
  if (!listed) return listed.error();
  if (!known_) {
    auto saved =
        out_->db().put_state("minio", origin_.namespace_, state_name_, state_json(*listed));
    if (!saved) return make_error(saved.error().code, "cannot persist: " + saved.error().message);
    known_ = std::move(*listed);
    return {};
  }

  std::map<std::string, listed_object> next = *known_;
  bool refused = false;
  const auto emit_one = [&](std::string_view name, const std::string& key, const listed_object& o,
                            sys_time when) {
    const std::string id = origin_.namespace_ + "/" + origin_.source + "/" + origin_.subject + "/" +
                           sigv4::sha256_hex(settings_.bucket + "\n" + key + "\n" + o.etag + "\n" +
                                             o.last_modified + "\n" + std::string(name))
                               .substr(0, 40);
    nlohmann::json data = {
        {"notification", nlohmann::json::array({s3_event_record(settings_, name, key, o, when)})},
        {"metadata", settings_.metadata}};
    const auto outcome = out_->emit(origin_, id, std::move(data), std::nullopt, when);
    if (outcome.status == emit_status::failed) refused = true;
    return outcome.status != emit_status::failed;
  };

  // Changes in the order they happened, so sensors see them that way.
  std::vector<const std::pair<const std::string, listed_object>*> changed;
  for (const auto& entry : *listed) {
    auto it = known_->find(entry.first);
    if (it == known_->end() || it->second.etag != entry.second.etag ||
        it->second.last_modified != entry.second.last_modified)
      changed.push_back(&entry);
  }
  std::stable_sort(changed.begin(), changed.end(), [](const auto* a, const auto* b) {
    return a->second.last_modified < b->second.last_modified;
  });
  const bool want_created = s3_event_selected(settings_.events, created_event);
  for (const auto* entry : changed) {
    const auto when = parse_rfc3339(entry->second.last_modified).value_or(now);
    if (want_created && !emit_one(created_event, entry->first, entry->second, when)) continue;
    next[entry->first] = entry->second;
  }
  const bool want_removed = s3_event_selected(settings_.events, removed_event);
  for (const auto& [key, o] : *known_) {
    if (listed->count(key)) continue;
    if (want_removed && !emit_one(removed_event, key, o, now)) continue;
    next.erase(key);
  }

  auto saved = out_->db().put_state("minio", origin_.namespace_, state_name_, state_json(next));
  known_ = std::move(next);
  if (!saved) return make_error(saved.error().code, "cannot persist: " + saved.error().message);
  if (refused) return make_error(errc::unavailable, "the journal refused an event; retried");
  return {};
}

result<std::vector<std::unique_ptr<source>>> build_minio_sources(
    const source_context& ctx, const spec::event_source_spec& spec) {
  std::vector<std::unique_ptr<source>> out;
  for (const auto& [name, s] : spec.minio) {
    auto settings = minio_settings_from(s, *ctx.secrets);
    if (!settings)
      return make_error(settings.error().code, "minio." + name + ": " + settings.error().message);
    out.push_back(std::make_unique<minio_source>(ctx, name, std::move(*settings)));
  }
  return out;
}

}  // namespace kairos::eventsources
