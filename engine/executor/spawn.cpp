#include "spawn.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char** environ;

namespace kairos::engine::detail {

namespace {

// What a child that did not reach exec reports through its status pipe.
enum class stage : int {
  setpgid = 1,
  unshare,
  make_private,
  bind,
  remount_read_only,
  redirect,
  chdir,
  exec,
  mount_tmpfs,
  enter_namespace,
  open_namespace,
};

struct child_report {
  stage where;
  int err;
  int index;  // which bind mount, for stage::bind and stage::remount_read_only
};

// For a child that shares the parent's memory (clone_vfork): the parent
// reads the report after the child has exec'd or exited, as posix_spawn
// does, so no status pipe is made and none is waited on.
[[noreturn]] void report_in_place(child_report* r, stage where, int index) {
  r->where = where;
  r->err = errno;
  r->index = index;
  ::_exit(127);
}

// Async-signal-safe: only raw write, then _exit.
[[noreturn]] void report_and_exit(int fd, stage where, int index) {
  child_report r{where, errno, index};
  ssize_t unused = ::write(fd, &r, sizeof r);
  (void)unused;
  ::_exit(127);
}

// "/proc/self/fd/<fd>" without allocating: the child may not call malloc.
void format_fd_path(int fd, std::array<char, 40>& out) {
  static constexpr char prefix[] = "/proc/self/fd/";
  std::size_t n = 0;
  for (char c : prefix) {
    if (c == '\0') break;
    out[n++] = c;
  }
  char digits[12];
  int d = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (d > 0) out[n++] = digits[--d];
  out[n] = '\0';
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads a child_report until EOF (exec closed the CLOEXEC pipe) or a full
// report. True when the child failed.
bool read_report(int fd, child_report& r) {
  std::size_t got = 0;
  auto* p = reinterpret_cast<char*>(&r);
  while (got < sizeof r) {
    ssize_t n = ::read(fd, p + got, sizeof r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got == sizeof r;
}

void reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

std::string describe(const child_report& r, const spawn_spec& spec) {
  const std::string why = std::strerror(r.err);
  auto bind_name = [&] {
    if (r.index < 0 || static_cast<std::size_t>(r.index) >= spec.binds.size()) return std::string();
    return spec.binds[static_cast<std::size_t>(r.index)].target;
  };
  switch (r.where) {
    case stage::setpgid:
      return "cannot create a process group: " + why;
    case stage::unshare:
      return "cannot create a mount namespace: " + why;
    case stage::make_private:
      return "cannot make mounts private: " + why;
    case stage::bind:
      return "cannot mount " + bind_name() + ": " + why;
    case stage::remount_read_only:
      return "cannot make " + bind_name() + " read-only: " + why;
    case stage::redirect:
      return "cannot redirect stdio: " + why;
    case stage::chdir:
      return "cannot enter working directory " + spec.working_dir + ": " + why;
    case stage::exec:
      return "cannot execute " + spec.executable + ": " + why;
    case stage::mount_tmpfs:
      return "cannot mount a tmpfs: " + why;
    case stage::enter_namespace:
      return "cannot enter the node's mount namespace: " + why;
    case stage::open_namespace:
      return "cannot open the new mount namespace: " + why;
  }
  return "cannot start: " + why;
}

// Everything the child needs, prepared before the clone: the child shares
// the parent's memory and may not allocate.
struct child_args {
  const char* executable = nullptr;
  char** argv = nullptr;
  char** env = nullptr;
  const char* working_dir = nullptr;
  child_report* report = nullptr;   // stays zero when the child reaches exec
  long long boot_ns = 0;            // CLOCK_BOOTTIME as the child starts
  std::uint64_t reset_signals = 0;  // bit sig-1: caught or ignored in the parent
  int in_fd = -1;
  int out_fd = -1;
  int err_fd = -1;
  bool mount_namespace = false;
  int namespace_fd = -1;
  const std::vector<std::string>* sources = nullptr;
  const std::vector<std::string>* targets = nullptr;
  const std::vector<char>* read_only = nullptr;
  std::vector<int>* source_fds = nullptr;
  std::vector<std::array<char, 40>>* fd_paths = nullptr;
};

constexpr std::size_t child_stack_size = 64 * 1024;

// The kernel's struct sigaction for rt_sigaction on x86-64 and arm64: all
// zero is SIG_DFL, no flags, nothing masked.
struct kernel_sigaction {
  void* handler = nullptr;
  unsigned long flags = 0;
  void* restorer = nullptr;
  std::uint64_t mask = 0;
};

// Async-signal-safe calls only, from here to execve. Not instrumented: its
// frames live on a heap block that ASan does not know as a stack, reused by
// the next clone from the same thread.
__attribute__((no_sanitize("address", "undefined"))) int child_main(void* p) {
  auto& a = *static_cast<child_args*>(p);
  {
    // A raw syscall: the vDSO is not worth trusting under sanitizers here.
    struct timespec ts {};
    if (::syscall(SYS_clock_gettime, CLOCK_BOOTTIME, &ts) == 0)
      a.boot_ns = static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
  }
  child_report* const report = a.report;
  if (::setpgid(0, 0) != 0) report_in_place(report, stage::setpgid, -1);
  // Handlers are the parent's; every caught or ignored signal goes back to
  // its default before the mask opens. The system call itself: glibc's
  // sigaction refuses its two internal signals (32 and 33), which a server
  // started with them ignored would otherwise hand on to every node.
  const kernel_sigaction dfl{};
  for (int sig = 1; sig < NSIG && sig <= 64; ++sig)
    if ((a.reset_signals >> (sig - 1)) & 1U)
      ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  if (a.mount_namespace) {
    const auto& sources = *a.sources;
    const auto& targets = *a.targets;
    auto& source_fds = *a.source_fds;
    auto& fd_paths = *a.fd_paths;
    if (a.namespace_fd >= 0) {
      if (::setns(a.namespace_fd, CLONE_NEWNS) != 0)
        report_in_place(report, stage::enter_namespace, -1);
    } else {
      if (::unshare(CLONE_NEWNS) != 0) report_in_place(report, stage::unshare, -1);
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        report_in_place(report, stage::make_private, -1);
    }
    for (std::size_t i = 0; i < sources.size(); ++i) {
      source_fds[i] = ::open(sources[i].c_str(), O_PATH | O_CLOEXEC);
      if (source_fds[i] < 0) report_in_place(report, stage::bind, static_cast<int>(i));
      format_fd_path(source_fds[i], fd_paths[i]);
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
      if (::mount(fd_paths[i].data(), targets[i].c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        report_in_place(report, stage::bind, static_cast<int>(i));
      if ((*a.read_only)[i] && ::mount(nullptr, targets[i].c_str(), nullptr,
                                       MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0)
        report_in_place(report, stage::remount_read_only, static_cast<int>(i));
    }
  }
  if (::dup2(a.in_fd, 0) < 0 || ::dup2(a.out_fd, 1) < 0 || ::dup2(a.err_fd, 2) < 0)
    report_in_place(report, stage::redirect, -1);
  // Descriptors other modules opened without O_CLOEXEC must not leak into
  // the node; older kernels without close_range just keep them.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  if (a.working_dir && ::chdir(a.working_dir) != 0) report_in_place(report, stage::chdir, -1);
  ::execve(a.executable, a.argv, a.env);
  report_in_place(report, stage::exec, -1);
}

// Runs `fn` in a child that shares this memory (and whatever `flags` add)
// and returns once the child has exec'd or exited. Signals stay blocked
// across the clone so that no handler of ours runs on the child's side of
// the shared memory.
// With CLONE_PIDFD in `flags`, `*pidfd` receives the child's pidfd.
result<pid_t> clone_vfork(int (*fn)(void*), void* arg, int flags, int* pidfd = nullptr) {
  // One stack per thread, left uninitialised: the child is done with it
  // when this thread resumes, and zeroing 64 KB for every node was a cost
  // that bought nothing.
  thread_local const std::unique_ptr<char[]> stack(new char[child_stack_size]);
  sigset_t all;
  sigset_t old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = ::clone(fn, stack.get() + child_stack_size,
                            CLONE_VM | CLONE_VFORK | SIGCHLD | flags, arg, pidfd);
  const int clone_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0)
    return make_error(errc::internal, std::string("clone: ") + std::strerror(clone_errno));
  return pid;
}

// Every node's stdin, opened once and kept.
int shared_dev_null() {
  static std::atomic<int> fd{-1};
  int current = fd.load(std::memory_order_acquire);
  if (current >= 0) return current;
  const int opened = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (opened < 0) return -1;
  if (!fd.compare_exchange_strong(current, opened, std::memory_order_acq_rel)) {
    ::close(opened);  // another thread was first
    return current;
  }
  return opened;
}

long long boot_time_ns() {
  struct timespec ts {};
  if (::clock_gettime(CLOCK_BOOTTIME, &ts) != 0) return 0;
  return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

// The signals this process catches or ignores, as bits sig-1, from the
// kernel's own summary: one read here instead of a query per signal in
// every child (64 system calls, the bulk of a child's time before exec on
// a guest where each one traps). All signals when the summary is unreadable.
std::uint64_t read_signals_to_reset() {
  constexpr std::uint64_t all = ~std::uint64_t{0};
  static const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return all;
  std::array<char, 8192> buf;
  const ssize_t n = ::pread(fd, buf.data(), buf.size() - 1, 0);
  if (n <= 0 || static_cast<std::size_t>(n) == buf.size() - 1) return all;
  buf[static_cast<std::size_t>(n)] = '\0';
  auto field = [&](const char* name) -> std::optional<std::uint64_t> {
    const char* at = std::strstr(buf.data(), name);
    if (!at) return std::nullopt;
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(at + std::strlen(name), &end, 16);
    if (errno != 0 || end == at + std::strlen(name) || *end != '\n') return std::nullopt;
    return v;
  };
  const auto ignored = field("\nSigIgn:");
  const auto caught = field("\nSigCgt:");
  if (!ignored || !caught) return all;
  return *ignored | *caught;
}

// The last reading and when it was taken (CLOCK_BOOTTIME ns; 0: none).
// Reading the summary for every node was a tenth of the spawning thread's
// time on a DAG of short nodes. A race between two spawning threads only
// pairs one fresh reading with the other's time.
std::atomic<std::uint64_t> signals_read{0};
std::atomic<long long> signals_read_at{0};

std::uint64_t signals_to_reset(long long now_ns) {
  const long long at = signals_read_at.load(std::memory_order_acquire);
  if (at != 0 && now_ns >= at && now_ns - at < signal_dispositions_life_ns)
    return signals_read.load(std::memory_order_relaxed);
  const std::uint64_t fresh = read_signals_to_reset();
  signals_read.store(fresh, std::memory_order_relaxed);
  signals_read_at.store(now_ns, std::memory_order_release);
  return fresh;
}

}  // namespace

void forget_signal_dispositions() {
  signals_read_at.store(0, std::memory_order_release);
}

std::optional<unsigned long long> start_ticks_between(long long before_ns, long long after_ns) {
  static const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
  // /proc divides nanoseconds since boot by the tick length when it is whole.
  if (before_ns <= 0 || after_ns < before_ns || ticks_per_second <= 0 ||
      1000000000L % ticks_per_second != 0)
    return std::nullopt;
  const long long tick = 1000000000LL / ticks_per_second;
  if (before_ns / tick != after_ns / tick) return std::nullopt;
  return static_cast<unsigned long long>(before_ns / tick);
}

result<spawned> spawn_process(const spawn_spec& spec) {
  if (spec.argv.empty()) return make_error(errc::invalid_argument, "no command to run");
  const int dev_null = shared_dev_null();
  if (dev_null < 0)
    return make_error(errc::internal, std::string("/dev/null: ") + std::strerror(errno));

  // The child opens every bind source right after unshare (a mount of the
  // old namespace cannot be bound) and before any mount, because a source
  // under /tmp is hidden once the private /tmp is mounted; it then mounts
  // through /proc/self/fd. Room for those paths is made here.
  std::vector<std::string> sources;
  std::vector<std::string> targets;
  std::vector<char> read_only;
  std::vector<int> source_fds(spec.binds.size(), -1);
  std::vector<std::array<char, 40>> fd_paths(spec.binds.size());
  for (const auto& b : spec.binds) {
    sources.push_back(b.source);
    targets.push_back(b.target);
    read_only.push_back(b.read_only ? 1 : 0);
  }

  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = spec.env;
  std::vector<char*> argv_p = pointers(argv);
  std::vector<char*> env_p = pointers(env);
  child_args args;
  args.executable = spec.executable.c_str();
  args.argv = argv_p.data();
  args.env = env_p.data();
  args.working_dir = spec.working_dir.empty() ? nullptr : spec.working_dir.c_str();
  child_report report{};
  args.report = &report;
  args.in_fd = dev_null;
  args.out_fd = spec.stdout_fd;
  args.err_fd = spec.stderr_fd;
  args.mount_namespace = spec.mount_namespace;
  args.namespace_fd = spec.mount_namespace ? spec.namespace_fd : -1;
  args.sources = &sources;
  args.targets = &targets;
  args.read_only = &read_only;
  args.source_fds = &source_fds;
  args.fd_paths = &fd_paths;

  // fork() of this large multi-threaded process made every node pay for
  // copy-on-write faults and TLB shootdowns in the parent. A vfork-style
  // clone shares the memory and suspends only this thread until the child
  // execs, as posix_spawn does; posix_spawn itself cannot unshare and mount.
  // Read before the clone: a handler installed in between could run in the
  // child before exec, as it could in posix_spawn's own child.
  args.reset_signals = signals_to_reset(boot_time_ns());
  const long long boot_before = boot_time_ns();
  // The pidfd comes with the clone (kernels from 5.2); the caller opens one
  // itself when it did not.
  int pidfd = -1;
  auto cloned = clone_vfork(child_main, &args, CLONE_PIDFD, &pidfd);
  if (!cloned) {
    pidfd = -1;
    cloned = clone_vfork(child_main, &args, 0);
  }
  if (!cloned) return std::move(cloned).error();
  const pid_t pid = *cloned;

  // The child made its own process group before exec, and this thread
  // resumes only after the exec (or the child's exit).
  if (report.where != stage{}) {
    if (pidfd >= 0) ::close(pidfd);
    reap(pid);
    return make_error(errc::failed_precondition, describe(report, spec));
  }
  spawned out;
  out.pid = pid;
  out.pidfd = pidfd;
  // The kernel stamps the child's start between the two readings; when both
  // fall in one clock tick, that tick is the start /proc/<pid>/stat shows,
  // and reading it from there (a file open per node) is saved.
  out.start_ticks = start_ticks_between(boot_before, args.boot_ns);
  return out;
}

namespace_probe probe_mount_namespace() {
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0)
    return {false, std::string("pipe: ") + std::strerror(errno)};
  fd_guard status_read(status_pipe[0]);
  fd_guard status_write(status_pipe[1]);
  const int report_fd = status_write.get();
  const pid_t pid = ::fork();
  if (pid < 0) return {false, std::string("fork: ") + std::strerror(errno)};
  if (pid == 0) {
    if (::unshare(CLONE_NEWNS) != 0) report_and_exit(report_fd, stage::unshare, -1);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      report_and_exit(report_fd, stage::make_private, -1);
    if (::mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m") != 0)
      report_and_exit(report_fd, stage::mount_tmpfs, -1);
    ::_exit(0);
  }
  status_write.reset();
  child_report report{};
  const bool failed = read_report(status_read.get(), report);
  reap(pid);
  if (!failed) return {true, {}};
  spawn_spec none;
  std::string reason = describe(report, none);
  if (report.err == EPERM) reason += " (needs root or CAP_SYS_ADMIN)";
  return {false, reason};
}

namespace {

struct namespace_args {
  stage where{};
  int err = 0;
  int fd = -1;
};

// Shares memory and the descriptor table with the parent: the namespace's
// fd it opens stays with the parent after it exits.
__attribute__((no_sanitize("address", "undefined"))) int namespace_main(void* p) {
  auto& a = *static_cast<namespace_args*>(p);
  auto fail = [&](stage where) {
    a.where = where;
    a.err = errno;
    ::_exit(1);
  };
  if (::unshare(CLONE_NEWNS) != 0) fail(stage::unshare);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(stage::make_private);
  a.fd = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (a.fd < 0) fail(stage::open_namespace);
  ::_exit(0);
}

result<int> make_namespace() {
  namespace_args args;
  auto pid = clone_vfork(namespace_main, &args, CLONE_FILES);
  if (!pid) return std::move(pid).error();
  reap(*pid);
  if (args.fd < 0) {
    spawn_spec none;
    return make_error(errc::failed_precondition, describe({args.where, args.err, -1}, none));
  }
  return args.fd;
}

}  // namespace

namespace_pool::~namespace_pool() {
  for (int fd : idle_) ::close(fd);
}

result<int> namespace_pool::acquire() {
  int fd = -1;
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      fd = idle_.back();
      idle_.pop_back();
    }
  }
  if (fd < 0) {
    auto made = make_namespace();
    if (!made) return made;
    fd = *made;
  }
  std::lock_guard lock(mutex_);
  ++uses_[fd];
  return fd;
}

int namespace_pool::release(int fd) {
  if (fd < 0) return -1;
  std::lock_guard lock(mutex_);
  auto it = uses_.find(fd);
  const bool worn = it == uses_.end() || it->second >= max_uses;
  if (worn || idle_.size() >= max_idle) {
    if (it != uses_.end()) uses_.erase(it);
    return fd;
  }
  idle_.push_back(fd);
  return -1;
}

bool namespace_pool::reuse(int fd) {
  std::lock_guard lock(mutex_);
  auto it = uses_.find(fd);
  if (it == uses_.end() || it->second >= max_uses) return false;
  ++it->second;
  return true;
}

std::size_t namespace_pool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

result<void> run_tool(const std::vector<std::string>& args) {
  if (args.empty()) return make_error(errc::invalid_argument, "no tool to run");
  int err_pipe[2];
  if (::pipe2(err_pipe, O_CLOEXEC) != 0)
    return make_error(errc::internal, std::string("pipe: ") + std::strerror(errno));
  fd_guard err_read(err_pipe[0]);
  fd_guard err_write(err_pipe[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<std::string> argv = args;
  std::vector<char*> argv_p = pointers(argv);
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, argv[0].c_str(), &actions, &attr, argv_p.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  err_write.reset();
  if (rc != 0) return make_error(errc::internal, args[0] + ": " + std::strerror(rc));

  std::string err_text;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(err_read.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (err_text.size() < 4096) err_text.append(buf, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return make_error(errc::internal, args[0] + ": lost its exit status");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  while (!err_text.empty() && (err_text.back() == '\n' || err_text.back() == '\r'))
    err_text.pop_back();
  std::string what = WIFEXITED(status) ? "exit code " + std::to_string(WEXITSTATUS(status))
                                       : "signal " + std::to_string(WTERMSIG(status));
  return make_error(errc::internal,
                    args[0] + " failed (" + what + ")" + (err_text.empty() ? "" : ": " + err_text));
}

std::string find_on_path(const std::string& name, const std::string& path_list) {
  if (name.empty()) return {};
  if (name.find('/') != std::string::npos) return name;
  std::size_t begin = 0;
  for (;;) {
    const std::size_t end = path_list.find(':', begin);
    std::string dir = path_list.substr(begin, end == std::string::npos ? end : end - begin);
    if (dir.empty()) dir = ".";
    const std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
    if (end == std::string::npos) return {};
    begin = end + 1;
  }
}

}  // namespace kairos::engine::detail
