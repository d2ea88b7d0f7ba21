#include "kairos/engine/local_executor.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "kairos/core/http_client.hpp"
#include "kairos/core/text.hpp"
#include "node_files.hpp"
#include "spawn.hpp"

namespace kairos::engine {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using boost::system::error_code;

namespace {

constexpr const char* default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

outcome failure(outcome::kind what, std::string message) {
  outcome o;
  o.what = what;
  o.message = std::move(message);
  return o;
}

// For a launch that comes, or is still queued, once the executor is going away.
outcome shutting_down() {
  return failure(outcome::kind::error, "the executor is shutting down");
}

bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

// A node's directory and its work directory, open. They stay open through
// every node that takes them as a spare, wherever a rename moves them.
struct open_dirs {
  detail::fd_guard dir;
  detail::fd_guard work;
  // The modification times of both when they were last found empty, kept
  // only when the clock had passed both: an entry made or removed since
  // then gives a later time, so while both are unchanged a spare is taken
  // without listing it. Listing a one-block directory on ext4 builds a hash
  // tree each time; two per node were about a tenth of the spawning
  // thread's time.
  std::optional<std::array<timespec, 2>> empty_at;

  bool is_open() const { return dir.get() >= 0 && work.get() >= 0; }
};

// One running (or preparing) process node. Fields below `strand` are touched
// only on the strand, except where noted.
struct node_run {
  explicit node_run(asio::any_io_executor io)
      : strand(asio::make_strand(io)),
        pidfd(strand),
        out(strand),
        err(strand),
        kill_timer(strand),
        drain_timer(strand),
        progress_timer(strand) {}

  std::string key;
  task t;
  executor::completion done;
  executor::progress_report progress;  // may be empty
  // Where it runs: its own directory, or a spare it runs in as it is (see
  // spare_dir). Its log, and whatever it leaves behind, go to `own_dir`.
  fs::path dir;
  fs::path own_dir;
  fs::path private_tmp;   // empty without a mount namespace
  int namespace_fd = -1;  // from the executor's namespace_pool, while it runs
  // `dir` and its work directory, when they came from a spare (see
  // spare_dir); not open otherwise.
  open_dirs opened;

  asio::strand<asio::any_io_executor> strand;
  asio::posix::stream_descriptor pidfd;
  asio::posix::stream_descriptor out;
  asio::posix::stream_descriptor err;
  asio::steady_timer kill_timer;
  asio::steady_timer drain_timer;
  asio::steady_timer progress_timer;
  std::string reported;  // the progress last passed on
  // Not zeroed: reads fill them, and 80 KB of memset on every node showed
  // up in the profile of a DAG of short nodes.
  std::array<char, 64 * 1024> buffer;
  std::array<char, 16 * 1024> err_buffer;

  int log_fd = -1;  // opened with the first byte the node writes
  bool log_opened = false;
  bool log_failed = false;
  pid_t pid = -1;
  int group_slot = -1;  // in the executor's group_registry
  // The group to kill when the executor goes away; any thread reads it.
  std::atomic<pid_t> live_group{-1};
  bool launched = false;
  bool exited = false;
  bool out_eof = false;
  bool err_eof = false;
  bool killed = false;
  bool finished = false;
  int wait_status = 0;
  bool status_known = false;
  std::string result;
  std::size_t result_cap = 0;
};

struct local_executor::impl : std::enable_shared_from_this<local_executor::impl> {
  impl(asio::any_io_executor io_executor, local_executor_settings s)
      : io(std::move(io_executor)), settings(std::move(s)), pool(4) {}

  asio::any_io_executor io;
  local_executor_settings settings;
  asio::thread_pool pool;
  executor_capabilities caps;
  detail::process_identity self;
  std::unique_ptr<detail::group_registry> groups;
  detail::namespace_pool namespaces;
  std::atomic<bool> stopping{false};
  // Launches handed on and not yet prepared (see start_reporting).
  std::atomic<int> unprepared{0};
  // Whether nodes_root lies under /tmp, where a private /tmp would hide it.
  bool nodes_in_tmp = false;

  std::mutex mutex;
  std::map<std::string, std::shared_ptr<node_run>> nodes;  // guarded by mutex

  // Directories of finished nodes that held nothing but their (empty) work
  // directory. A new node takes one over with a rename: on ext4 without a
  // journal, every inode allocation skips past each inode freed in the last
  // minutes, which made mkdir the dearest part of a short node.
  //
  // A spare keeps the pooled mount namespace its node ran in, whose /tmp is
  // still bound to the spare's work directory: the rename carries that
  // binding to the next node, which enters the namespace and mounts nothing
  // (the open and bind were half of a node's time between clone and exec).
  static constexpr std::size_t max_spare_dirs = 64;
  //
  // A spare also keeps both directories open, and they stay open through
  // every node that takes it: checking that they are empty lists them
  // through those descriptors, and the node's progress file is opened
  // beside one, where opening each by its path walked a long path three
  // times per node.
  struct spare_dir {
    fs::path dir;
    fs::path owner;         // the own directory of the node that last ran in it
    int namespace_fd = -1;  // owned; -1 when the node had none from the pool
    open_dirs opened;
  };
  // Numbers the spares' names, which no node's directory can have: '+' is
  // not kept by safe_component.
  std::atomic<std::uint64_t> spare_names{0};
  std::mutex spare_mutex;
  std::vector<spare_dir> spare_dirs;  // guarded by spare_mutex
  // The workflow directory the last spare was renamed within, open: a
  // rename by two full paths walked both of them for every node.
  fs::path rename_parent;                                    // guarded by spare_mutex
  std::shared_ptr<const detail::fd_guard> rename_parent_fd;  // guarded by spare_mutex

  ~impl() {
    for (const auto& s : spare_dirs)
      if (s.namespace_fd >= 0) ::close(s.namespace_fd);
  }

  // Where a bare command name was last found on a PATH, for a second: a DAG
  // of one command looked it up with a stat per PATH entry on every node.
  // An executable that appears earlier on the PATH is seen within that
  // second, unlike a shell's hash table, which keeps the old one.
  static constexpr auto path_cache_life = std::chrono::seconds(1);
  struct resolved_path {
    std::string path;
    std::chrono::steady_clock::time_point at;
  };
  std::mutex path_mutex;
  std::unordered_map<std::string, resolved_path> resolved;  // guarded by path_mutex

  std::string resolve(const std::string& name, const std::string& path_list) {
    if (name.find('/') != std::string::npos) return detail::find_on_path(name, path_list);
    std::string key = name;
    key.push_back('\0');
    key += path_list;
    const auto now = std::chrono::steady_clock::now();
    {
      std::lock_guard lock(path_mutex);
      auto it = resolved.find(key);
      if (it != resolved.end() && now - it->second.at < path_cache_life) return it->second.path;
    }
    std::string found = detail::find_on_path(name, path_list);
    if (!found.empty()) {
      std::lock_guard lock(path_mutex);
      if (resolved.size() >= 256) resolved.clear();
      resolved[std::move(key)] = {found, now};
    }
    return found;
  }

  static std::string key_of(const std::string& uid, const std::string& node) {
    return uid + '\n' + node;
  }
  // Absolute and normal, as nodes_root is made at construction and each
  // component is one name that is neither . nor ..: what the node sees and
  // the bind targets are built from it without normalising it per node.
  fs::path node_dir(const std::string& uid, const std::string& node) const {
    return settings.nodes_root / detail::safe_component(uid) / detail::safe_component(node);
  }

  // ---- preparation, on the executor's thread or the pool ------------------------------

  void prepare(const std::shared_ptr<node_run>& n) {
    outcome why;
    // A launch queued before the executor began to go away starts nothing
    // that its destructor would no longer kill.
    pid_t pid = -1;
    if (stopping) {
      why = shutting_down();
    } else {
      pid = launch(*n, why);
    }
    asio::post(n->strand, [self = shared_from_this(), n, pid, why = std::move(why)]() mutable {
      if (pid < 0) {
        self->finish_without_process(n, std::move(why));
      } else {
        self->on_launched(n, pid);
      }
    });
  }

  // Returns the pid, or -1 with `why` filled in.
  pid_t launch(node_run& n, outcome& why) {
    const auto& p = std::get<process_task>(n.t.work);
    std::error_code ec;
    // The work directory's name: `tmp`, the node's private /tmp, where it
    // has one (see work_dir).
    const fs::path leaf = caps.private_mounts ? "tmp" : "work";
    // A namespace that came with a spare directory goes back to the pool
    // unless this node ends up entering it.
    int warm_namespace = -1;
    struct give_back {
      impl& self;
      int& fd;
      ~give_back() { self.release_namespace_fd(fd); }
    } unused_namespace{*this, warm_namespace};
    if (!take_spare_dir(n, leaf, warm_namespace) && !make_node_dirs(n.dir, n.dir / leaf, ec)) {
      why = failure(outcome::kind::error,
                    "cannot create " + (n.dir / leaf).string() + ": " + ec.message());
      return -1;
    }
    if (caps.private_mounts) n.private_tmp = n.dir / leaf;
    const fs::path work = work_dir(n);
    if (p.argv.empty() && !p.script_source) {
      why = failure(outcome::kind::failed_to_start, "the template has no command");
      return -1;
    }
    if (!p.mounts.empty() && !caps.private_mounts) {
      why = failure(outcome::kind::error,
                    "volumes need a mount namespace, which this host does not allow: " +
                        caps.private_mounts_reason);
      return -1;
    }
    if (caps.private_mounts) {
      // A spare's /tmp mostly has the mode already: a chmod by name walked
      // the path and dirtied the inode for every node.
      struct stat st {};
      if (n.opened.work.get() < 0) {
        ::chmod(n.private_tmp.c_str(), 01777);
      } else if (::fstat(n.opened.work.get(), &st) != 0 || (st.st_mode & 07777) != 01777) {
        ::fchmod(n.opened.work.get(), 01777);
      }
    }
    const fs::path work_host =
        p.working_dir.empty()
            ? work
            : detail::path_map(n.private_tmp, p.mounts, work).to_host(p.working_dir);
    const detail::path_map paths(n.private_tmp, p.mounts, work_host);

    // Mount points exist before the namespace is made.
    std::vector<detail::bind_mount> binds;
    if (caps.private_mounts) {
      binds.push_back({n.private_tmp.string(), "/tmp", false});
      // A node directory under the host's /tmp would be hidden by the
      // private /tmp; it is bound back at the same path.
      // Already absolute and normal (see node_dir).
      const fs::path& host_dir = n.dir;
      if (nodes_in_tmp) {
        const fs::path inside = n.private_tmp / host_dir.lexically_relative("/tmp");
        fs::create_directories(inside, ec);
        binds.push_back({host_dir.string(), host_dir.string(), false});
      }
      std::vector<volume_mount> mounts = p.mounts;
      std::stable_sort(mounts.begin(), mounts.end(), [](const auto& a, const auto& b) {
        return a.mount_path.size() < b.mount_path.size();
      });
      for (const auto& m : mounts) {
        const fs::path target = fs::path(m.mount_path).lexically_normal();
        if (!target.is_absolute()) {
          why = failure(outcome::kind::error,
                        "volume mount path '" + m.mount_path + "' is not absolute");
          return -1;
        }
        fs::create_directories(m.host_path, ec);
        const fs::path point = detail::path_map(n.private_tmp, {}, work).to_host(target.string());
        fs::create_directories(point, ec);
        if (ec) {
          why = failure(outcome::kind::error,
                        "cannot create mount point " + m.mount_path + ": " + ec.message());
          return -1;
        }
        binds.push_back({m.host_path.string(), target.string(), m.read_only});
      }
    }

    // Environment: the task's own plus a few basics, never the server's.
    std::vector<std::pair<std::string, std::string>> env = {
        {"PATH", default_path},
        {"HOME", env_or("HOME", "/root")},
        {"LANG", env_or("LANG", "C.UTF-8")},
    };
    for (const auto& [k, v] : p.env) {
      // A named copy of the key: clang 14 cannot capture a structured binding.
      const std::string& key = k;
      auto it = std::find_if(env.begin(), env.end(), [&](const auto& e) { return e.first == key; });
      if (it != env.end()) {
        it->second = v;
      } else {
        env.emplace_back(k, v);
      }
    }
    // As in Argo, the node's progress file is the executor's to name.
    const std::string progress_path = progress_file(n).string();
    auto named = std::find_if(env.begin(), env.end(),
                              [](const auto& e) { return e.first == "ARGO_PROGRESS_FILE"; });
    if (named != env.end()) {
      named->second = progress_path;
    } else {
      env.emplace_back("ARGO_PROGRESS_FILE", progress_path);
    }
    std::string path_list = default_path;
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : env) {
      if (k == "PATH") path_list = v;
      env_strings.push_back(k + "=" + v);
    }

    std::vector<std::string> argv = p.argv;
    if (p.script_source) {
      const fs::path script = n.dir / "script";
      std::ofstream out(script, std::ios::trunc | std::ios::binary);
      out << *p.script_source;
      out.close();
      if (!out) {
        why = failure(outcome::kind::error, "cannot write " + script.string());
        return -1;
      }
      ::chmod(script.c_str(), 0755);
      argv.push_back(script.string());
    }
    const std::string executable = resolve(argv.front(), path_list);
    if (executable.empty()) {
      why = failure(outcome::kind::failed_to_start,
                    "command '" + argv.front() + "' not found on PATH (" + path_list + ")");
      return -1;
    }

    if (!p.working_dir.empty() && !fs::is_directory(work_host, ec)) {
      why = failure(outcome::kind::failed_to_start,
                    "working directory " + p.working_dir + " does not exist");
      return -1;
    }

    const detail::artifact_settings as{settings.artifacts_root, n.dir / "staging",
                                       settings.max_result_bytes};
    for (const auto& a : n.t.input_artifacts) {
      auto placed = detail::place_input_artifact(a, paths.to_host(a.path), as);
      if (!placed) {
        why = failure(outcome::kind::error,
                      "input artifact '" + a.name + "': " + std::move(placed).error().message);
        return -1;
      }
    }

    // stderr comes through a pipe too, so that the log file is created with
    // the first byte the node writes: a silent node costs no inode for it.
    int pipe_fds[2];
    int err_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      why = failure(outcome::kind::error, "pipe: " + std::string(std::strerror(errno)));
      return -1;
    }
    if (::pipe2(err_fds, O_CLOEXEC) != 0) {
      why = failure(outcome::kind::error, "pipe: " + std::string(std::strerror(errno)));
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      return -1;
    }

    detail::spawn_spec spec;
    spec.executable = executable;
    spec.argv = std::move(argv);
    spec.env = std::move(env_strings);
    if (!p.working_dir.empty() && fs::path(p.working_dir).is_absolute()) {
      spec.working_dir = p.working_dir;
    } else if (caps.private_mounts && p.working_dir.empty()) {
      spec.working_dir = "/tmp/";
    } else if (caps.private_mounts) {
      spec.working_dir = (fs::path("/tmp") / p.working_dir).lexically_normal().string();
    } else {
      spec.working_dir = work_host.string();
    }
    spec.mount_namespace = caps.private_mounts;
    // A pooled namespace keeps what earlier nodes mounted, covered: only
    // nodes whose mounts all cover part of /tmp, from sources outside it,
    // may use one (see namespace_pool).
    const bool poolable = std::all_of(binds.begin(), binds.end(), [&](const auto& b) {
      // The node's own directories are normal already (see node_dir).
      const bool own = b.source == n.private_tmp.native() || b.source == n.dir.native();
      const bool source_in_tmp =
          own ? nodes_in_tmp : detail::is_within(fs::absolute(b.source).lexically_normal(), "/tmp");
      return (b.target == "/tmp" || detail::is_within(fs::path(b.target), "/tmp")) &&
             !source_in_tmp;
    });
    if (caps.private_mounts && poolable && warm_namespace >= 0 && binds.size() == 1 &&
        namespaces.reuse(warm_namespace)) {
      // Its /tmp is already this node's work directory (see spare_dir).
      n.namespace_fd = std::exchange(warm_namespace, -1);
      binds.clear();
    } else if (caps.private_mounts && poolable) {
      if (auto ns = namespaces.acquire()) n.namespace_fd = *ns;
    }
    spec.namespace_fd = n.namespace_fd;
    spec.binds = std::move(binds);
    spec.stdout_fd = pipe_fds[1];
    spec.stderr_fd = err_fds[1];
    auto pid = detail::spawn_process(spec);
    ::close(pipe_fds[1]);
    ::close(err_fds[1]);
    if (!pid) {
      ::close(pipe_fds[0]);
      ::close(err_fds[0]);
      release_namespace(n);
      why = failure(outcome::kind::failed_to_start, std::move(pid).error().message);
      return -1;
    }
    const auto start = pid->start_ticks ? pid->start_ticks : detail::process_start_time(pid->pid);
    n.group_slot = groups->add({pid->pid, start.value_or(0)});
    n.out.assign(pipe_fds[0]);  // not yet used by any handler; safe off the strand
    n.err.assign(err_fds[0]);
    if (pid->pidfd >= 0) n.pidfd.assign(pid->pidfd);
    return pid->pid;
  }

  void release_namespace(node_run& n) { release_namespace_fd(n.namespace_fd); }

  void release_namespace_fd(int& fd) {
    const int retired = namespaces.release(fd);
    fd = -1;
    if (retired >= 0) asio::post(pool, [retired] { ::close(retired); });
  }

  // With a private /tmp, that is the node's working directory too (/tmp as
  // the node sees it), as a container's directories are all its own. Every
  // directory a node creates costs an inode and a block; on ext4 without a
  // journal each allocation also skips past every inode freed in the last
  // minutes, which made directories the dearest part of a short node.
  static fs::path work_dir(const node_run& n) {
    return n.private_tmp.empty() ? n.dir / "work" : n.private_tmp;
  }

  // Where a node may write its progress (ARGO_PROGRESS_FILE), in its directory.
  static constexpr const char* progress_name = "progress";

  // The node's directory and `work` below it; the workflow's directory
  // exists after its first node, so the common case is two mkdir calls.
  static bool make_node_dirs(const fs::path& dir, const fs::path& work, std::error_code& ec) {
    ec.clear();
    if (::mkdir(dir.c_str(), 0755) != 0) {
      if (errno != EEXIST) {
        fs::create_directories(work, ec);
        return !ec;
      }
      // A node run again (a retried workflow) finds its last run's
      // directory, whose progress file is not this run's.
      ::unlink((dir / progress_name).c_str());
    }
    if (::mkdir(work.c_str(), 0755) != 0 && errno != EEXIST) {
      ec.assign(errno, std::generic_category());
      return false;
    }
    return true;
  }

  // The names in the directory open as `fd` other than . and .., from its
  // start: how many there are (-1 on an error), and the first.
  static int list_directory(int fd, std::string* first) {
    if (::lseek(fd, 0, SEEK_SET) != 0) return -1;
    // getdents64 on a small buffer: opendir allocates 32 KB for each listing.
    alignas(dirent64) std::array<char, 1024> buf;
    int count = 0;
    for (;;) {
      const ssize_t n = ::getdents64(fd, buf.data(), buf.size());
      if (n <= 0) return n < 0 ? -1 : count;
      for (ssize_t off = 0; off < n;) {
        const auto* e = reinterpret_cast<const dirent64*>(buf.data() + off);
        off += e->d_reclen;
        const std::string_view name = e->d_name;
        if (name == "." || name == "..") continue;
        if (++count == 1 && first) *first = name;
      }
    }
  }

  // Whether the directory open as `dir_fd` holds exactly one entry, the
  // directory `leaf` (open as `leaf_fd`), and that one is empty.
  static bool holds_only_empty(int dir_fd, const fs::path& leaf, int leaf_fd) {
    std::string only;
    return list_directory(dir_fd, &only) == 1 && only == leaf.string() &&
           list_directory(leaf_fd, nullptr) == 0;
  }

  static detail::fd_guard open_directory(const fs::path& d) {
    return detail::fd_guard(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }

  static bool same_time(const timespec& a, const timespec& b) {
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
  }
  std::atomic<std::size_t> spare_listings{0};  // see local_executor::spare_listings

  // Whether the directories hold nothing but the empty work directory;
  // records the times that let the next check skip the listing (see
  // open_dirs::empty_at).
  bool holds_nothing(open_dirs& d, const fs::path& leaf) {
    // The clock first: file times come from it (coarse, or finer and still
    // not earlier), so anything changed after the stat below is dated
    // `now` or later.
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    struct stat ds {};
    struct stat ws {};
    const bool stated = ::fstat(d.dir.get(), &ds) == 0 && ::fstat(d.work.get(), &ws) == 0;
    if (stated && d.empty_at && same_time(ds.st_mtim, (*d.empty_at)[0]) &&
        same_time(ws.st_mtim, (*d.empty_at)[1]))
      return true;
    d.empty_at.reset();
    spare_listings.fetch_add(1, std::memory_order_relaxed);
    if (!holds_only_empty(d.dir.get(), leaf, d.work.get())) return false;
    if (stated && detail::dated_before(ds.st_mtim, now) && detail::dated_before(ws.st_mtim, now))
      d.empty_at = std::array<timespec, 2>{ds.st_mtim, ws.st_mtim};
    return true;
  }

  // Gives `n` a spare directory; false when there is none to take.
  // `namespace_fd` receives the namespace that came with it, if any, and
  // `n.opened` its directories. A node that may hand its directory on
  // (spare_eligible) runs in the spare as it is, without renaming it; any
  // other node renames it to its own. `leaf` names the work directory.
  bool take_spare_dir(node_run& n, const fs::path& leaf, int& namespace_fd) {
    const bool in_place = spare_eligible(n);
    for (;;) {
      spare_dir spare;
      {
        std::lock_guard lock(spare_mutex);
        if (spare_dirs.empty()) return false;
        spare = std::move(spare_dirs.back());
        spare_dirs.pop_back();
      }
      // Checked here as well as when offered: a process left behind by that
      // node may have written to it since. What it wrote is that node's.
      // The descriptors are the directories the spare was offered with,
      // wherever a rename took them since.
      if (!spare.opened.is_open() || !holds_nothing(spare.opened, leaf)) {
        release_namespace_fd(spare.namespace_fd);
        adopt(spare.dir, spare.owner);
        continue;
      }
      std::optional<fs::path> moved;
      if (!in_place) {
        if (move_dir(spare.dir, n.own_dir, true)) moved = n.own_dir;
      } else if (spare.dir.parent_path() == n.own_dir.parent_path()) {
        moved = spare.dir;
      } else {
        moved = move_to_spare_name(spare.dir, n.own_dir.parent_path());
      }
      if (moved) {
        n.dir = std::move(*moved);
        namespace_fd = spare.namespace_fd;
        n.opened = std::move(spare.opened);
        return true;
      }
      // Anything else (the directory is in use, or `dir` exists): leave it.
      release_namespace_fd(spare.namespace_fd);
    }
  }

  // A node whose directory holds only its work directory and progress file
  // while it runs: the one kind that may run in a spare as it is and hand
  // it on.
  static bool spare_eligible(const node_run& n) {
    const auto* p = std::get_if<process_task>(&n.t.work);
    return p && !p->script_source && p->mounts.empty() && n.t.input_artifacts.empty() &&
           n.t.output_artifacts.empty();
  }

  // Moves the directory `from` into `parent` under a new spare's name;
  // nothing when it could not.
  std::optional<fs::path> move_to_spare_name(const fs::path& from, const fs::path& parent) {
    // A kairos that stopped may have left spares of the same names.
    for (int attempt = 0; attempt < 8; ++attempt) {
      fs::path to = parent / ("spare+" + std::to_string(spare_names.fetch_add(1)));
      if (move_dir(from, to, false)) return to;
      if (errno != EEXIST && errno != ENOTEMPTY) break;
    }
    return std::nullopt;
  }

  // Renames the directory `from` to `to`, creating the workflow directory
  // `to` goes in when it is missing. Without `replace`, an existing `to`
  // fails the move.
  // On failure errno says why: EEXIST or ENOTEMPTY when `to` is taken.
  bool move_dir(const fs::path& from, const fs::path& to, bool replace) {
    if (rename_within_parent(from, to, replace)) return true;
    // The same rename by path would collide again.
    if (errno == EEXIST || errno == ENOTEMPTY) return false;
    const unsigned flags = replace ? 0 : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0) return true;
    if (errno != ENOENT) return false;
    if (::mkdir(to.parent_path().c_str(), 0755) != 0) {
      errno = ENOENT;  // `from` is what is missing
      return false;
    }
    return ::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), flags) == 0;
  }

  // Puts what a node left in a spare under its own name: the spare becomes
  // its directory, or, when that exists (its log is there), the spare's
  // entries join it. Best effort: what cannot move stays where it is.
  void adopt(const fs::path& dir, const fs::path& owner) {
    if (move_dir(dir, owner, false) || errno != EEXIST) return;
    const detail::fd_guard from = open_directory(dir);
    const detail::fd_guard to = open_directory(owner);
    if (from.get() < 0 || to.get() < 0) return;
    // Advanced with an error code: a range-for's increment throws.
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      ::renameat2(from.get(), name.c_str(), to.get(), name.c_str(), RENAME_NOREPLACE);
    }
    ::rmdir(dir.c_str());
  }

  // Renames `from` to `to` when both are in one directory, through that
  // directory's descriptor; false when they are not (errno EXDEV), or it
  // failed.
  bool rename_within_parent(const fs::path& from, const fs::path& to, bool replace) {
    const fs::path parent = from.parent_path();
    if (parent != to.parent_path()) {
      errno = EXDEV;
      return false;
    }
    std::shared_ptr<const detail::fd_guard> fd;
    {
      std::lock_guard lock(spare_mutex);
      if (rename_parent != parent || !rename_parent_fd) {
        auto opened = std::make_shared<const detail::fd_guard>(open_directory(parent));
        if (opened->get() < 0) return false;
        rename_parent = parent;
        rename_parent_fd = std::move(opened);
      }
      fd = rename_parent_fd;
    }
    if (::renameat2(fd->get(), from.filename().c_str(), fd->get(), to.filename().c_str(),
                    replace ? 0 : RENAME_NOREPLACE) == 0)
      return true;
    if (errno == EEXIST || errno == ENOTEMPTY) return false;
    // The directory may be gone (its workflow deleted); the next rename
    // opens it again.
    const int saved = errno;
    std::lock_guard lock(spare_mutex);
    if (rename_parent_fd == fd) rename_parent_fd.reset();
    errno = saved;
    return false;
  }

  // After its outputs are read, a node that left nothing in its directory
  // hands it, with its namespace, to the next node: under a name of its own
  // as a spare, which later nodes run in as it is. A node that left
  // something keeps it under its own name. Every other node's namespace
  // goes back to the pool here.
  void offer_spare_dir(node_run& n) {
    // A node's log is in its own directory, so a spare it ran in can still
    // be handed on.
    bool offered =
        spare_eligible(n) && n.launched && !n.log_failed && (in_spare(n) || !n.log_opened);
    if (offered) {
      // A node's own new directories are opened once, here; a spare's came
      // with it.
      const fs::path work = work_dir(n);
      if (n.opened.dir.get() < 0) n.opened.dir = open_directory(n.dir);
      if (n.opened.work.get() < 0) n.opened.work = open_directory(work);
      offered = n.opened.is_open() && holds_nothing(n.opened, work.filename());
    }
    if (offered && !in_spare(n)) {
      auto named = move_to_spare_name(n.dir, n.dir.parent_path());
      offered = named.has_value();
      if (offered) n.dir = std::move(*named);
    }
    if (offered) {
      std::lock_guard lock(spare_mutex);
      if (spare_dirs.size() < max_spare_dirs) {
        spare_dirs.push_back(
            {n.dir, n.own_dir, std::exchange(n.namespace_fd, -1), std::move(n.opened)});
        return;
      }
    }
    release_namespace(n);
    if (in_spare(n)) adopt(n.dir, n.own_dir);
  }

  // Whether the node runs in a spare rather than its own directory.
  static bool in_spare(const node_run& n) { return n.dir != n.own_dir; }

  // Where a node running in a spare writes its log.
  static void make_own_dir(const node_run& n) {
    if (in_spare(n)) ::mkdir(n.own_dir.c_str(), 0755);
  }

  static fs::path log_file(const node_run& n) { return n.own_dir / "main.log"; }
  // Absolute: the node sees the host's paths outside /tmp, and a node
  // directory under /tmp is bound back at its own path.
  static fs::path progress_file(const node_run& n) { return n.dir / progress_name; }

  // The node's progress file, trimmed; nothing when it is missing, empty or
  // longer than any "N/M" (the controller checks the figure itself). A
  // read of a few bytes from the node's own directory, as the log's writes.
  static std::optional<std::string> read_progress(const node_run& n) {
    // The node owns the path: a fifo or device there must not block this
    // thread, and a link must not lead the read elsewhere.
    constexpr int flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    const int fd = n.opened.dir.get() >= 0 ? ::openat(n.opened.dir.get(), progress_name, flags)
                                           : ::open(progress_file(n).c_str(), flags);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    std::array<char, 64> buf;
    ssize_t got = 0;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      while ((got = ::read(fd, buf.data(), buf.size())) < 0 && errno == EINTR) {
      }
    }
    ::close(fd);
    if (got <= 0 || static_cast<std::size_t>(got) == buf.size()) return std::nullopt;
    std::string_view text(buf.data(), static_cast<std::size_t>(got));
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return std::nullopt;
    text = text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
    return std::string(text);
  }

  // While the node runs, passes on each new figure it reports.
  void watch_progress(const std::shared_ptr<node_run>& n) {
    n->progress_timer.expires_after(settings.progress_interval);
    n->progress_timer.async_wait([self = shared_from_this(), n](error_code ec) {
      if (ec || n->finished || n->exited) return;
      self->pass_on_progress(*n);
      self->watch_progress(n);
    });
  }

  static void pass_on_progress(node_run& n) {
    auto text = read_progress(n);
    if (!text || *text == n.reported) return;
    n.reported = *text;
    n.progress(std::move(*text));
  }
  fs::path log_file_path(const std::string& uid, const std::string& node) const {
    return node_dir(uid, node) / "main.log";
  }

  // ---- running, on the node's strand -------------------------------------------

  void on_launched(const std::shared_ptr<node_run>& n, pid_t pid) {
    n->pid = pid;
    n->live_group = pid;
    n->launched = true;
    n->result_cap = settings.max_result_bytes;
    if (!n->pidfd.is_open()) {
      const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
      if (fd >= 0) n->pidfd.assign(fd);
    }
    if (n->pidfd.is_open()) {
      wait_exit(n);
    } else {
      // Kernels before 5.3: a pool thread waits without reaping.
      asio::post(pool, [self = shared_from_this(), n, pid] {
        siginfo_t info{};
        while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0 &&
               errno == EINTR) {
        }
        asio::post(n->strand, [self, n] { self->on_exit(n); });
      });
    }
    read_output(n);
    read_errors(n);
    if (n->progress) watch_progress(n);
    if (n->killed) signal_group(n);
  }

  void wait_exit(const std::shared_ptr<node_run>& n) {
    n->pidfd.async_wait(asio::posix::stream_descriptor::wait_read,
                        [self = shared_from_this(), n](error_code ec) {
                          if (ec == asio::error::operation_aborted) return;
                          self->on_exit(n);
                        });
  }

  void append_log(node_run& n, const char* data, std::size_t size) {
    if (n.log_fd < 0) {
      if (n.log_failed) return;
      make_own_dir(n);
      n.log_fd =
          ::open(log_file(n).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
      n.log_opened = n.log_fd >= 0;
      if (n.log_fd < 0) {
        n.log_failed = true;
        spdlog::warn("local executor: node {}: cannot open its log {}: {}", n.t.node_id,
                     log_file(n).string(), std::strerror(errno));
        return;
      }
    }
    write_all(n.log_fd, data, size);
  }

  void read_errors(const std::shared_ptr<node_run>& n) {
    n->err.async_read_some(asio::buffer(n->err_buffer),
                           [self = shared_from_this(), n](error_code ec, std::size_t size) {
                             if (size > 0) self->append_log(*n, n->err_buffer.data(), size);
                             if (ec) {
                               n->err_eof = true;
                               self->maybe_finish(n);
                               return;
                             }
                             self->read_errors(n);
                           });
  }

  void read_output(const std::shared_ptr<node_run>& n) {
    n->out.async_read_some(asio::buffer(n->buffer), [self = shared_from_this(), n](
                                                        error_code ec, std::size_t size) {
      if (size > 0) {
        self->append_log(*n, n->buffer.data(), size);
        // One byte past the cap tells a trailing newline from a cut.
        const std::size_t room = n->result_cap + 1 - std::min(n->result.size(), n->result_cap + 1);
        n->result.append(n->buffer.data(), std::min(room, size));
      }
      if (ec) {
        n->out_eof = true;
        self->maybe_finish(n);
        return;
      }
      self->read_output(n);
    });
  }

  void on_exit(const std::shared_ptr<node_run>& n) {
    if (n->exited) return;
    int status = 0;
    const pid_t r = ::waitpid(n->pid, &status, WNOHANG);
    if (r == 0) {  // spurious readiness
      if (n->pidfd.is_open()) wait_exit(n);
      return;
    }
    n->exited = true;
    n->live_group = -1;
    n->status_known = r == n->pid;
    n->wait_status = status;
    // Like a container whose main process ended: the rest of the group goes.
    ::kill(-n->pid, SIGKILL);
    n->kill_timer.cancel();
    if (!n->out_eof || !n->err_eof) {
      n->drain_timer.expires_after(settings.drain_after_exit);
      n->drain_timer.async_wait([n](error_code ec) {
        if (ec) return;
        // Someone left the group holding stdout or stderr; stop waiting.
        error_code ignored;
        n->out.cancel(ignored);
        n->err.cancel(ignored);
      });
    }
    maybe_finish(n);
  }

  void signal_group(const std::shared_ptr<node_run>& n) {
    if (!n->launched || n->exited) return;
    ::kill(-n->pid, SIGTERM);
    n->kill_timer.expires_after(settings.kill_grace);
    n->kill_timer.async_wait([n](error_code ec) {
      if (ec || n->exited) return;
      ::kill(-n->pid, SIGKILL);
    });
  }

  void do_kill(const std::shared_ptr<node_run>& n) {
    if (n->finished || n->killed) return;
    n->killed = true;
    signal_group(n);
  }

  outcome outcome_of(const node_run& n) const {
    outcome o;
    const int status = n.wait_status;
    if (n.killed) {
      o.what = outcome::kind::signaled;
      o.signal = n.status_known && WIFSIGNALED(status) ? WTERMSIG(status) : SIGTERM;
      o.message = "terminated (" + signal_name(o.signal) + ")";
    } else if (!n.status_known) {
      o.what = outcome::kind::error;
      o.message = "the exit status of the process was lost";
    } else if (WIFEXITED(status)) {
      o.what = outcome::kind::exited;
      o.exit_code = WEXITSTATUS(status);
      if (o.exit_code != 0) o.message = "Error (exit code " + std::to_string(o.exit_code) + ")";
    } else {
      o.what = outcome::kind::signaled;
      o.signal = WTERMSIG(status);
      o.message = "killed by " + signal_name(o.signal);
    }
    std::string_view kept = n.result;
    if (kept.size() > n.result_cap) {
      kept = kept.substr(0, n.result_cap);
    } else if (!kept.empty() && kept.back() == '\n') {
      kept.remove_suffix(1);
    }
    // The result goes into JSON (outputs, the store, the API), which must be
    // UTF-8; a node printing Latin-1 or cut mid-character gets U+FFFD there.
    o.result = to_valid_utf8(kept);
    return o;
  }

  void maybe_finish(const std::shared_ptr<node_run>& n) {
    if (n->finished || !n->exited || !n->out_eof || !n->err_eof) return;
    n->finished = true;
    n->kill_timer.cancel();
    n->drain_timer.cancel();
    n->progress_timer.cancel();
    error_code ignored;
    n->pidfd.close(ignored);
    n->out.close(ignored);
    n->err.close(ignored);
    if (n->log_fd >= 0) ::close(n->log_fd);
    n->log_fd = -1;
    groups->remove(n->group_slot);
    n->group_slot = -1;
    outcome o = outcome_of(*n);
    // The last figure, which a short node wrote before any reading of it.
    o.progress = read_progress(*n);
    // Reading output files blocks; a node without outputs skips the hop to
    // the pool, one thread wake-up fewer on every no-output node.
    if (stopping || (n->t.output_parameters.empty() && n->t.output_artifacts.empty())) {
      offer_spare_dir(*n);
      complete(n, std::move(o));
      return;
    }
    asio::post(pool, [self = shared_from_this(), n, o = std::move(o)]() mutable {
      self->collect_outputs(*n, o);
      self->offer_spare_dir(*n);
      self->complete(n, std::move(o));
    });
  }

  void finish_without_process(const std::shared_ptr<node_run>& n, outcome o) {
    n->finished = true;
    if (n->log_fd >= 0) ::close(n->log_fd);
    n->log_fd = -1;
    if (n->killed) o = failure(outcome::kind::signaled, "terminated before it started");
    if (n->killed) o.signal = SIGTERM;
    // The reason belongs in the node's log too, where users look first.
    if (in_spare(*n)) adopt(n->dir, n->own_dir);
    {
      std::ofstream log(log_file(*n), std::ios::app);
      log << o.message << '\n';
    }
    complete(n, std::move(o));
  }

  // ---- outputs, on the pool -------------------------------------------------------

  void collect_outputs(node_run& n, outcome& o) {
    const auto& p = std::get<process_task>(n.t.work);
    const fs::path work = work_dir(n);
    const fs::path base =
        p.working_dir.empty()
            ? work
            : detail::path_map(n.private_tmp, p.mounts, work).to_host(p.working_dir);
    const detail::path_map paths(n.private_tmp, p.mounts, base);
    for (const auto& param : n.t.output_parameters)
      o.parameters[param.name] =
          detail::read_parameter_file(paths.to_host(param.path), settings.max_result_bytes);
    const detail::artifact_settings as{settings.artifacts_root, n.dir / "staging",
                                       settings.max_result_bytes};
    const bool succeeded = o.what == outcome::kind::exited && o.exit_code == 0;
    for (const auto& a : n.t.output_artifacts) {
      auto stored = detail::store_output_artifact(a, paths.to_host(a.path), n.t.workflow_uid,
                                                  n.t.node_id, as);
      if (!stored) {
        // A failed process often never wrote its outputs; its exit code is
        // the news, not the missing file.
        if (succeeded) {
          o.what = outcome::kind::error;
          o.message = std::move(stored).error().message;
          return;
        }
        continue;
      }
      if (*stored) o.artifacts.push_back(std::move(**stored));
    }
  }

  void complete(const std::shared_ptr<node_run>& n, outcome o) {
    {
      std::lock_guard lock(mutex);
      auto it = nodes.find(n->key);
      if (it != nodes.end() && it->second == n) nodes.erase(it);
    }
    auto done = std::move(n->done);
    n->done = nullptr;
    if (done) done(std::move(o));
  }

  // ---- http tasks -------------------------------------------------------------------

  void start_http(task t, completion done) {
    const auto& h = std::get<http_task>(t.work);
    http_client::request req;
    req.method = h.method;
    req.url = h.url;
    req.headers = h.headers;
    req.body = h.body;
    req.timeout = h.timeout;
    req.insecure_skip_verify = h.insecure_skip_verify;
    asio::co_spawn(
        io,
        [req = std::move(req), done = std::move(done)]() mutable -> asio::awaitable<void> {
          auto res = co_await http_client::async_perform(std::move(req));
          outcome o;
          if (!res) {
            o.what = outcome::kind::error;
            o.message = std::move(res).error().message;
          } else {
            o.what = outcome::kind::http_response;
            o.http_status = res->status;
            for (auto& [k, v] : res->headers) {
              auto [it, inserted] = o.http_headers.emplace(k, v);
              if (!inserted) it->second += ", " + v;
            }
            o.result = to_valid_utf8(res->body);
          }
          done(std::move(o));
        },
        asio::detached);
  }
};

local_executor::local_executor(asio::any_io_executor io, local_executor_settings s)
    : impl_(std::make_shared<impl>(std::move(io), std::move(s))) {
  auto& st = impl_->settings;
  std::error_code ec;
  st.nodes_root = fs::absolute(st.nodes_root, ec).lexically_normal();
  st.artifacts_root = fs::absolute(st.artifacts_root, ec).lexically_normal();
  fs::create_directories(st.nodes_root, ec);
  fs::create_directories(st.artifacts_root, ec);
  impl_->nodes_in_tmp = detail::is_within(st.nodes_root, "/tmp");
  impl_->self = {::getpid(), detail::process_start_time(::getpid()).value_or(0)};
  impl_->groups = std::make_unique<detail::group_registry>(st.nodes_root, impl_->self);
  if (!st.private_mounts) {
    impl_->caps = {false, "private mounts are disabled in the settings"};
  } else {
    auto probe = detail::probe_mount_namespace();
    impl_->caps = {probe.available, probe.reason};
  }
  if (!impl_->caps.private_mounts)
    spdlog::info("local executor: no private mounts per node ({})",
                 impl_->caps.private_mounts_reason);
  kill_orphans();
}

local_executor::~local_executor() {
  impl_->stopping = true;
  std::vector<std::shared_ptr<node_run>> running;
  {
    std::lock_guard lock(impl_->mutex);
    for (auto& [key, n] : impl_->nodes) running.push_back(n);
  }
  // Nothing outlives the executor: what is still running is killed, and the
  // runtime marks such nodes after a restart.
  for (auto& n : running) {
    const pid_t group = n->live_group;
    if (group > 0) ::kill(-group, SIGKILL);
  }
  impl_->pool.join();
}

std::size_t local_executor::spare_listings() const {
  return impl_->spare_listings.load(std::memory_order_relaxed);
}

executor_capabilities local_executor::capabilities() const {
  return impl_->caps;
}

void local_executor::start(task t, completion done) {
  start_reporting(std::move(t), std::move(done), {});
}

void local_executor::start_reporting(task t, completion done, progress_report progress) {
  if (impl_->stopping) {
    done(shutting_down());
    return;
  }
  if (std::holds_alternative<http_task>(t.work)) {
    impl_->start_http(std::move(t), std::move(done));
    return;
  }
  auto n = std::make_shared<node_run>(impl_->io);
  n->key = impl::key_of(t.workflow_uid, t.node_id);
  n->own_dir = impl_->node_dir(t.workflow_uid, t.node_id);
  n->dir = n->own_dir;
  n->done = std::move(done);
  n->progress = std::move(progress);
  n->t = std::move(t);
  bool inserted = false;
  {
    std::lock_guard lock(impl_->mutex);
    inserted = impl_->nodes.emplace(n->key, n).second;
  }
  if (!inserted) {
    auto late = std::move(n->done);
    late(failure(outcome::kind::error, "node " + n->t.node_id + " is already running"));
    return;
  }
  // A launch with no other waiting is prepared on the executor's own
  // thread, after the caller's handler: where slots free one at a time (a
  // DAG at its parallelism), the hand-off to a pool thread and back cost
  // two wake-ups per node, about 4% of a 2,000-node run's wall time. The
  // rest of a burst (a fan-out's launches) goes to the pool, to be
  // prepared in parallel while the first is.
  const bool alone = impl_->unprepared.fetch_add(1) == 0;
  auto job = [self = impl_, n] {
    self->prepare(n);
    self->unprepared.fetch_sub(1);
  };
  if (alone) {
    asio::post(impl_->io, std::move(job));
  } else {
    asio::post(impl_->pool, std::move(job));
  }
}

void local_executor::kill(const std::string& workflow_uid, const std::string& node_id) {
  std::shared_ptr<node_run> n;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->nodes.find(impl::key_of(workflow_uid, node_id));
    if (it == impl_->nodes.end()) return;
    n = it->second;
  }
  asio::post(n->strand, [self = impl_, n] { self->do_kill(n); });
}

fs::path local_executor::log_path(const std::string& workflow_uid,
                                  const std::string& node_id) const {
  return impl_->log_file_path(workflow_uid, node_id);
}

void local_executor::kill_orphans() {
  const int killed = detail::kill_orphan_groups(impl_->settings.nodes_root, impl_->self);
  if (killed > 0) spdlog::warn("local executor: killed {} orphaned process group(s)", killed);
}

}  // namespace kairos::engine
