#include "fields.hpp"

#include <array>
#include <cctype>
#include <string>
#include <vector>

namespace kairos::cron::detail {
namespace {

struct field_def {
  std::string_view name;
  int min;
  int max;
  // The range `*` and `?` stand for; only day-of-week differs from min-max
  // (0-6: 7 is an alias of 0, not an extra day).
  int star_max;
  std::string_view allowed;
  const std::array<std::string_view, 13>* names;  // index = value; empty = no name
};

constexpr std::array<std::string_view, 13> month_names = {
    "", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 13> dow_names = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", "", "", "", "", "", ""};

constexpr std::array<field_def, 5> defs = {{
    {"minute", 0, 59, 59, "0-59", nullptr},
    {"hour", 0, 23, 23, "0-23", nullptr},
    {"day-of-month", 1, 31, 31, "1-31", nullptr},
    {"month", 1, 12, 12, "1-12 or JAN-DEC", &month_names},
    {"day-of-week", 0, 7, 6, "0-7 or SUN-SAT", &dow_names},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto pos = s.find(sep, start);
    out.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

class field_parser {
 public:
  field_parser(const field_def& def, std::string_view text) : def_(def), text_(text) {}

  error fail(std::string_view problem) const {
    std::string msg(def_.name);
    msg += " field \"";
    msg += text_;
    msg += "\": ";
    msg += problem;
    return make_error(errc::invalid_argument, std::move(msg));
  }
  error out_of_range(std::string_view what, int v) const {
    return fail(std::string(what) + std::to_string(v) + " out of range " +
                std::string(def_.allowed));
  }

  // A number or (where the field has them) a three-letter name.
  result<int> value(std::string_view tok, std::string_view role) const {
    if (tok.empty()) {
      return fail("missing " + std::string(role) + " (allowed " + std::string(def_.allowed) + ")");
    }
    if (def_.names != nullptr) {
      auto l = lower(tok);
      for (std::size_t i = 0; i < def_.names->size(); ++i) {
        if (!(*def_.names)[i].empty() && (*def_.names)[i] == l) return static_cast<int>(i);
      }
    }
    int v = 0;
    for (char c : tok) {
      if (c < '0' || c > '9') {
        return fail("\"" + std::string(tok) + "\" is not a number" +
                    (def_.names != nullptr ? " or name" : "") + " (allowed " +
                    std::string(def_.allowed) + ")");
      }
      // Saturate: anything past 9999 is out of range for every field.
      v = v > 9999 ? v : v * 10 + (c - '0');
    }
    return v;
  }

  result<std::uint64_t> parse(bool& star) const {
    if (text_.empty()) return fail("empty field (allowed " + std::string(def_.allowed) + ")");
    std::uint64_t bits = 0;
    for (auto item : split(text_, ',')) {
      auto r = range(item, star);
      if (!r) return r.error();
      bits |= *r;
    }
    return bits;
  }

 private:
  result<std::uint64_t> range(std::string_view item, bool& star) const {
    if (item.empty()) return fail("empty list item (allowed " + std::string(def_.allowed) + ")");
    auto slash = split(item, '/');
    if (slash.size() > 2) return fail("too many '/' in \"" + std::string(item) + "\"");
    auto dash = split(slash[0], '-');
    if (dash.size() > 2) return fail("too many '-' in \"" + std::string(item) + "\"");
    int lo = 0;
    int hi = 0;
    bool is_star = false;
    if (slash[0] == "*" || slash[0] == "?") {
      is_star = true;
      lo = def_.min;
      hi = def_.star_max;
    } else {
      auto a = value(dash[0], "range start");
      if (!a) return a.error();
      lo = hi = *a;
      if (dash.size() == 2) {
        auto b = value(dash[1], "range end");
        if (!b) return b.error();
        hi = *b;
        // Day-of-week ranges may end on Sunday: `fri-sun` is 5-7.
        if (def_.max == 7 && hi == 0 && lo > 0) hi = 7;
      }
    }
    int step = 1;
    if (slash.size() == 2) {
      if (slash[1].empty()) return fail("missing step after '/'");
      for (char c : slash[1]) {
        if (c < '0' || c > '9') {
          return fail("step \"" + std::string(slash[1]) + "\" is not a positive number");
        }
      }
      step = 0;
      for (char c : slash[1]) step = step > 9999 ? step : step * 10 + (c - '0');
      if (step == 0) return fail("step must be a positive number");
      // `N/step` means N through the field's maximum.
      if (!is_star && dash.size() == 1) hi = def_.max;
    }
    if (lo < def_.min || lo > def_.max) return out_of_range("value ", lo);
    if (hi < def_.min || hi > def_.max) return out_of_range("value ", hi);
    if (lo > hi) {
      return fail("range start " + std::to_string(lo) + " is after its end " + std::to_string(hi) +
                  " (allowed " + std::string(def_.allowed) + ")");
    }
    if (is_star && step <= 1) star = true;
    std::uint64_t bits = 0;
    for (int v = lo; v <= hi; v += step) bits |= std::uint64_t{1} << v;
    return bits;
  }

  const field_def& def_;
  std::string_view text_;
};

}  // namespace

result<fields> parse_fields(std::string_view text) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    if (i == text.size()) break;
    auto start = i;
    while (i < text.size() && !std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    parts.push_back(text.substr(start, i - start));
  }
  if (parts.size() != 5) {
    return make_error(errc::invalid_argument,
                      "expected 5 fields (minute hour day-of-month month day-of-week), found " +
                          std::to_string(parts.size()) + ": \"" + std::string(text) + "\"");
  }
  std::array<std::uint64_t, 5> bits{};
  std::array<bool, 5> star{};
  for (std::size_t f = 0; f < 5; ++f) {
    auto r = field_parser(defs[f], parts[f]).parse(star[f]);
    if (!r) return r.error();
    bits[f] = *r;
  }
  fields out;
  out.minute = bits[0];
  out.hour = static_cast<std::uint32_t>(bits[1]);
  out.dom = static_cast<std::uint32_t>(bits[2]);
  out.month = static_cast<std::uint32_t>(bits[3]);
  // Day-of-week 7 is Sunday.
  out.dow = static_cast<std::uint32_t>((bits[4] | (bits[4] >> 7)) & 0x7f);
  out.dom_star = star[2];
  out.dow_star = star[4];
  return out;
}

std::string_view descriptor_expansion(std::string_view name) {
  auto l = lower(name);
  if (l == "yearly" || l == "annually") return "0 0 1 1 *";
  if (l == "monthly") return "0 0 1 * *";
  if (l == "weekly") return "0 0 * * 0";
  if (l == "daily" || l == "midnight") return "0 0 * * *";
  if (l == "hourly") return "0 * * * *";
  return {};
}

}  // namespace kairos::cron::detail
