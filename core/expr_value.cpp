#include "expr_value.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace kairos::expr::detail {

std::string_view type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "nil";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "int";
    case json::value_t::number_float:
      return "float";
    case json::value_t::string:
      return "string";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "map";
    default:
      return "unknown";
  }
}

bool is_int(const json& v) {
  return v.is_number_integer();
}

std::int64_t to_int64(const json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_float()) return double_to_int64(v.get<double>());
  return 0;
}

double to_double(const json& v) {
  if (v.is_number_unsigned()) return static_cast<double>(v.get<std::uint64_t>());
  if (v.is_number_integer()) return static_cast<double>(v.get<std::int64_t>());
  if (v.is_number_float()) return v.get<double>();
  return 0;
}

std::int64_t double_to_int64(double d) {
  if (std::isnan(d)) return std::numeric_limits<std::int64_t>::min();
  if (d >= 9223372036854775807.0) return std::numeric_limits<std::int64_t>::min();
  if (d < -9223372036854775808.0) return std::numeric_limits<std::int64_t>::min();
  return static_cast<std::int64_t>(d);
}

bool values_equal(const json& a, const json& b) {
  if (a.is_number() && b.is_number()) {
    if (is_int(a) && is_int(b)) {
      if (a.is_number_unsigned() || b.is_number_unsigned()) return a == b;
      return a.get<std::int64_t>() == b.get<std::int64_t>();
    }
    return to_double(a) == to_double(b);
  }
  if (a.type() != b.type()) return false;
  if (a.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!values_equal(a[i], b[i])) return false;
    return true;
  }
  if (a.is_object()) {
    if (a.size() != b.size()) return false;
    for (auto it = a.begin(); it != a.end(); ++it) {
      auto other = b.find(it.key());
      if (other == b.end() || !values_equal(it.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

namespace {

// Shortest round-trip digits and decimal exponent of |d| (d finite, != 0):
// d = 0.DIGITS * 10^point.
void shortest_digits(double d, std::string& digits, int& point) {
  std::array<char, 64> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), std::fabs(d),
                                 std::chars_format::scientific);
  std::string_view s(buf.data(), static_cast<std::size_t>(end - buf.data()));
  const auto e = s.find('e');
  std::string_view mant = s.substr(0, e);
  int exp10 = 0;
  std::from_chars(s.data() + e + 1 + (s[e + 1] == '+' ? 1 : 0), s.data() + s.size(), exp10);
  digits.clear();
  for (char c : mant)
    if (c != '.') digits.push_back(c);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  point = exp10 + 1;
}

std::string fixed_from_digits(const std::string& digits, int point) {
  std::string out;
  if (point <= 0) {
    out = "0.";
    out.append(static_cast<std::size_t>(-point), '0');
    out += digits;
  } else if (static_cast<std::size_t>(point) >= digits.size()) {
    out = digits;
    out.append(static_cast<std::size_t>(point) - digits.size(), '0');
  } else {
    out = digits.substr(0, static_cast<std::size_t>(point)) + "." +
          digits.substr(static_cast<std::size_t>(point));
  }
  return out;
}

std::string exp_from_digits(const std::string& digits, int point, bool min_two_digit_exp) {
  std::string out(1, digits[0]);
  if (digits.size() > 1) out += "." + digits.substr(1);
  const int e = point - 1;
  out += e < 0 ? "e-" : "e+";
  const int ae = e < 0 ? -e : e;
  if (min_two_digit_exp && ae < 10) out += '0';
  out += std::to_string(ae);
  return out;
}

std::string special_float(double d) {
  if (std::isnan(d)) return "NaN";
  return d > 0 ? "+Inf" : "-Inf";
}

}  // namespace

std::string format_float_v(double d) {
  if (!std::isfinite(d)) return special_float(d);
  if (d == 0) return std::signbit(d) ? "-0" : "0";
  std::string digits;
  int point = 0;
  shortest_digits(d, digits, point);
  const int exp = point - 1;
  std::string body = (exp < -4 || exp >= 6) ? exp_from_digits(digits, point, true)
                                            : fixed_from_digits(digits, point);
  return d < 0 ? "-" + body : body;
}

std::string format_float_json(double d) {
  if (!std::isfinite(d)) return "null";
  if (d == 0) return "0";
  std::string digits;
  int point = 0;
  shortest_digits(d, digits, point);
  const double a = std::fabs(d);
  std::string body = (a < 1e-6 || a >= 1e21) ? exp_from_digits(digits, point, false)
                                             : fixed_from_digits(digits, point);
  return d < 0 ? "-" + body : body;
}

namespace {

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void dump(std::string& out, const json& v, bool pretty, int indent) {
  auto newline = [&](int level) {
    if (!pretty) return;
    out += '\n';
    out.append(static_cast<std::size_t>(level) * 2, ' ');
  };
  switch (v.type()) {
    case json::value_t::null:
      out += "null";
      break;
    case json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      break;
    case json::value_t::number_integer:
      out += std::to_string(v.get<std::int64_t>());
      break;
    case json::value_t::number_unsigned:
      out += std::to_string(v.get<std::uint64_t>());
      break;
    case json::value_t::number_float:
      out += format_float_json(v.get<double>());
      break;
    case json::value_t::string:
      append_json_string(out, v.get_ref<const std::string&>());
      break;
    case json::value_t::array: {
      if (v.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ',';
        first = false;
        newline(indent + 1);
        dump(out, e, pretty, indent + 1);
      }
      newline(indent);
      out += ']';
      break;
    }
    case json::value_t::object: {
      if (v.empty()) {
        out += "{}";
        break;
      }
      out += '{';
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ',';
        first = false;
        newline(indent + 1);
        append_json_string(out, it.key());
        out += pretty ? ": " : ":";
        dump(out, it.value(), pretty, indent + 1);
      }
      newline(indent);
      out += '}';
      break;
    }
    default:
      out += "null";
  }
}

void sprint(std::string& out, const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      out += "<nil>";
      break;
    case json::value_t::number_float:
      out += format_float_v(v.get<double>());
      break;
    case json::value_t::string:
      out += v.get_ref<const std::string&>();
      break;
    case json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v) {
        if (!first) out += ' ';
        first = false;
        sprint(out, e);
      }
      out += ']';
      break;
    }
    case json::value_t::object: {
      out += "map[";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) out += ' ';
        first = false;
        out += it.key();
        out += ':';
        sprint(out, it.value());
      }
      out += ']';
      break;
    }
    default:
      dump(out, v, false, 0);
  }
}

}  // namespace

std::string to_json(const json& v, bool pretty) {
  std::string out;
  dump(out, v, pretty, 0);
  return out;
}

std::string sprint_v(const json& v) {
  std::string out;
  sprint(out, v);
  return out;
}

std::string to_display(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return to_json(v);
}

std::optional<std::int64_t> parse_int(std::string_view s, bool allow_base_prefix) {
  std::string_view t = s;
  bool negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  int base = 10;
  if (allow_base_prefix && t.size() > 1 && t[0] == '0') {
    const char p = static_cast<char>(t[1] | 0x20);
    if (p == 'x') {
      base = 16;
      t.remove_prefix(2);
    } else if (p == 'b') {
      base = 2;
      t.remove_prefix(2);
    } else if (p == 'o') {
      base = 8;
      t.remove_prefix(2);
    } else {
      base = 8;
      t.remove_prefix(1);
    }
  }
  if (t.empty()) return std::nullopt;
  std::uint64_t u = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), u, base);
  if (ec != std::errc{} || ptr != t.data() + t.size()) return std::nullopt;
  if (negative) {
    if (u > 9223372036854775808ULL) return std::nullopt;
    return static_cast<std::int64_t>(0 - u);
  }
  if (u > 9223372036854775807ULL) return std::nullopt;
  return static_cast<std::int64_t>(u);
}

std::optional<double> parse_float(std::string_view s) {
  std::string_view t = s;
  if (t.empty()) return std::nullopt;
  bool negative = false;
  if (t[0] == '+' || t[0] == '-') {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  if (t == "Inf" || t == "inf" || t == "Infinity" || t == "infinity")
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  if (t == "NaN" || t == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (t.empty() || !(std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '.'))
    return std::nullopt;
  double d = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
  if (ptr != t.data() + t.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Go returns ±Inf or 0 with an error; treat as unparseable.
    return std::nullopt;
  }
  if (ec != std::errc{}) return std::nullopt;
  return negative ? -d : d;
}

namespace {

std::size_t rune_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead >> 5) == 0x6) return 2;
  if ((lead >> 4) == 0xe) return 3;
  if ((lead >> 3) == 0x1e) return 4;
  return 1;  // invalid byte: one rune, as Go's RuneError
}

}  // namespace

std::vector<std::string> split_runes(std::string_view s) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < s.size();) {
    std::size_t n = rune_length(static_cast<unsigned char>(s[i]));
    if (i + n > s.size()) n = 1;
    out.emplace_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::size_t rune_count(std::string_view s) {
  std::size_t count = 0;
  for (std::size_t i = 0; i < s.size(); ++count) {
    std::size_t n = rune_length(static_cast<unsigned char>(s[i]));
    if (i + n > s.size()) n = 1;
    i += n;
  }
  return count;
}

}  // namespace kairos::expr::detail
