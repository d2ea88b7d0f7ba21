// Fuzz target: ListObjectsV2 responses come from whatever answers at the
// configured endpoint. Whatever the bytes, parsing returns a result.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "minio/list_objects.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto page = kairos::eventsources::parse_list_objects_v2(text);
  if (page) {
    for (const auto& o : page->objects) (void)(o.key.size() + o.etag.size());
  } else {
    (void)page.error().message.size();
  }
  (void)kairos::eventsources::xml_unescape(text);
  return 0;
}
