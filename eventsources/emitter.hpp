#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/eventsources/event.hpp"
#include "kairos/store/store.hpp"

namespace prometheus {
template <typename T>
class Family;
class Counter;
}  // namespace prometheus

namespace kairos::metrics {
class registry;
class sum_count;
class summary_family;
}  // namespace kairos::metrics

namespace kairos::eventsources {

enum class emit_status {
  committed,  // in the journal
  duplicate,  // the id was journaled before; nothing new
  filtered,   // filter.expression rejected it (or could not be evaluated)
  failed,     // the journal refused it
};

struct emit_result {
  emit_status status = emit_status::failed;
  std::string message;  // why, for filtered and failed
};

// The one path from a source to the journal: filter, envelope, append,
// metrics, wake-up. emit() and emit_batch() block (they append): call them
// off the I/O threads. emit_async() does not.
class emitter {
 public:
  emitter(store::database& db, const kairos::clock& clock,
          std::shared_ptr<kairos::metrics::registry> metrics, std::function<void()> on_committed);
  ~emitter();

  emit_result emit(const event_origin& origin, std::string id, nlohmann::json data,
                   const std::optional<std::string>& filter_expression,
                   std::optional<std::chrono::system_clock::time_point> time = std::nullopt,
                   std::string_view content_type = "application/json");

  // Many events of one origin in one journal transaction (a Kafka poll's
  // worth); results in the same order. A failed append fails every event
  // that passed the filter.
  struct pending_event {
    std::string id;
    nlohmann::json data;
    std::optional<std::chrono::system_clock::time_point> time;
  };
  std::vector<emit_result> emit_batch(const event_origin& origin, std::vector<pending_event> events,
                                      const std::optional<std::string>& filter_expression,
                                      std::string_view content_type = "application/json");

  // emit_batch() in two steps and without blocking, for a caller that keeps
  // its batches in order across threads: prepare_batch() does the work
  // (filter, envelope, printing) on any thread; append_prepared_async() only
  // queues the append, and batches are journaled in the order they are
  // queued. `done` hears the results on the store's writer thread, right
  // after the commit (at once on the caller's thread when nothing is left to
  // append, or while the emitter is being destroyed).
  struct prepared_batch {
    std::vector<emit_result> results;
    std::vector<std::size_t> journaled;  // indexes of the events to append
    std::vector<store::event_record> records;
    std::chrono::steady_clock::time_point started;
  };
  prepared_batch prepare_batch(const event_origin& origin, std::vector<pending_event> events,
                               const std::optional<std::string>& filter_expression,
                               std::string_view content_type = "application/json");
  // A batch of records a source enveloped itself (make_event_text), with no
  // filter to pass: all of them are appended.
  prepared_batch prepare_records(std::vector<store::event_record> records) const;
  using batch_callback = std::function<void(std::vector<emit_result>)>;
  void append_prepared_async(const event_origin& origin, prepared_batch batch, batch_callback done);

  // The same as emit() without blocking: the event goes to the store's
  // writer, which commits what arrives during one commit in the next, and
  // `done` is called on the writer's thread with the result. Events filtered
  // out, and events emitted while the emitter is being destroyed, complete
  // at once on the caller's thread. The destructor waits for the others.
  using emit_callback = std::function<void(emit_result)>;
  void emit_async(const event_origin& origin, std::string id, nlohmann::json data,
                  const std::optional<std::string>& filter_expression, emit_callback done,
                  std::string_view content_type = "application/json");

  // A source that failed before it could emit (bad signature, bad body).
  void count_failure(const event_origin& origin);

  store::database& db() { return db_; }
  // The highest journal sequence this emitter appended (0 before any).
  std::int64_t head() const { return head_.load(); }
  const kairos::clock& clock() const { return clock_; }

 private:
  store::database& db_;
  const kairos::clock& clock_;
  std::shared_ptr<kairos::metrics::registry> registry_;
  std::function<void()> on_committed_;
  std::atomic<std::int64_t> head_{0};
  prometheus::Family<prometheus::Counter>* sent_ = nullptr;
  prometheus::Family<prometheus::Counter>* failed_ = nullptr;
  kairos::metrics::summary_family* duration_ = nullptr;

  // Filter and envelope; nullopt (with `out` set) when filtered out.
  std::optional<store::event_record> prepare(const event_origin& origin, pending_event ev,
                                             const std::optional<std::string>& filter_expression,
                                             std::string_view content_type, emit_result& out);
  // What one append outcome means for its caller; a committed event moves
  // the head.
  emit_result settle(const event_origin& origin, const store::append_outcome& outcome);
  // Metrics for one origin's events that waited `ms` for their append.
  void observe(const event_origin& origin, std::size_t events, std::size_t committed, double ms);

  std::mutex series_mutex_;
  std::map<std::pair<std::string, std::string>,
           std::pair<kairos::metrics::sum_count*, prometheus::Counter*>>
      series_;  // by (eventsource_name, event_name)

  // Asynchronous appends the store has not called back yet; the destructor
  // waits for them.
  std::mutex in_flight_mutex_;
  std::condition_variable in_flight_cv_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
};

}  // namespace kairos::eventsources
