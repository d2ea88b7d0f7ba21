#pragma once

#include <chrono>
#include <mutex>

namespace kairos {

// Time is injected everywhere so that cron, retries, deadlines and rate
// limits are tested by moving a manual clock, never by sleeping.
class clock {
 public:
  using time_point = std::chrono::system_clock::time_point;
  using duration = std::chrono::system_clock::duration;

  virtual ~clock() = default;
  virtual time_point now() const = 0;
};

class system_clock final : public clock {
 public:
  time_point now() const override { return std::chrono::system_clock::now(); }
  static system_clock& instance() {
    static system_clock c;
    return c;
  }
};

class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start = time_point{}) : now_(start) {}
  time_point now() const override {
    std::lock_guard lock(mutex_);
    return now_;
  }
  void set(time_point t) {
    std::lock_guard lock(mutex_);
    now_ = t;
  }
  void advance(duration d) {
    std::lock_guard lock(mutex_);
    now_ += d;
  }

 private:
  mutable std::mutex mutex_;
  time_point now_;
};

}  // namespace kairos
