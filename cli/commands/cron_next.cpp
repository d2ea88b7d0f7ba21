#include "commands/cron_next.hpp"

#include <charconv>
#include <iostream>
#include <memory>
#include <optional>
#include <string_view>

#include <date/date.h>
#include <CLI/CLI.hpp>

#include "context.hpp"
#include "kairos/core/result.hpp"
#include "kairos/core/text.hpp"
#include "kairos/cron/schedule.hpp"

namespace kairos::cli {
namespace {

using time_point = std::chrono::system_clock::time_point;

int digits(std::string_view s, std::size_t pos, std::size_t n) {
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

// The common shape `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)` without a
// stream; batch input has one per line, and istream parsing would dominate.
std::optional<time_point> parse_time_fast(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
  int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2);
  if (y < 0 || mo < 0 || d < 0 || h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 60) {
    return std::nullopt;
  }
  date::year_month_day ymd{date::year{y}, date::month{static_cast<unsigned>(mo)},
                           date::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return std::nullopt;
  std::size_t pos = 19;
  std::chrono::nanoseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    long long scale = 100000000;
    std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      frac += std::chrono::nanoseconds{(s[pos] - '0') * scale};
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::chrono::seconds offset{0};
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh = digits(s, pos + 1, 2), om = digits(s, pos + 4, 2);
    if (oh < 0 || om < 0 || oh > 23 || om > 59) return std::nullopt;
    offset = std::chrono::hours{oh} + std::chrono::minutes{om};
    if (s[pos] == '-') offset = -offset;
  } else {
    return std::nullopt;
  }
  // system_clock counts nanoseconds: keep within what it can hold.
  if (y < 1700 || y > 2200) return std::nullopt;
  auto t = date::sys_days{ymd} + std::chrono::hours{h} + std::chrono::minutes{mi} +
           std::chrono::seconds{sec} - offset;
  return time_point{std::chrono::duration_cast<time_point::duration>(t.time_since_epoch())} +
         std::chrono::duration_cast<time_point::duration>(frac);
}

result<time_point> parse_from(std::string_view text, time_point now) {
  if (text.empty()) return now;
  if (auto t = parse_time_fast(text)) return *t;
  if (auto t = parse_rfc3339(text)) return *t;
  return make_error(errc::invalid_argument, "--from \"" + std::string(text) +
                                                "\" is not an RFC 3339 time, e.g. "
                                                "2024-03-31T00:00:00Z");
}

result<std::size_t> parse_count(std::string_view text, std::size_t fallback) {
  if (text.empty()) return fallback;
  std::size_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || ptr != text.data() + text.size() || n == 0 || n > cron_next_max_count) {
    return make_error(errc::invalid_argument, "count \"" + std::string(text) +
                                                  "\" must be a number from 1 to " +
                                                  std::to_string(cron_next_max_count));
  }
  return n;
}

// RFC 3339 UTC with second precision, appended without a stream.
void append_time(std::string& out, time_point t) {
  auto s = std::chrono::floor<std::chrono::seconds>(t);
  auto day = std::chrono::floor<date::days>(s);
  date::year_month_day ymd{day};
  auto rest = (s - day).count();
  char buf[21];
  auto put = [&buf](int at, long v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      buf[at + i] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, static_cast<int>(ymd.year()), 4);
  buf[4] = '-';
  put(5, static_cast<unsigned>(ymd.month()), 2);
  buf[7] = '-';
  put(8, static_cast<unsigned>(ymd.day()), 2);
  buf[10] = 'T';
  put(11, rest / 3600, 2);
  buf[13] = ':';
  put(14, rest / 60 % 60, 2);
  buf[16] = ':';
  put(17, rest % 60, 2);
  buf[19] = 'Z';
  out.append(buf, 20);
}

struct line_result {
  std::vector<time_point> times;
  std::size_t wanted = 0;
};

result<line_result> compute(std::string_view spec, std::string_view zone, std::string_view from,
                            std::string_view count, const cron_next_options& defaults,
                            time_point now) {
  auto start = parse_from(from, now);
  if (!start) return start.error();
  auto n = parse_count(count, defaults.count);
  if (!n) return n.error();
  auto s = cron::schedule::parse(spec, zone);
  if (!s) return s.error();
  return line_result{s->next_n(*start, *n), *n};
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    auto pos = line.find('\t', start);
    out.push_back(line.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

int run_batch(const cron_next_options& options, std::istream& in, std::ostream& out,
              time_point now) {
  std::string line;
  std::string buf;
  while (std::getline(in, line)) {
    std::string_view view(line);
    if (!view.empty() && view.back() == '\r') view.remove_suffix(1);
    auto parts = split_tabs(view);
    result<line_result> r = make_error(errc::invalid_argument, "");
    if (parts.size() != 4) {
      r = make_error(errc::invalid_argument,
                     "expected 4 tab-separated columns (SPEC, TZ, FROM, N), found " +
                         std::to_string(parts.size()));
    } else {
      std::string_view zone = parts[1].empty() ? std::string_view(options.timezone) : parts[1];
      r = compute(parts[0], zone, parts[2], parts[3], options, now);
    }
    if (r) {
      buf += "ok\t";
      bool first = true;
      for (auto t : r->times) {
        if (!first) buf += ',';
        first = false;
        append_time(buf, t);
      }
    } else {
      buf += "err\t";
      // One output line per input line, whatever the message holds.
      for (char c : r.error().message) buf += (c == '\n' || c == '\t') ? ' ' : c;
    }
    buf += '\n';
    if (buf.size() > 1 << 16) {
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
      buf.clear();
    }
  }
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
  return out ? 0 : 1;
}

}  // namespace

int run_cron_next(const cron_next_options& options, std::istream& in, std::ostream& out,
                  std::ostream& err, time_point now) {
  if (options.batch) return run_batch(options, in, out, now);
  if (options.spec.empty()) {
    err << "kairos: a cron expression is required (or --batch)\n";
    return 1;
  }
  auto r = compute(options.spec, options.timezone, options.from, "", options, now);
  if (!r) {
    err << "kairos: " << r.error().message << "\n";
    return 1;
  }
  std::string buf;
  for (auto t : r->times) {
    append_time(buf, t);
    buf += '\n';
  }
  out << buf;
  if (r->times.size() < r->wanted) {
    // robfig/cron's bound: what was found is printed, and why it stops.
    err << "kairos: no further fire time within five years after "
        << (r->times.empty() ? (options.from.empty() ? std::string("now") : options.from)
                             : format_rfc3339(r->times.back()))
        << "\n";
  }
  return 0;
}

void add_cron_next_command(CLI::App& cron, context& ctx) {
  auto opts = std::make_shared<cron_next_options>();
  auto* cmd = cron.add_subcommand(
      "next", "Print the next fire times of a cron expression (RFC 3339, UTC), without a server");
  cmd->add_option("spec", opts->spec,
                  "cron expression, e.g. \"30 2 * * *\", \"@daily\", \"CRON_TZ=Europe/Berlin 0 "
                  "9 * * 1-5\"");
  cmd->add_option("--timezone,--tz", opts->timezone, "IANA zone (default: this machine's zone)");
  cmd->add_option("--from", opts->from,
                  "start instant, RFC 3339; times strictly after it (default: now)");
  cmd->add_option("-n,--count", opts->count, "how many fire times")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, cron_next_max_count));
  cmd->add_flag("--batch", opts->batch,
                "read SPEC<TAB>TZ<TAB>FROM<TAB>N lines on stdin; print ok<TAB>t1,t2,... or "
                "err<TAB>message for each");
  cmd->callback([&ctx, opts] {
    ctx.action = [opts] {
      std::ios::sync_with_stdio(false);
      return run_cron_next(*opts, std::cin, std::cout, std::cerr, std::chrono::system_clock::now());
    };
  });
}

}  // namespace kairos::cli
