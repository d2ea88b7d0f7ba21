#include "log_trigger.hpp"

#include <optional>

#include <spdlog/spdlog.h>

#include "config.hpp"
#include "kairos/core/json_text.hpp"

namespace kairos::sensors::log_trigger {
namespace {

class action final : public trigger_action {
 public:
  explicit action(const kairos::clock& clock) : clock_(clock) {}

  result<void> execute(const spec::trigger& t, const firing& f) override {
    auto c = read_config(t);
    if (!c) return std::move(c).error();
    const auto now = clock_.now();
    if (c->interval.count() > 0 && last_ && now - *last_ < c->interval) return {};
    last_ = now;
    for (const auto& [dependency, e] : f.events)
      spdlog::info("sensor {}/{} trigger {}: dependency {} event {} {}", f.sensor_namespace,
                   f.sensor_name, f.trigger_name, dependency, e.id,
                   dump_json_replacing(e.to_json()));
    ++logged_;
    return {};
  }

 private:
  const kairos::clock& clock_;
  std::optional<kairos::clock::time_point> last_;
  std::size_t logged_ = 0;
};

}  // namespace

result<std::unique_ptr<trigger_action>> make(const spec::trigger& t,
                                             const trigger_services& services) {
  auto c = read_config(t);
  if (!c) return std::move(c).error();
  if (!services.clock) return make_error(errc::failed_precondition, "log trigger needs a clock");
  return std::unique_ptr<trigger_action>(new action(*services.clock));
}

}  // namespace kairos::sensors::log_trigger
