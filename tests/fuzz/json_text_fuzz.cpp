// Fuzz target: event bodies are untrusted JSON, printed into the journal by
// dump_json. Whatever document parses, dump_json must print what nlohmann's
// own strict dump prints (compact and indented), and throw where it throws;
// and is_json must judge any text as nlohmann's accept does.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/core/json_text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (kairos::is_json(text) != nlohmann::json::accept(text)) std::abort();
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) doc = std::string(text);  // arbitrary bytes as one string
  std::string expected;
  bool expected_throws = false;
  try {
    expected = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::type_error&) {
    expected_throws = true;
  }
  std::string got;
  bool got_throws = false;
  try {
    got = kairos::dump_json(doc);
  } catch (const nlohmann::json::type_error&) {
    got_throws = true;
  }
  if (got_throws != expected_throws || got != expected) std::abort();
  // And indented, as `-o json` prints.
  try {
    expected = doc.dump(2);
    expected_throws = false;
  } catch (const nlohmann::json::type_error&) {
    expected_throws = true;
  }
  try {
    got = kairos::dump_json_indented(doc, 2);
    got_throws = false;
  } catch (const nlohmann::json::type_error&) {
    got_throws = true;
  }
  if (got_throws != expected_throws || (!got_throws && got != expected)) std::abort();
  return 0;
}
