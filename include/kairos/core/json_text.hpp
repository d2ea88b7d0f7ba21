#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kairos {

// `j` printed exactly as j.dump(-1, ' ', false, error_handler_t::strict)
// prints it: compact, keys in order, UTF-8 kept as it is. Like that dump, a
// string that is not valid UTF-8 throws nlohmann::json::type_error. Every
// journal append and store write prints its body; nlohmann's serializer
// decodes each string byte by byte and was a tenth of the Kafka path's CPU,
// where here a plain ASCII string is one copy.
std::string dump_json(const nlohmann::json& j);
// The same, appended to `out`.
void dump_json(const nlohmann::json& j, std::string& out);
// `j` printed exactly as j.dump(indent) prints it (strict, as dump_json):
// `kairos get -o json` of a large workflow is mostly this printing.
std::string dump_json_indented(const nlohmann::json& j, int indent);
// `j` printed as nlohmann's compact dump prints it, except that a string
// that is not valid UTF-8 gets U+FFFD for each bad byte instead of throwing.
// For text made from what nodes print, templates compute and events carry:
// a node printing Latin-1 must fail nothing but its own bytes.
std::string dump_json_replacing(const nlohmann::json& j);
// Text from outside (bodies, messages, node outputs, parameters) as JSON:
// nlohmann's parse, except that a NUL byte anywhere makes it not JSON.
// nlohmann stops reading at a NUL as if the text ended there, so `[1]`,
// NUL, `junk` would parse as [1] while the bytes kept beside it say more.
// A discarded value when it is not JSON, as parse(text, nullptr, false).
nlohmann::json parse_json(std::string_view text);
// Text kairos printed (the store's bodies) as json::parse reads it, through
// simdjson: reading back a 2,000-node workflow (670 KB) took nlohmann's
// parser 11 ms of CPU, most of `kairos get` and the end of `kairos run`.
// The one difference from json::parse: `-0` is read as unsigned 0, which
// kairos never prints. Throws json::parse_error when it is not JSON.
nlohmann::json parse_printed_json(std::string_view text);
// Whether `text` is one JSON value, as parse_json decides. simdjson checks
// it first, in a tenth of the time (a Kafka source with jsonBody checks
// every message and keeps the text as it came); only what simdjson refuses
// is asked again of nlohmann, which also takes a leading byte order mark and
// integers past 64 bits.
bool is_json(std::string_view text);
// One string printed as dump_json prints it, appended to `out`, for text
// built without a tree; throws as dump_json does.
void dump_json_string(std::string_view s, std::string& out);

}  // namespace kairos
