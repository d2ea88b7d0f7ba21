#pragma once

#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kairos {

// Edit distance between two short identifiers (field names, kinds).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a plausible
// typo; used for "did you mean ...?" hints.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);

// RFC 3339 in UTC with second precision, as Kubernetes timestamps are.
std::string format_rfc3339(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// A random lowercase alphanumeric suffix of n characters (generateName).
std::string random_suffix(std::size_t n);
// A random RFC 4122 version-4 UUID.
std::string random_uuid();
// An RFC 9562 version-7 UUID: the Unix milliseconds of `t`, then random
// bits. Ids made one after another sort together, so the journal's unique
// index takes them near its end instead of dirtying a random page each.
std::string time_ordered_uuid(std::chrono::system_clock::time_point t);

// Standard base64 with padding. Decoding is as strict as Go's StdEncoding:
// padding required, no stray characters.
std::string base64_encode(std::string_view data);
std::optional<std::string> base64_decode(std::string_view data);

// The length of the well-formed UTF-8 sequence starting at `at` (which must
// be inside `text`), or 0 where none starts there.
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept;
// The offset of the first byte of `text` that does not begin a well-formed
// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing past
// U+10FFFF), or npos when all of it is well formed.
std::size_t invalid_utf8_offset(std::string_view text) noexcept;
// `text` with every byte that is not part of a well-formed UTF-8 sequence
// replaced by U+FFFD, as Go's encoding/json does: what a node prints goes
// into JSON documents (outputs, the store, the API), which must be UTF-8.
std::string to_valid_utf8(std::string_view text);

}  // namespace kairos
