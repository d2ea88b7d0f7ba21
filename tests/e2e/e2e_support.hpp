#pragma once

// Process and file plumbing shared by the end-to-end tests, which drive the
// real `kairos` binary as a subprocess.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kairos::e2e {

std::string read_file(const std::filesystem::path& p);
void write_file(const std::filesystem::path& p, std::string_view text);

// Starts the kairos binary with `args`, stdin from /dev/null and stdout and
// stderr into files. KAIROS_* variables are dropped from the environment so
// the developer's settings cannot leak in. Returns the pid.
pid_t spawn(const std::vector<std::string>& args, const std::filesystem::path& out,
            const std::filesystem::path& err);

// The exit code (128 + signal when killed), or nullopt when `limit` passed.
std::optional<int> wait_exit(pid_t pid, std::chrono::steady_clock::duration limit);
// The same, but a process still running after `limit` is killed with
// SIGKILL and reaped (and the result is nullopt).
std::optional<int> wait_exit_or_kill(pid_t pid, std::chrono::steady_clock::duration limit);

struct cli_result {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the binary to completion (killing it after `limit`), keeping its
// output in numbered files under `dir`.
cli_result run_cli(const std::filesystem::path& dir, const std::vector<std::string>& args,
                   std::chrono::seconds limit = std::chrono::seconds(60));

// A fresh directory under `base` (the system temp dir by default), removed
// at scope exit.
struct temp_dir {
  explicit temp_dir(std::string_view prefix = "kairos-e2e",
                    const std::filesystem::path& base = std::filesystem::temp_directory_path());
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::filesystem::path path;
};

// One `kairos serve` on a free API port over a data dir that outlives
// restarts: manifests from <dir>/manifests, data in <dir>/data. The
// destructor kills it with SIGKILL, as a crash would.
class server {
 public:
  explicit server(const std::filesystem::path& dir, std::vector<std::string> extra_args = {});
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  // Starts (again); running() says whether it came up.
  void start();
  void kill();
  bool running() const;
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Runs the CLI against this server.
  cli_result cli(std::vector<std::string> args,
                 std::chrono::seconds limit = std::chrono::seconds(60)) const;

 private:
  std::filesystem::path dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  int port_ = 0;
  int starts_ = 0;
};

}  // namespace kairos::e2e
