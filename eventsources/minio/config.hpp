#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::eventsources {

// One `minio` event with its secrets read.
struct minio_settings {
  std::string endpoint;  // host[:port], the Host header
  bool tls = true;       // false with `insecure`
  std::string bucket;
  std::string region = "us-east-1";
  std::string access_key;
  std::string secret_key;
  std::vector<std::string> events;  // patterns, `*` matches any rest
  std::string prefix;
  std::string suffix;
  nlohmann::json metadata = nlohmann::json::object();
  std::chrono::nanoseconds poll_interval = spec::default_minio_poll_interval;
  std::chrono::milliseconds request_timeout{30000};
};

result<minio_settings> minio_settings_from(const spec::minio_event_source& spec,
                                           const spec::secret_resolver& secrets);

// Whether an S3 event name is selected by `patterns` (MinIO's rule: equal,
// or the pattern ends in `*` and the name starts with what precedes it).
bool s3_event_selected(const std::vector<std::string>& patterns, std::string_view name);

}  // namespace kairos::eventsources
