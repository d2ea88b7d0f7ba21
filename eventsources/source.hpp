#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "emitter.hpp"
#include "kairos/core/result.hpp"
#include "kairos/eventsources/event.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::eventsources {

class http_hub;

// One running event of an EventSource (one entry of spec.webhook, spec.github,
// spec.calendar, ...).
class source {
 public:
  virtual ~source() = default;
  // Registers routes or arms timers. Called once, from a blocking thread.
  virtual result<void> start() = 0;
  // Unregisters; in-flight requests finish. Idempotent.
  virtual void stop() = 0;
  // Timer sources: emit what is due at `now` and return the next due time.
  virtual std::optional<std::chrono::system_clock::time_point> poll(
      std::chrono::system_clock::time_point now) {
    return std::nullopt;
  }
};

// What a factory gets to build the sources of one EventSource.
struct source_context {
  std::string namespace_;
  std::string name;  // the EventSource's name
  std::shared_ptr<emitter> out;
  std::shared_ptr<http_hub> http;
  const spec::secret_resolver* secrets = nullptr;
  std::size_t default_max_payload = 1 << 20;
  // Journal events not yet handled by the slowest sensor (0 when unknown).
  std::function<std::int64_t()> journal_backlog;
};

}  // namespace kairos::eventsources
