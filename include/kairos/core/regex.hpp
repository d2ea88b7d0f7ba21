#pragma once

// Go's regexp package, as Argo applies it: expr-lang's `matches`,
// govaluate's `=~`, sprig's regex* functions and a sensor's string data
// filters. RE2 has Go's syntax (no backreferences or lookaround, `$` only at
// the end of the text) and matches in time linear in the subject, so a
// pattern from a manifest or an event cannot stall the thread evaluating it.
// Named groups may be written `(?P<name>re)` or, as Go 1.22 allows, `(?<name>re)`.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kairos/core/result.hpp"

namespace kairos::regex {

// regexp.MatchString: is there a match anywhere in the subject?
result<bool> search(std::string_view pattern, std::string_view subject);

// regexp.ReplaceAllString: `$1`, `${1}`, `$name`, `${name}` in the
// replacement expand to the group (empty when there is none), `$$` is `$`.
result<std::string> replace_all(std::string_view pattern, std::string_view subject,
                                std::string_view replacement);

// regexp.ReplaceAllLiteralString: the replacement is inserted as written.
result<std::string> replace_all_literal(std::string_view pattern, std::string_view subject,
                                        std::string_view replacement);

// regexp.FindAllString: at most `limit` successive non-overlapping matches
// (every match when `limit` is negative).
result<std::vector<std::string>> find_all(std::string_view pattern, std::string_view subject,
                                          std::int64_t limit);

}  // namespace kairos::regex
