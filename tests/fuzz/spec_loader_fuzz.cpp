// Fuzz target: manifests are untrusted text (API bodies, files). Whatever
// the bytes, loading must return diagnostics, never crash or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kairos/spec/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = kairos::spec::load_text(text, "fuzz.yaml");
  for (const auto& d : r.diagnostics) (void)d.to_string();
  return 0;
}
