// Fuzz target: gjson/sjson paths come from manifests and event data is
// untrusted. The first line of the input is a path, the rest a JSON document;
// get and set must return, whatever the bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/json_path.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto newline = text.find('\n');
  const std::string_view path = text.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? "" : text.substr(newline + 1);
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded()) doc = nlohmann::json::object();
  (void)kairos::json_path::get(doc, path);
  (void)kairos::json_path::get_string(doc, path);
  auto copy = doc;
  (void)kairos::json_path::set(copy, path, "v");
  return 0;
}
