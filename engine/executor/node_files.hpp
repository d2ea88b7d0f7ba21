#pragma once

// The files around a node: where a path the node sees lives on the host,
// input artifacts placed before start, outputs collected after exit, and the
// records of running process groups that let a later process find orphans.

#include <cstddef>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "kairos/core/result.hpp"
#include "kairos/engine/executor.hpp"

namespace kairos::engine::detail {

// A path component made safe: anything outside [A-Za-z0-9._-] becomes '_',
// and "." / ".." / "" become "_".
std::string safe_component(const std::string& s);

// Maps paths as the node sees them to host paths.
class path_map {
 public:
  // private_tmp empty: no mount namespace, every path is the host path.
  path_map(std::filesystem::path private_tmp, std::vector<volume_mount> mounts,
           std::filesystem::path relative_base);
  std::filesystem::path to_host(const std::string& node_path) const;

 private:
  std::filesystem::path private_tmp_;
  std::vector<volume_mount> mounts_;  // longest mount_path first
  std::filesystem::path relative_base_;
};

// Whether any change made to a file from `now` (the coarse realtime clock)
// on is dated other than `t`, a time the file had. File times are that
// clock cut to the filesystem's granularity: a nanosecond on ext4, xfs,
// btrfs and tmpfs, a second or two on some others. A time on a whole
// millisecond is taken to be such a cut one.
bool dated_before(const timespec& t, const timespec& now);

// True when `p` is `base` or inside it (both lexically normal and absolute).
bool is_within(const std::filesystem::path& p, const std::filesystem::path& base);

struct artifact_settings {
  std::filesystem::path artifacts_root;
  std::filesystem::path staging_dir;  // scratch space on the node's disk
  std::size_t max_parameter_bytes = 256 * 1024;
};

// Places one input artifact at `target` (a host path). Archives (tar.gz)
// are unpacked as Argo does: a single top-level entry becomes `target`
// itself, several become the contents of directory `target`.
result<void> place_input_artifact(const input_artifact& a, const std::filesystem::path& target,
                                  const artifact_settings& s);

// Reads an output parameter file; nullopt when it is missing or not a file.
// Bytes that are not UTF-8 become U+FFFD (see to_valid_utf8).
std::optional<std::string> read_parameter_file(const std::filesystem::path& p,
                                               std::size_t max_bytes);

// Stores an output artifact from `source` (a host path) under
// <artifacts_root>/<uid>/<node>/. nullopt with no error: optional and absent.
result<std::optional<stored_artifact>> store_output_artifact(const output_artifact_file& a,
                                                             const std::filesystem::path& source,
                                                             const std::string& workflow_uid,
                                                             const std::string& node_id,
                                                             const artifact_settings& s);

// Process identity that survives pid reuse: pid plus its start time (clock
// ticks since boot) and the boot id.
struct process_identity {
  pid_t pid = 0;
  unsigned long long start_time = 0;
};
std::optional<unsigned long long> process_start_time(pid_t pid);
std::string boot_id();

// The process groups one executor has running, in one file per executor:
// <nodes root>/groups.<owner pid>.<owner start>.<n>. A 64-byte header holds
// the boot id; each group takes a fixed 32-byte slot ("pgid start"), which
// is blanked when the group is done. Slots are rewritten in place, so
// starting a node creates and deletes no file: on ext4 without a journal
// every inode allocation scans past recently deleted ones, and a file per
// node made each launch slower the longer a workflow ran.
class group_registry {
 public:
  group_registry(const std::filesystem::path& nodes_root, process_identity owner);
  ~group_registry();  // removes the file: its owner ends cleanly
  group_registry(const group_registry&) = delete;
  group_registry& operator=(const group_registry&) = delete;

  // The slot recording `group`, or -1 when it could not be written (the
  // node still runs; only orphan cleanup after a crash would miss it).
  int add(process_identity group);
  void remove(int slot);

  static constexpr std::size_t header_bytes = 64;
  static constexpr std::size_t slot_bytes = 32;

 private:
  std::filesystem::path path_;
  int fd_ = -1;
  std::mutex mutex_;
  std::vector<int> free_;  // blanked slots, reused first
  int next_ = 0;           // the first slot never used
};

// Kills the groups that registry files (and per-node pgid files, which
// earlier versions wrote: "pgid pgid_start owner_pid owner_start boot_id")
// name when their owner is gone, and removes those records. Returns how many
// groups were signalled.
int kill_orphan_groups(const std::filesystem::path& nodes_root, process_identity self);

}  // namespace kairos::engine::detail
