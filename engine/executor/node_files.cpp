#include "node_files.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kairos/core/http_client.hpp"
#include "kairos/core/text.hpp"
#include "spawn.hpp"

namespace kairos::engine::detail {

namespace fs = std::filesystem;

std::string safe_component(const std::string& s) {
  if (s.empty() || s == "." || s == "..") return "_";
  std::string out = s;
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out;
}

bool dated_before(const timespec& t, const timespec& now) {
  constexpr std::int64_t ns = 1'000'000'000;
  const std::int64_t margin = t.tv_nsec % 1'000'000 == 0 ? 2 * ns : 1'000;
  return std::int64_t{now.tv_sec} * ns + now.tv_nsec >=
         std::int64_t{t.tv_sec} * ns + t.tv_nsec + margin;
}

bool is_within(const fs::path& p, const fs::path& base) {
  auto pi = p.begin();
  for (auto bi = base.begin(); bi != base.end(); ++bi, ++pi) {
    if (bi->empty()) continue;  // a trailing separator
    if (pi == p.end() || *pi != *bi) return false;
  }
  return true;
}

path_map::path_map(fs::path private_tmp, std::vector<volume_mount> mounts, fs::path relative_base)
    : private_tmp_(std::move(private_tmp)),
      mounts_(std::move(mounts)),
      relative_base_(std::move(relative_base)) {
  std::stable_sort(mounts_.begin(), mounts_.end(), [](const auto& a, const auto& b) {
    return a.mount_path.size() > b.mount_path.size();
  });
}

fs::path path_map::to_host(const std::string& node_path) const {
  fs::path p(node_path);
  if (p.is_relative()) return (relative_base_ / p).lexically_normal();
  p = p.lexically_normal();
  if (private_tmp_.empty()) return p;
  for (const auto& m : mounts_) {
    const fs::path mount = fs::path(m.mount_path).lexically_normal();
    if (is_within(p, mount)) return (m.host_path / p.lexically_relative(mount)).lexically_normal();
  }
  if (is_within(p, "/tmp")) return (private_tmp_ / p.lexically_relative("/tmp")).lexically_normal();
  return p;
}

namespace {

bool is_gzip(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  unsigned char magic[2] = {0, 0};
  in.read(reinterpret_cast<char*>(magic), 2);
  return in.gcount() == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
}

result<void> replace_with(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::remove_all(to, ec);
  ec.clear();
  fs::rename(from, to, ec);
  if (!ec) return {};
  // Across file systems (a volume on another disk) rename cannot work.
  ec.clear();
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return make_error(errc::internal, "cannot place " + to.string() + ": " + ec.message());
  fs::remove_all(from, ec);
  return {};
}

result<void> copy_to(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to.parent_path(), ec);
  fs::remove_all(to, ec);
  ec.clear();
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec)
    return make_error(errc::internal,
                      "cannot copy " + from.string() + " to " + to.string() + ": " + ec.message());
  return {};
}

fs::path fresh_staging(const fs::path& staging_dir, const std::string& name) {
  std::error_code ec;
  fs::create_directories(staging_dir, ec);
  for (int i = 0;; ++i) {
    fs::path p = staging_dir / (safe_component(name) + "." + std::to_string(i));
    if (!fs::exists(p, ec)) return p;
  }
}

// Unpacks a tar.gz the way argoexec does (see place_input_artifact).
result<void> extract_to(const fs::path& archive, const fs::path& target, const std::string& name,
                        const artifact_settings& s) {
  const fs::path stage = fresh_staging(s.staging_dir, name);
  std::error_code ec;
  fs::create_directories(stage, ec);
  if (ec)
    return make_error(errc::internal, "cannot create " + stage.string() + ": " + ec.message());
  auto ran = run_tool({"tar", "-xzf", archive.string(), "-C", stage.string(), "--no-same-owner"});
  if (!ran) {
    fs::remove_all(stage, ec);
    return std::move(ran).error();
  }
  std::vector<fs::path> entries;
  for (const auto& e : fs::directory_iterator(stage, ec)) entries.push_back(e.path());
  result<void> placed =
      entries.size() == 1 ? replace_with(entries.front(), target) : replace_with(stage, target);
  fs::remove_all(stage, ec);
  return placed;
}

// A file that may be an archive: unpacked when it is a tar.gz, else copied.
result<void> place_file(const fs::path& source, const fs::path& target, const std::string& name,
                        const artifact_settings& s, bool move) {
  std::error_code ec;
  if (fs::is_regular_file(source, ec) && is_gzip(source)) {
    if (extract_to(source, target, name, s)) return {};
    // A gzip that is not a tar: the file as it came.
  }
  return move ? replace_with(source, target) : copy_to(source, target);
}

bool http_ok(int status) {
  return status >= 200 && status < 300;
}

}  // namespace

result<void> place_input_artifact(const input_artifact& a, const fs::path& target,
                                  const artifact_settings& s) {
  const int sources =
      (a.raw ? 1 : 0) + (a.repository_key.empty() ? 0 : 1) + (a.http_url.empty() ? 0 : 1);
  if (sources != 1)
    return make_error(
        errc::invalid_argument,
        "needs exactly one source (raw, stored key or http url), has " + std::to_string(sources));
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec)
    return make_error(errc::internal,
                      "cannot create " + target.parent_path().string() + ": " + ec.message());

  result<void> placed;
  if (a.raw) {
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << *a.raw;
    out.close();
    if (!out) return make_error(errc::internal, "cannot write " + target.string());
  } else if (!a.repository_key.empty()) {
    const fs::path key = fs::path(a.repository_key).lexically_normal();
    if (key.is_absolute() || key.empty() || *key.begin() == "..")
      return make_error(errc::invalid_argument,
                        "stored key '" + a.repository_key + "' leaves the artifact repository");
    const fs::path source = s.artifacts_root / key;
    if (!fs::exists(source, ec))
      return make_error(errc::not_found, "stored artifact '" + a.repository_key + "' not found");
    placed = fs::is_directory(source, ec) ? copy_to(source, target)
                                          : place_file(source, target, a.name, s, false);
  } else {
    http_client::request req;
    req.url = a.http_url;
    req.headers = a.http_headers;
    req.timeout = std::chrono::minutes(5);
    req.max_response_bytes = std::size_t{1} << 30;
    auto res = http_client::perform(req);
    if (!res) return std::move(res).error();
    if (!http_ok(res->status))
      return make_error(errc::unavailable,
                        "GET " + a.http_url + " answered " + std::to_string(res->status));
    const fs::path download = fresh_staging(s.staging_dir, a.name + ".download");
    {
      std::ofstream out(download, std::ios::binary | std::ios::trunc);
      out << res->body;
      if (!out) return make_error(errc::internal, "cannot write " + download.string());
    }
    placed = place_file(download, target, a.name, s, true);
    fs::remove(download, ec);
  }
  if (!placed) return placed;
  if (fs::is_regular_file(target, ec)) {
    const auto mode = static_cast<mode_t>(a.mode.value_or(0644) & 07777);
    if (::chmod(target.c_str(), mode) != 0)
      return make_error(errc::internal, "cannot chmod " + target.string());
  } else if (a.mode) {
    ::chmod(target.c_str(), static_cast<mode_t>(*a.mode & 07777));
  }
  return {};
}

std::optional<std::string> read_parameter_file(const fs::path& p, std::size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::string value(max_bytes, '\0');
  in.read(value.data(), static_cast<std::streamsize>(max_bytes));
  value.resize(static_cast<std::size_t>(in.gcount()));
  return to_valid_utf8(value);
}

result<std::optional<stored_artifact>> store_output_artifact(const output_artifact_file& a,
                                                             const fs::path& source,
                                                             const std::string& workflow_uid,
                                                             const std::string& node_id,
                                                             const artifact_settings& s) {
  std::error_code ec;
  if (!fs::exists(source, ec)) {
    if (a.optional) return std::optional<stored_artifact>();
    return make_error(errc::not_found,
                      "output artifact '" + a.name + "': " + source.string() + " does not exist");
  }
  const fs::path rel_dir = fs::path(safe_component(workflow_uid)) / safe_component(node_id);
  const fs::path dir = s.artifacts_root / rel_dir;
  fs::create_directories(dir, ec);
  if (ec) return make_error(errc::internal, "cannot create " + dir.string() + ": " + ec.message());
  stored_artifact out;
  out.name = a.name;
  if (a.archive_none) {
    const fs::path rel = rel_dir / safe_component(a.name);
    auto copied = copy_to(source, s.artifacts_root / rel);
    if (!copied) return std::move(copied).error();
    out.repository_key = rel.generic_string();
    out.archived = false;
    return std::optional<stored_artifact>(std::move(out));
  }
  const fs::path rel = rel_dir / (safe_component(a.name) + ".tgz");
  const fs::path parent = source.parent_path().empty() ? fs::path("/") : source.parent_path();
  auto tarred = run_tool({"tar", "-czf", (s.artifacts_root / rel).string(), "-C", parent.string(),
                          "--", source.filename().string()});
  if (!tarred)
    return make_error(errc::internal,
                      "output artifact '" + a.name + "': " + std::move(tarred).error().message);
  out.repository_key = rel.generic_string();
  out.archived = true;
  return std::optional<stored_artifact>(std::move(out));
}

std::optional<unsigned long long> process_start_time(pid_t pid) {
  // Read for every node started: plain read(2) into a stack buffer, not
  // streams (an ifstream and its locale were 2% of a no-op node's CPU).
  char path[32];
  std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = 0;
  do {
    n = ::read(fd, buf, sizeof buf - 1);
  } while (n < 0 && errno == EINTR);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  const std::string_view stat(buf, static_cast<std::size_t>(n));
  // comm may hold spaces and parentheses; fields resume after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::size_t at = close + 1;
  std::string_view field;
  // Field 3 (state) is the first after comm; starttime is field 22.
  for (int i = 3; i <= 22; ++i) {
    at = stat.find_first_not_of(' ', at);
    if (at == std::string_view::npos) return std::nullopt;
    const auto end = std::min(stat.find(' ', at), stat.size());
    field = stat.substr(at, end - at);
    at = end;
  }
  unsigned long long value = 0;
  const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
  if (ec != std::errc() || ptr != field.data() + field.size()) return std::nullopt;
  return value;
}

std::string boot_id() {
  // Fixed until the next boot, and read for every node started.
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string v;
    in >> v;
    return v.empty() ? std::string("unknown") : v;
  }();
  return id;
}

namespace {

std::atomic<int> registries_opened{0};

bool pwrite_all(int fd, const char* data, std::size_t size, off_t at) {
  while (size > 0) {
    const ssize_t n = ::pwrite(fd, data, size, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
    at += n;
  }
  return true;
}

// Kills a recorded group unless its leader's pid now belongs to another
// process (a recycled pid); a vanished leader may still have members.
bool kill_recorded_group(long long pgid, unsigned long long pgid_start) {
  if (pgid <= 1) return false;
  const auto leader_now = process_start_time(static_cast<pid_t>(pgid));
  if (leader_now && *leader_now != pgid_start) return false;
  return ::kill(-static_cast<pid_t>(pgid), SIGKILL) == 0;
}

// groups.<pid>.<start>.<n>: the owner, or nullopt for another file.
std::optional<process_identity> registry_owner(const std::string& name) {
  constexpr std::string_view prefix = "groups.";
  if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  long long pid = 0;
  unsigned long long start = 0;
  int n = 0;
  char tail = 0;
  if (std::sscanf(name.c_str() + prefix.size(), "%lld.%llu.%d%c", &pid, &start, &n, &tail) != 3 ||
      pid <= 0)
    return std::nullopt;
  return process_identity{static_cast<pid_t>(pid), start};
}

int kill_registry_groups(const fs::path& file, const std::string& boot) {
  std::ifstream in(file, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() < group_registry::header_bytes) return 0;
  std::istringstream header(text.substr(0, group_registry::header_bytes));
  std::string magic, recorded_boot;
  header >> magic >> recorded_boot;
  if (magic != "kairos-groups-v1" || recorded_boot != boot) return 0;  // from before a reboot
  int killed = 0;
  for (std::size_t at = group_registry::header_bytes;
       at + group_registry::slot_bytes <= text.size(); at += group_registry::slot_bytes) {
    std::istringstream slot(text.substr(at, group_registry::slot_bytes));
    long long pgid = 0;
    unsigned long long start = 0;
    if (slot >> pgid >> start && kill_recorded_group(pgid, start)) ++killed;
  }
  return killed;
}

}  // namespace

group_registry::group_registry(const fs::path& nodes_root, process_identity owner)
    : path_(nodes_root /
            ("groups." + std::to_string(owner.pid) + "." + std::to_string(owner.start_time) + "." +
             std::to_string(registries_opened++))) {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return;
  std::string header = "kairos-groups-v1 " + boot_id();
  header.resize(header_bytes - 1, ' ');
  header.push_back('\n');
  if (!pwrite_all(fd_, header.data(), header.size(), 0)) {
    ::close(fd_);
    fd_ = -1;
  }
}

group_registry::~group_registry() {
  if (fd_ < 0) return;
  ::close(fd_);
  std::error_code ec;
  fs::remove(path_, ec);
}

int group_registry::add(process_identity group) {
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return -1;
  int slot = next_;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    ++next_;
  }
  char line[slot_bytes + 1];
  std::snprintf(line, sizeof line, "%-10d %-20llu\n", static_cast<int>(group.pid),
                group.start_time);
  if (!pwrite_all(fd_, line, slot_bytes,
                  static_cast<off_t>(header_bytes + slot_bytes * static_cast<std::size_t>(slot)))) {
    free_.push_back(slot);
    return -1;
  }
  return slot;
}

void group_registry::remove(int slot) {
  if (slot < 0) return;
  std::lock_guard lock(mutex_);
  if (fd_ < 0) return;
  char blank[slot_bytes];
  std::memset(blank, ' ', sizeof blank);
  blank[slot_bytes - 1] = '\n';
  pwrite_all(fd_, blank, slot_bytes,
             static_cast<off_t>(header_bytes + slot_bytes * static_cast<std::size_t>(slot)));
  free_.push_back(slot);
}

int kill_orphan_groups(const fs::path& nodes_root, process_identity self) {
  int killed = 0;
  std::error_code ec;
  const std::string boot = boot_id();
  for (const auto& entry : fs::directory_iterator(nodes_root, ec)) {
    std::error_code ec2;
    if (entry.is_regular_file(ec2)) {
      const auto owner = registry_owner(entry.path().filename().string());
      if (!owner) continue;
      if (owner->pid == self.pid && owner->start_time == self.start_time) continue;  // ours
      const auto owner_now = process_start_time(owner->pid);
      if (owner_now && *owner_now == owner->start_time) continue;  // a live kairos's
      killed += kill_registry_groups(entry.path(), boot);
      fs::remove(entry.path(), ec2);
      continue;
    }
    if (!entry.is_directory(ec2)) continue;
    for (const auto& node : fs::directory_iterator(entry.path(), ec2)) {
      const fs::path record = node.path() / "pgid";
      std::error_code ec3;
      if (!fs::is_regular_file(record, ec3)) continue;
      std::ifstream in(record);
      long long pgid = 0, owner = 0;
      unsigned long long pgid_start = 0, owner_start = 0;
      std::string recorded_boot;
      in >> pgid >> pgid_start >> owner >> owner_start >> recorded_boot;
      const bool parsed = static_cast<bool>(in) && pgid > 1 && owner > 0;
      in.close();
      if (!parsed || recorded_boot != boot) {
        fs::remove(record, ec3);  // unreadable, or from before a reboot
        continue;
      }
      const auto owner_now = process_start_time(static_cast<pid_t>(owner));
      const bool owner_alive = owner_now && *owner_now == owner_start;
      if (owner_alive || static_cast<pid_t>(owner) == self.pid) continue;
      if (kill_recorded_group(pgid, pgid_start)) ++killed;
      fs::remove(record, ec3);
    }
  }
  return killed;
}

}  // namespace kairos::engine::detail
