#pragma once

// Starting processes: the node's main process (own process group, optional
// mount namespace with bind mounts, prepared entirely before fork so the
// child only makes async-signal-safe calls), the one-off namespace probe,
// and short helper tools such as tar.

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <sys/types.h>
#include <unistd.h>

#include "kairos/core/result.hpp"

namespace kairos::engine::detail {

// Owns a file descriptor and closes it.
class fd_guard {
 public:
  explicit fd_guard(int fd = -1) : fd_(fd) {}
  ~fd_guard() { reset(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  fd_guard(fd_guard&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  fd_guard& operator=(fd_guard&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

struct bind_mount {
  std::string source;  // host path, opened before the namespace hides it
  std::string target;  // as the node sees it; must exist
  bool read_only = false;
};

struct spawn_spec {
  std::string executable;  // resolved; execve'd as is
  std::vector<std::string> argv;
  std::vector<std::string> env;  // NAME=value
  std::string working_dir;       // as the node sees it
  bool mount_namespace = false;
  // With mount_namespace: a namespace from the namespace_pool to enter
  // instead of making one; every bind target must then lie within /tmp.
  int namespace_fd = -1;
  // Applied in order inside the namespace; later targets may sit inside
  // earlier ones.
  std::vector<bind_mount> binds;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

struct spawned {
  pid_t pid = -1;  // also the process group id
  int pidfd = -1;  // owned by the caller; -1 when the kernel gave none
  // The start time /proc/<pid>/stat gives (clock ticks since boot), when
  // the spawn could tell it without reading that file.
  std::optional<unsigned long long> start_ticks;
};

// Forks and execs. Returns the child once exec succeeded, or why the child
// could not get there.
result<spawned> spawn_process(const spawn_spec& spec);

// The child resets every signal this process catches or ignores, as the
// kernel listed them at most signal_dispositions_life_ns ago. A signal
// caught since is reset by execve, and blocked in the child until then;
// one ignored since would reach the node ignored. Code that changes a
// disposition and spawns at once calls this first.
inline constexpr long long signal_dispositions_life_ns = 100'000'000;
void forget_signal_dispositions();

// The tick a process started in, given CLOCK_BOOTTIME readings (ns) taken
// before it was created and after it began running: known only when both
// fall in the same tick.
std::optional<unsigned long long> start_ticks_between(long long before_ns, long long after_ns);

struct namespace_probe {
  bool available = false;
  std::string reason;
};

// Forks a child that tries unshare(CLONE_NEWNS), a private / and a tmpfs on
// /tmp, all confined to the child.
namespace_probe probe_mount_namespace();

// Mount namespaces for nodes, made once and reused. Making one per node
// (unshare) and tearing it down when the node exits cost about a quarter of
// a millisecond on each node's way in and out, and unmounting a node's /tmp
// afterwards waits for an RCU grace period too. So a node entering a pooled
// namespace binds its /tmp over the last node's, and a namespace is retired
// (closed, which tears down all its mounts at once) after `max_uses` nodes.
// A namespace serves one node at a time, and only nodes whose mounts lie
// within /tmp and come from outside it: their mounts cover all that earlier
// nodes left, and their sources never resolve through them.
class namespace_pool {
 public:
  static constexpr int max_uses = 64;
  static constexpr std::size_t max_idle = 256;

  namespace_pool() = default;
  namespace_pool(const namespace_pool&) = delete;
  namespace_pool& operator=(const namespace_pool&) = delete;
  ~namespace_pool();

  // A namespace no node holds (its fd, owned by the pool), or why none can
  // be made.
  result<int> acquire();
  // After the node's process exited. Returns -1, or a retired namespace
  // that the caller closes on a worker thread: the teardown waits for an
  // RCU grace period.
  [[nodiscard]] int release(int fd);
  // Counts one more node for a namespace a caller kept between nodes (one
  // whose /tmp already suits the next node); false once it has served
  // max_uses, when it should be released instead.
  bool reuse(int fd);
  std::size_t idle() const;

 private:
  mutable std::mutex mutex_;
  std::vector<int> idle_;
  std::unordered_map<int, int> uses_;  // nodes served, per namespace
};

// Runs a short-lived tool (argv[0] found on PATH) to completion on the
// calling thread; the error carries its stderr. Worker threads only.
result<void> run_tool(const std::vector<std::string>& argv);

// Finds `name` on `path_list` (colon-separated); empty when not found.
// A name containing '/' is returned as is.
std::string find_on_path(const std::string& name, const std::string& path_list);

}  // namespace kairos::engine::detail
