// Fuzz target: expressions come from manifests and, for sensors, event
// payloads flow into them. Whatever the bytes, every entry point returns a
// result; nothing throws, crashes or recurses without bound.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/expr.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/placeholders.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const nlohmann::json env = {
      {"inputs", {{"parameters", {{"n", "3"}, {"s", "hello-world"}}}}},
      {"xs", {1, 2.5, "a", nullptr, {{"k", "v"}}}},
      {"doc", R"({"a": {"b": [1, 2]}})"},
      {"retries", 1}};
  (void)kairos::expr::check(text);
  // Results are printed as the engine prints them, bytes that are not UTF-8
  // (which string functions can make of valid input) replaced.
  if (auto v = kairos::expr::evaluate(text, env); v) (void)kairos::dump_json_replacing(*v);
  (void)kairos::expr::evaluate_bool(text, env);
  (void)kairos::expr::evaluate_govaluate(text, env);
  const auto lookup = [](std::string_view name) -> std::optional<std::string> {
    if (name.size() % 2 == 0) return std::string(name);
    return std::nullopt;
  };
  (void)kairos::placeholders::substitute(text, lookup, env);
  (void)kairos::placeholders::substitute(text, lookup, env, {true});
  (void)kairos::placeholders::references(text);
  return 0;
}
