#pragma once

// The ListObjectsV2 response of S3-compatible stores, parsed by hand: only
// the few elements the minio source needs, robust to anything else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kairos/core/result.hpp"

namespace kairos::eventsources {

struct s3_object {
  std::string key;
  std::string etag;  // without the surrounding quotes
  std::string last_modified;
  std::int64_t size = 0;
};

struct list_page {
  std::vector<s3_object> objects;
  bool is_truncated = false;
  std::string next_continuation_token;
};

// A ListBucketResult document. An S3 <Error> document becomes an error whose
// message carries its Code and Message; anything that is not well-formed
// enough to read is an error too.
result<list_page> parse_list_objects_v2(std::string_view xml);

// XML character data with the five predefined entities and numeric
// references decoded; nullopt on an unknown or malformed reference.
std::optional<std::string> xml_unescape(std::string_view text);

}  // namespace kairos::eventsources
