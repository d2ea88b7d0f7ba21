#include "kairos/core/duration.hpp"

#include <cstdint>
#include <limits>

namespace kairos {

namespace {

struct unit_entry {
  std::string_view name;
  std::uint64_t nanos;
};

constexpr unit_entry units[] = {
    {"ns", 1},           {"us", 1000},      {"\xC2\xB5s", 1000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1000},                                          // U+03BC Greek mu
    {"ms", 1000000},     {"s", 1000000000}, {"m", 60ULL * 1000000000}, {"h", 3600ULL * 1000000000},
};

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

error invalid(std::string_view text, std::string_view why) {
  return make_error(errc::invalid_argument,
                    "invalid duration '" + std::string(text) + "': " + std::string(why));
}

}  // namespace

result<std::chrono::nanoseconds> parse_go_duration(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds{0};
  if (s.empty()) return invalid(text, "expected a number with a unit such as 30s, 5m or 1h");

  // Accumulated in unsigned nanoseconds so that the most negative duration
  // (2^63 ns) is still representable before the sign is applied.
  constexpr std::uint64_t limit =
      static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  // The most negative duration is one nanosecond longer than the most positive.
  const std::uint64_t max_total = negative ? limit + 1 : limit;
  std::uint64_t total = 0;
  while (!s.empty()) {
    std::uint64_t whole = 0;
    bool whole_overflow = false;
    std::size_t digits = 0;
    while (digits < s.size() && is_digit(s[digits])) {
      const std::uint64_t d = static_cast<std::uint64_t>(s[digits] - '0');
      if (whole > (max_total - d) / 10) whole_overflow = true;
      if (!whole_overflow) whole = whole * 10 + d;
      ++digits;
    }
    bool has_digits = digits > 0;
    s.remove_prefix(digits);

    // Fractional digits past what a double can carry are dropped, as
    // nanosecond precision is all a duration has anyway.
    long double fraction = 0;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      long double scale = 1;
      std::size_t n = 0;
      while (n < s.size() && is_digit(s[n])) {
        scale /= 10;
        fraction += scale * (s[n] - '0');
        ++n;
      }
      has_digits = has_digits || n > 0;
      s.remove_prefix(n);
    }
    if (!has_digits) return invalid(text, "expected a number");

    std::size_t unit_len = 0;
    while (unit_len < s.size() && !is_digit(s[unit_len]) && s[unit_len] != '.') ++unit_len;
    const std::string_view unit = s.substr(0, unit_len);
    s.remove_prefix(unit_len);
    if (unit.empty()) return invalid(text, "missing unit (one of ns, us, ms, s, m, h)");
    std::uint64_t unit_nanos = 0;
    for (const auto& u : units) {
      if (u.name == unit) unit_nanos = u.nanos;
    }
    if (unit_nanos == 0) {
      return invalid(text, "unknown unit '" + std::string(unit) + "' (one of ns, us, ms, s, m, h)");
    }

    if (whole_overflow || whole > max_total / unit_nanos) return invalid(text, "out of range");
    const std::uint64_t value = whole * unit_nanos;
    const auto extra = static_cast<std::uint64_t>(fraction * static_cast<long double>(unit_nanos));
    if (value > max_total - total || extra > max_total - total - value) {
      return invalid(text, "out of range");
    }
    total += value + extra;
  }
  if (total == limit + 1) return std::chrono::nanoseconds{std::numeric_limits<std::int64_t>::min()};
  const auto signed_total = static_cast<std::int64_t>(total);
  return std::chrono::nanoseconds{negative ? -signed_total : signed_total};
}

result<std::chrono::nanoseconds> parse_argo_duration(std::string_view text) {
  bool all_digits = !text.empty();
  for (char c : text) all_digits = all_digits && is_digit(c);
  if (!all_digits) return parse_go_duration(text);
  constexpr std::int64_t max_seconds = std::numeric_limits<std::int64_t>::max() / 1000000000;
  std::int64_t seconds = 0;
  for (char c : text) {
    if (seconds > (max_seconds - (c - '0')) / 10) return invalid(text, "out of range");
    seconds = seconds * 10 + (c - '0');
  }
  return std::chrono::nanoseconds{seconds * 1000000000};
}

std::string format_go_duration(std::chrono::nanoseconds d) {
  std::int64_t signed_ns = d.count();
  if (signed_ns == 0) return "0s";
  const bool negative = signed_ns < 0;
  // Negating through unsigned arithmetic keeps the most negative value defined.
  std::uint64_t ns =
      negative ? 0 - static_cast<std::uint64_t>(signed_ns) : static_cast<std::uint64_t>(signed_ns);
  std::string out = negative ? "-" : "";

  auto with_fraction = [](std::uint64_t value, std::uint64_t per_unit, std::string_view unit) {
    std::string s = std::to_string(value / per_unit);
    std::uint64_t rest = value % per_unit;
    if (rest != 0) {
      std::string digits;
      for (std::uint64_t p = per_unit / 10; p > 0; p /= 10) {
        digits += static_cast<char>('0' + (rest / p) % 10);
      }
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      s += "." + digits;
    }
    return s + std::string(unit);
  };

  if (ns < 1000) return out + std::to_string(ns) + "ns";
  if (ns < 1000000) return out + with_fraction(ns, 1000, "\xC2\xB5s");
  if (ns < 1000000000) return out + with_fraction(ns, 1000000, "ms");
  const std::uint64_t second = 1000000000;
  const std::uint64_t hours = ns / (3600 * second);
  ns %= 3600 * second;
  const std::uint64_t minutes = ns / (60 * second);
  ns %= 60 * second;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + with_fraction(ns, second, "s");
}

}  // namespace kairos
