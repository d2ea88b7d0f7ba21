#include "kairos/core/text.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <sstream>
#include <vector>

#include <date/date.h>

namespace kairos {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (auto candidate : candidates) {
    const auto d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = std::string(candidate);
    }
  }
  // A hint is only useful when the typo is small relative to the word.
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (best && best_distance <= limit) return best;
  return std::nullopt;
}

namespace {

void put_digits(char* out, unsigned value, int width) {
  for (int i = width - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
}

// Digits at text[at, at + n), or -1.
int digits_at(std::string_view text, std::size_t at, std::size_t n) {
  if (at + n > text.size()) return -1;
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// system_clock counts nanoseconds in 64 bits (about 1678 to 2261); a time
// outside that is not a time_point at all.
std::optional<std::chrono::system_clock::time_point> to_system_clock(
    date::sys_time<std::chrono::microseconds> tp) {
  using namespace std::chrono;
  constexpr auto lo = time_point_cast<microseconds>(system_clock::time_point::min());
  constexpr auto hi = time_point_cast<microseconds>(system_clock::time_point::max());
  if (tp <= lo || tp >= hi) return std::nullopt;
  return time_point_cast<system_clock::duration>(tp);
}

// The common shape, YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+HH:MM|+HHMM), without
// the streams date::parse needs (journal appends and cron fires parse one
// each); nullopt hands anything else to date::parse, which decides.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339_common(std::string_view t) {
  using namespace std::chrono;
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  const int y = digits_at(t, 0, 4), mo = digits_at(t, 5, 2), d = digits_at(t, 8, 2);
  const int h = digits_at(t, 11, 2), mi = digits_at(t, 14, 2), s = digits_at(t, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0) return std::nullopt;
  const date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                                 date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return std::nullopt;
  std::size_t at = 19;
  microseconds fraction{0};
  if (t[at] == '.') {
    std::size_t n = 0;
    std::int64_t us = 0;
    for (++at; at < t.size() && t[at] >= '0' && t[at] <= '9'; ++at, ++n)
      us = us * 10 + (t[at] - '0');
    if (n == 0 || n > 6) return std::nullopt;
    for (; n < 6; ++n) us *= 10;
    fraction = microseconds(us);
  }
  minutes offset{0};
  const std::string_view zone = t.substr(at);
  if (zone == "Z") {
  } else if ((zone.size() == 6 && zone[3] == ':') || zone.size() == 5) {
    if (zone[0] != '+' && zone[0] != '-') return std::nullopt;
    const int oh = digits_at(zone, 1, 2);
    const int om = digits_at(zone, zone.size() == 6 ? 4 : 3, 2);
    if (oh < 0 || om < 0 || om > 59) return std::nullopt;
    offset = hours(oh) + minutes(om);
    if (zone[0] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  const auto tp = date::sys_days(ymd) + hours(h) + minutes(mi) + seconds(s) + fraction - offset;
  return to_system_clock(tp);
}

}  // namespace

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  const auto secs = std::chrono::floor<std::chrono::seconds>(t);
  const auto day = std::chrono::floor<date::days>(secs);
  const date::year_month_day ymd{day};
  const int year = static_cast<int>(ymd.year());
  // Years outside four digits keep date's own format.
  if (year < 0 || year > 9999) return date::format("%FT%TZ", secs);
  const date::hh_mm_ss<std::chrono::seconds> tod{secs - day};
  std::string out(20, ' ');
  put_digits(&out[0], static_cast<unsigned>(year), 4);
  out[4] = '-';
  put_digits(&out[5], static_cast<unsigned>(ymd.month()), 2);
  out[7] = '-';
  put_digits(&out[8], static_cast<unsigned>(ymd.day()), 2);
  out[10] = 'T';
  put_digits(&out[11], static_cast<unsigned>(tod.hours().count()), 2);
  out[13] = ':';
  put_digits(&out[14], static_cast<unsigned>(tod.minutes().count()), 2);
  out[16] = ':';
  put_digits(&out[17], static_cast<unsigned>(tod.seconds().count()), 2);
  out[19] = 'Z';
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text) {
  if (auto fast = parse_rfc3339_common(text)) return fast;
  std::string s(text);
  for (const char* fmt : {"%FT%T%Ez", "%FT%TZ", "%FT%T%z"}) {
    std::istringstream in(s);
    date::sys_time<std::chrono::microseconds> tp;
    in >> date::parse(fmt, tp);
    if (!in.fail()) {
      in.peek();
      if (in.eof()) return to_system_clock(tp);
    }
  }
  return std::nullopt;
}

namespace {
std::mt19937_64& rng() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return engine;
}
}  // namespace

std::string random_suffix(std::size_t n) {
  static constexpr std::string_view alphabet = "bcdfghjklmnpqrstvwxz2456789";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(alphabet[pick(rng())]);
  return out;
}

namespace {
// Sets the version and RFC 4122 variant bits and formats the 16 bytes.
std::string format_uuid(unsigned char (&b)[16], unsigned version) {
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | (version << 4));
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  // Every accepted webhook names its event with one: snprintf's format
  // parsing cost more than the rest of the id.
  static constexpr std::string_view digits = "0123456789abcdef";
  std::string out(36, '-');
  std::size_t at = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) ++at;  // the dashes
    out[at++] = digits[b[i] >> 4];
    out[at++] = digits[b[i] & 0x0f];
  }
  return out;
}

void fill_random(unsigned char (&b)[16]) {
  // Two draws of the 64-bit engine fill all 16 bytes uniformly.
  for (int half = 0; half < 2; ++half) {
    const std::uint64_t r = rng()();
    for (int i = 0; i < 8; ++i) b[half * 8 + i] = static_cast<unsigned char>(r >> (8 * i));
  }
}
}  // namespace

std::string random_uuid() {
  unsigned char b[16];
  fill_random(b);
  return format_uuid(b, 4);
}

std::string time_ordered_uuid(std::chrono::system_clock::time_point t) {
  unsigned char b[16];
  fill_random(b);
  const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count()));
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (8 * (5 - i)));
  return format_uuid(b, 7);
}

namespace {
constexpr std::string_view b64_chars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}

std::string base64_encode(std::string_view data) {
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < data.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(data[i]) << 16) |
                            (static_cast<unsigned char>(data[i + 1]) << 8) |
                            static_cast<unsigned char>(data[i + 2]);
    out += b64_chars[(n >> 18) & 63];
    out += b64_chars[(n >> 12) & 63];
    out += b64_chars[(n >> 6) & 63];
    out += b64_chars[n & 63];
  }
  if (i < data.size()) {
    std::uint32_t n = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size()) n |= static_cast<unsigned char>(data[i + 1]) << 8;
    out += b64_chars[(n >> 18) & 63];
    out += b64_chars[(n >> 12) & 63];
    out += i + 1 < data.size() ? b64_chars[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view data) {
  // Go's StdEncoding is strict: padding required, no stray characters.
  if (data.size() % 4 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < data.size(); i += 4) {
    std::uint32_t n = 0;
    int pad = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      const char c = data[i + j];
      std::uint32_t v = 0;
      if (c == '=') {
        if (i + 4 != data.size() || j < 2) return std::nullopt;
        ++pad;
      } else {
        if (pad > 0) return std::nullopt;
        const auto pos = b64_chars.find(c);
        if (pos == std::string_view::npos) return std::nullopt;
        v = static_cast<std::uint32_t>(pos);
      }
      n = (n << 6) | v;
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

std::size_t utf8_sequence_length(std::string_view text, std::size_t at) noexcept {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
  return length;
}

std::size_t invalid_utf8_offset(std::string_view text) noexcept {
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t n = utf8_sequence_length(text, at);
    if (n == 0) return at;
    at += n;
  }
  return std::string_view::npos;
}

std::string to_valid_utf8(std::string_view text) {
  std::size_t bad = invalid_utf8_offset(text);
  if (bad == std::string_view::npos) return std::string(text);
  std::string out(text.substr(0, bad));
  std::size_t at = bad;
  while (at < text.size()) {
    const std::size_t n = utf8_sequence_length(text, at);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++at;
    } else {
      out.append(text.substr(at, n));
      at += n;
    }
  }
  return out;
}

}  // namespace kairos
