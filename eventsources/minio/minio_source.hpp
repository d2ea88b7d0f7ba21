#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "minio/config.hpp"
#include "minio/list_objects.hpp"
#include "source.hpp"

namespace kairos::eventsources {

using sys_time = std::chrono::system_clock::time_point;

// What the last listing saw of one key.
struct listed_object {
  std::string etag;
  std::string last_modified;
  std::int64_t size = 0;
};

// Go's url.QueryEscape, which MinIO applies to the key of its event records.
std::string query_escape(std::string_view s);

// One S3 event record as MinIO writes it (eventVersion 2.0, eventSource
// minio:s3), for an object seen by a listing.
nlohmann::json s3_event_record(const minio_settings& s, std::string_view event_name,
                               const std::string& key, const listed_object& object,
                               sys_time event_time);

// Argo's minio event source for any S3-compatible store, by polling: every
// poll_interval the bucket is listed with signed ListObjectsV2 requests and
// each new or changed key is emitted as s3:ObjectCreated:Put (each vanished
// key as s3:ObjectRemoved:Delete), when `events` selects that name. The
// key -> ETag map is kept in the store (scope "minio", name
// "<eventsource>/<event>") and written after the events are journaled, so a
// restart neither misses nor repeats an object. The first listing of a new
// source records what is there without emitting it, as MinIO only notifies
// changes made after the subscription.
class minio_source final : public source {
 public:
  minio_source(const source_context& ctx, std::string event_name, minio_settings settings);
  result<void> start() override;
  void stop() override;
  std::optional<sys_time> poll(sys_time now) override;

  // One listing and diff, now. Tests call it through poll().
  result<void> sync(sys_time now);

 private:
  result<std::map<std::string, listed_object>> list_bucket(sys_time now);

  std::shared_ptr<emitter> out_;
  event_origin origin_;
  minio_settings settings_;
  std::string state_name_;
  std::optional<std::map<std::string, listed_object>> known_;  // nullopt: never listed
  sys_time next_{};
  std::atomic<bool> stopped_{false};
};

result<std::vector<std::unique_ptr<source>>> build_minio_sources(
    const source_context& ctx, const spec::event_source_spec& spec);

}  // namespace kairos::eventsources
