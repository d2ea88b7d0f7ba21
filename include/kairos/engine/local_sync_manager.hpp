#pragma once

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "kairos/engine/workflow_operator.hpp"

namespace kairos::engine {

// Where semaphore limits come from. There is no ConfigMap on one machine,
// so a semaphore's `configMapKeyRef {name, key}` reads the file
// <data-dir>/configmaps/<name>/<key> (an integer), mirroring how secrets are
// read from <data-dir>/secrets/<name>/<key>. `limits` (key as passed to
// try_acquire: "<ns>/semaphore/<name>/<key>") overrides the file; with
// neither, the limit is `default_limit`.
struct sync_settings {
  std::filesystem::path data_dir;
  std::map<std::string, std::int64_t> limits;
  std::int64_t default_limit = 1;
};

// Mutexes and semaphores shared by every workflow of the server. Waiters are
// served first come, first served. Holders are named "<ns>/<workflow>" or
// "<ns>/<workflow>/<more>"; on release, `on_available` is called with each
// queued holder so the runtime can operate that workflow again.
class local_sync_manager final : public sync_manager {
 public:
  explicit local_sync_manager(sync_settings settings);

  bool try_acquire(const std::string& key, const std::string& holder) override;
  void release(const std::string& key, const std::string& holder) override;
  void restore(const std::string& key, const std::string& holder) override;

  // Called outside the manager's lock; set before the first acquire.
  void set_on_available(std::function<void(const std::string& holder)> f);
  // Releases everything `holder` (or a holder below it) holds or waits for.
  void release_all(const std::string& holder_prefix);

  std::int64_t limit_of(const std::string& key) const;
  std::size_t holders_of(const std::string& key) const;

 private:
  struct lock_state {
    std::set<std::string> holders;
    std::deque<std::string> waiting;
  };
  std::int64_t limit_locked(const std::string& key) const;

  sync_settings settings_;
  mutable std::mutex mutex_;
  std::map<std::string, lock_state> locks_;
  std::function<void(const std::string&)> on_available_;
};

}  // namespace kairos::engine
