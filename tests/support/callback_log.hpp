#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace kairos::testing {

// Collects what asynchronous callbacks hand back, from whichever thread runs
// them, so a test can wait for a number of them and then look at the order.
template <typename T>
class callback_log {
 public:
  void add(T value) {
    std::lock_guard lock(mutex_);
    heard_.push_back(std::move(value));
    cv_.notify_all();
  }
  // Waits (bounded) until `count` callbacks have run; false if they never do.
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return heard_.size() >= count; });
  }
  std::vector<T> heard() {
    std::lock_guard lock(mutex_);
    return heard_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<T> heard_;
};

}  // namespace kairos::testing
