// Fuzz target: sensor templates render untrusted event data, and templates
// arrive through the API. Rendering returns a result and terminates.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/go_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const nlohmann::json input = nlohmann::json::parse(
      R"({"Input": {"body": {"ref": "refs/heads/main", "n": 3, "list": [1, 2, 3],
          "map": {"a": "b"}, "nothing": null}}})");
  auto r = kairos::go_template::render(text, input);
  if (!r) (void)r.error().message.size();
  return 0;
}
