#include "config.hpp"

namespace kairos::sensors::log_trigger {

result<config> read_config(const spec::trigger& t) {
  if (!t.template_.log) return make_error(errc::internal, "not a log trigger");
  config c;
  // Bounded so the clock arithmetic cannot overflow.
  const auto s = std::min<std::uint64_t>(t.template_.log->interval_seconds, 10ULL * 365 * 86400);
  c.interval = std::chrono::seconds(static_cast<std::int64_t>(s));
  return c;
}

}  // namespace kairos::sensors::log_trigger
