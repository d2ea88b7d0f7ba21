#pragma once

// `kairos cron next`: the next fire times of a cron expression, offline.

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace kairos::cli {

struct context;

struct cron_next_options {
  std::string spec;
  // Unless the spec has a CRON_TZ=/TZ= prefix; empty means the machine's zone
  // (what a CronWorkflow without `timezone` uses).
  std::string timezone;
  // RFC 3339; empty means now.
  std::string from;
  std::size_t count = 5;
  // Read `SPEC<TAB>TZ<TAB>FROM<TAB>N` lines from `in` instead; empty TZ, FROM
  // or N take the values above.
  bool batch = false;
};

constexpr std::size_t cron_next_max_count = 100000;

// Prints one RFC 3339 UTC time per line (or, with batch, `ok<TAB>t1,t2,...`
// or `err<TAB>message` per input line). Returns the exit code: 1 with the
// error on `err` for an invalid spec, zone, start or count.
int run_cron_next(const cron_next_options& options, std::istream& in, std::ostream& out,
                  std::ostream& err, std::chrono::system_clock::time_point now);

// Registers `next` under the `cron` command.
void add_cron_next_command(CLI::App& cron, context& ctx);

}  // namespace kairos::cli
