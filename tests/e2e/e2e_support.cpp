#include "e2e_support.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace kairos::e2e {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_file(const fs::path& p, std::string_view text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

pid_t spawn(const std::vector<std::string>& args, const fs::path& out, const fs::path& err) {
  static const std::string binary = KAIROS_BINARY;
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("KAIROS_", 0) != 0) env_strings.emplace_back(*e);
  }
  // Everything the child needs is built before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<char*> argv{const_cast<char*>(binary.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = ::open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || in < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

std::optional<int> wait_exit(pid_t pid, std::chrono::steady_clock::duration limit) {
  using namespace std::chrono_literals;
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0 || std::chrono::steady_clock::now() > deadline) return std::nullopt;
    // Polling a child process here is waiting on an external process, not
    // on time: nothing in the product is timed by it.
    std::this_thread::sleep_for(10ms);
  }
}

std::optional<int> wait_exit_or_kill(pid_t pid, std::chrono::steady_clock::duration limit) {
  auto code = wait_exit(pid, limit);
  if (!code) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return code;
}

cli_result run_cli(const fs::path& dir, const std::vector<std::string>& args,
                   std::chrono::seconds limit) {
  static std::atomic<int> counter{0};
  const auto base = dir / ("cli-" + std::to_string(++counter));
  pid_t pid = spawn(args, base.string() + ".out", base.string() + ".err");
  cli_result r;
  r.code = wait_exit_or_kill(pid, limit).value_or(-1);
  r.out = read_file(base.string() + ".out");
  r.err = read_file(base.string() + ".err");
  return r;
}

temp_dir::temp_dir(std::string_view prefix, const fs::path& base) {
  std::string tmpl = (base / (std::string(prefix) + "-XXXXXX")).string();
  path = ::mkdtemp(tmpl.data());
}

temp_dir::~temp_dir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

server::server(const fs::path& dir, std::vector<std::string> extra_args)
    : dir_(dir), extra_args_(std::move(extra_args)) {
  start();
}

server::~server() {
  kill();
}

void server::start() {
  using namespace std::chrono_literals;
  fs::create_directories(dir_ / "manifests");
  const auto port_file = dir_ / "port";
  fs::remove(port_file);
  std::vector<std::string> args{"serve",
                                "--listen",
                                "127.0.0.1:0",
                                "--port-file",
                                port_file.string(),
                                "--data-dir",
                                (dir_ / "data").string(),
                                "--manifests",
                                (dir_ / "manifests").string(),
                                "--log-level",
                                "warn"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = spawn(args, dir_ / "server.out", dir_ / ("server-" + std::to_string(++starts_) + ".err"));
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(port_file)) {
      port_ = std::stoi(read_file(port_file));
      return;
    }
    if (wait_exit(pid_, 0s)) break;
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
}

void server::kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
}

bool server::running() const {
  using namespace std::chrono_literals;
  return pid_ > 0 && wait_exit(pid_, 0s) == std::nullopt;
}

cli_result server::cli(std::vector<std::string> args, std::chrono::seconds limit) const {
  std::vector<std::string> full{"--server", url()};
  full.insert(full.end(), args.begin(), args.end());
  return run_cli(dir_, full, limit);
}

}  // namespace kairos::e2e
