// Fuzz target: what a Kafka event source makes of a message. The first byte
// picks jsonBody, a null value, a key and a header; the rest is split at the
// first two newlines into key, header value and value. Whatever the bytes,
// the printed event (when there is one) parses back as exactly the built
// one, and each refuses the same bodies.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kafka/kafka_source.hpp"

namespace {

std::string_view take_line(std::string_view& rest) {
  const auto newline = rest.find('\n');
  const auto line = rest.substr(0, newline);
  rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace kairos::eventsources;
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool json_body = (selector & 1) != 0;
  kafka_message_view m;
  m.topic = "fuzz";
  m.partition = selector >> 4;
  m.timestamp_ms = (selector & 8) != 0 ? -1 : 1700000000000;
  const auto key = take_line(rest);
  const auto header = take_line(rest);
  if ((selector & 2) != 0) m.key = std::string(key);
  if ((selector & 4) != 0) m.headers = {{"h", std::string(header)}, {"h", "second"}};
  if ((selector & 0x40) == 0) m.value = std::string(rest);

  static const nlohmann::json metadata = {{"team", "fuzz"}};
  const auto tree = kafka_event_data(m, json_body, metadata);
  std::optional<std::string> text;
  try {
    text = kafka_event_text(m, json_body, R"({"team":"fuzz"})");
  } catch (const nlohmann::json::type_error&) {
    return 0;  // a key or header that is not UTF-8: the store prints the tree its own way
  }
  if (tree.has_value() != text.has_value()) __builtin_trap();
  if (text && nlohmann::json::parse(*text) != *tree) __builtin_trap();
  return 0;
}
