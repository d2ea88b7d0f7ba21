#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "kairos/core/result.hpp"

namespace kairos {

// Go's time.ParseDuration syntax, which Argo manifests use: a signed
// sequence of decimal numbers with units, e.g. "300ms", "-1.5h", "2h45m".
// Units are ns, us (or µs/μs), ms, s, m, h. "0" alone needs no unit.
result<std::chrono::nanoseconds> parse_go_duration(std::string_view text);

// The convention of Argo's backoff and suspend durations: a bare integer
// counts seconds ("30" is 30s); anything else is a Go duration.
result<std::chrono::nanoseconds> parse_argo_duration(std::string_view text);

// Renders as Go's Duration.String() does ("1h2m3s", "1.5s", "0s"), so a
// parsed value can be shown to users in the syntax they wrote.
std::string format_go_duration(std::chrono::nanoseconds d);

}  // namespace kairos
