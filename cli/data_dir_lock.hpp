#pragma once

#include <filesystem>
#include <utility>

#include "kairos/core/result.hpp"

namespace kairos::cli {

// The claim of one process on a data directory: an exclusive flock on
// <data-dir>/kairos.lock, which holds the holder's pid for the message of
// whoever is refused. Two engines over one store would each take the
// other's running nodes for orphans of a crash and run them again, and two
// servers would serve each other's manifests; so `kairos serve` and
// `kairos run --data-dir` take it before they open the store.
//
// The kernel drops the lock when its holder dies, SIGKILL included, so a
// restart after a crash finds it free. The descriptor is close-on-exec: the
// nodes, which outlive a killed server in their own process groups, must
// not keep it. The file stays behind; removing it would let a newcomer lock
// a fresh inode while an older process still holds the unlinked one.
class data_dir_lock {
 public:
  // errc::failed_precondition when another process holds it.
  static result<data_dir_lock> acquire(const std::filesystem::path& data_dir);

  data_dir_lock(data_dir_lock&& other) noexcept;
  data_dir_lock& operator=(data_dir_lock&& other) noexcept;
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;
  ~data_dir_lock();

  const std::filesystem::path& path() const { return path_; }

  static constexpr const char* file_name = "kairos.lock";

 private:
  data_dir_lock(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::filesystem::path path_;
};

}  // namespace kairos::cli
