#include "emitter.hpp"

#include <future>

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>

#include "kairos/core/json_text.hpp"
#include "kairos/core/metrics.hpp"

namespace kairos::eventsources {

emitter::emitter(store::database& db, const kairos::clock& clock,
                 std::shared_ptr<kairos::metrics::registry> metrics,
                 std::function<void()> on_committed)
    : db_(db),
      clock_(clock),
      registry_(std::move(metrics)),
      on_committed_(std::move(on_committed)) {
  if (!registry_) return;
  // Argo Events' event-source metric names and labels, so dashboards carry over.
  sent_ = &prometheus::BuildCounter()
               .Name("argo_events_events_sent_total")
               .Help("How many events have been sent successfully")
               .Register(*registry_);
  failed_ = &prometheus::BuildCounter()
                 .Name("argo_events_events_processing_failed_total")
                 .Help("How many events failed to process")
                 .Register(*registry_);
  duration_ = &registry_->summary(metrics::event_processing_duration_name,
                                  metrics::event_processing_duration_help);
}

emitter::~emitter() {
  // The store calls back into this emitter for every append it holds: wait
  // for them (the store commits what is queued even while it closes).
  std::unique_lock lock(in_flight_mutex_);
  stopping_ = true;
  in_flight_cv_.wait(lock, [&] { return in_flight_ == 0; });
}

namespace {
prometheus::Labels labels_of(const event_origin& o) {
  return {{"eventsource_name", o.source}, {"event_name", o.subject}};
}
}  // namespace

void emitter::count_failure(const event_origin& origin) {
  if (failed_) failed_->Add(labels_of(origin)).Increment();
}

emit_result emitter::emit(const event_origin& origin, std::string id, nlohmann::json data,
                          const std::optional<std::string>& filter_expression,
                          std::optional<std::chrono::system_clock::time_point> time,
                          std::string_view content_type) {
  std::vector<pending_event> one;
  one.push_back({std::move(id), std::move(data), time});
  return std::move(emit_batch(origin, std::move(one), filter_expression, content_type).front());
}

std::optional<store::event_record> emitter::prepare(
    const event_origin& origin, pending_event ev,
    const std::optional<std::string>& filter_expression, std::string_view content_type,
    emit_result& out) {
  if (filter_expression && !filter_expression->empty()) {
    auto pass = passes_filter(*filter_expression, ev.data);
    if (!pass) {
      spdlog::debug("event source {}/{} event {}: discarded: filter expression failed: {}",
                    origin.namespace_, origin.source, origin.subject, pass.error().message);
      out = {emit_status::filtered, "filter expression failed: " + pass.error().message};
      return std::nullopt;
    }
    if (!*pass) {
      spdlog::debug("event source {}/{} event {}: discarded: filter expression is false",
                    origin.namespace_, origin.source, origin.subject);
      out = {emit_status::filtered, "filter expression is false"};
      return std::nullopt;
    }
  }
  return make_event(origin, std::move(ev.id), ev.time.value_or(clock_.now()), std::move(ev.data),
                    content_type);
}

void emitter::observe(const event_origin& origin, std::size_t events, std::size_t committed,
                      double ms) {
  if (!duration_ && !sent_) return;
  metrics::sum_count* summary = nullptr;
  prometheus::Counter* sent = nullptr;
  {
    // Looked up once per origin: prometheus-cpp's Family::Add builds a whole
    // counter on every call, even for labels it has.
    std::lock_guard lock(series_mutex_);
    auto& cached = series_[{origin.source, origin.subject}];
    if (!cached.first && duration_) cached.first = &duration_->add(labels_of(origin));
    if (!cached.second && sent_) cached.second = &sent_->Add(labels_of(origin));
    summary = cached.first;
    sent = cached.second;
  }
  if (summary) summary->observe(ms, events);
  if (sent && committed > 0) sent->Increment(static_cast<double>(committed));
}

emit_result emitter::settle(const event_origin& origin, const store::append_outcome& outcome) {
  if (outcome.duplicate) {
    spdlog::debug("event source {}/{} event {}: discarded: duplicate event id", origin.namespace_,
                  origin.source, origin.subject);
    return {emit_status::duplicate, "duplicate event id"};
  }
  for (auto h = head_.load(); h < outcome.sequence;)
    if (head_.compare_exchange_weak(h, outcome.sequence)) break;
  return {emit_status::committed, {}};
}

std::vector<emit_result> emitter::emit_batch(const event_origin& origin,
                                             std::vector<pending_event> events,
                                             const std::optional<std::string>& filter_expression,
                                             std::string_view content_type) {
  std::promise<std::vector<emit_result>> promise;
  auto future = promise.get_future();
  append_prepared_async(
      origin, prepare_batch(origin, std::move(events), filter_expression, content_type),
      [&promise](std::vector<emit_result> results) { promise.set_value(std::move(results)); });
  return future.get();
}

emitter::prepared_batch emitter::prepare_batch(const event_origin& origin,
                                               std::vector<pending_event> events,
                                               const std::optional<std::string>& filter_expression,
                                               std::string_view content_type) {
  prepared_batch b;
  b.started = std::chrono::steady_clock::now();
  b.results.resize(events.size());
  b.records.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto record =
        prepare(origin, std::move(events[i]), filter_expression, content_type, b.results[i]);
    if (!record) continue;
    try {
      record->text = dump_json(record->body);
      // The text is all the store needs, and a reader parses it again only
      // if it looks into the event. The tree is freed here, on the source's
      // thread: freeing it after the commit would put it on the single
      // writer, which every appender waits for.
      record->body = nullptr;
    } catch (const nlohmann::json::exception&) {
      // Not valid UTF-8: the store prints it its own way.
    }
    b.records.push_back(std::move(*record));
    b.journaled.push_back(i);
  }
  return b;
}

emitter::prepared_batch emitter::prepare_records(std::vector<store::event_record> records) const {
  prepared_batch b;
  b.started = std::chrono::steady_clock::now();
  b.results.resize(records.size());
  b.journaled.resize(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) b.journaled[i] = i;
  b.records = std::move(records);
  return b;
}

void emitter::append_prepared_async(const event_origin& origin, prepared_batch batch,
                                    batch_callback done) {
  const auto elapsed_ms = [started = batch.started] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
        .count();
  };
  const std::size_t count = batch.results.size();
  if (batch.records.empty()) {
    observe(origin, count, 0, elapsed_ms());
    done(std::move(batch.results));
    return;
  }
  bool refused = false;
  {
    std::lock_guard lock(in_flight_mutex_);
    refused = stopping_;
    if (!refused) ++in_flight_;
  }
  if (refused) {
    for (auto i : batch.journaled) {
      count_failure(origin);
      batch.results[i] = {emit_status::failed, "the event sources are stopping"};
    }
    done(std::move(batch.results));
    return;
  }
  db_.append_events_async(
      std::move(batch.records),
      [this, origin, count, elapsed_ms, results = std::move(batch.results),
       journaled = std::move(batch.journaled),
       done = std::move(done)](result<std::vector<store::append_outcome>> appended) mutable {
        // Counted out however this ends: the destructor waits for the count.
        struct leave {
          emitter& self;
          ~leave() {
            std::lock_guard lock(self.in_flight_mutex_);
            if (--self.in_flight_ == 0) self.in_flight_cv_.notify_all();
          }
        } counted{*this};
        std::size_t committed = 0;
        if (!appended) {
          spdlog::warn("event source {}/{} event {}: cannot journal {} event(s): {}",
                       origin.namespace_, origin.source, origin.subject, journaled.size(),
                       appended.error().message);
          for (auto i : journaled) {
            count_failure(origin);
            results[i] = {emit_status::failed, appended.error().message};
          }
        } else {
          for (std::size_t k = 0; k < journaled.size() && k < appended->size(); ++k) {
            results[journaled[k]] = settle(origin, (*appended)[k]);
            if (results[journaled[k]].status == emit_status::committed) ++committed;
          }
        }
        // The sensors are woken before the caller hears back: both can start
        // now. One duration for the whole batch, observed once per event, as
        // each event waited for all of it.
        if (committed > 0 && on_committed_) on_committed_();
        observe(origin, count, committed, elapsed_ms());
        done(std::move(results));
      });
}

void emitter::emit_async(const event_origin& origin, std::string id, nlohmann::json data,
                         const std::optional<std::string>& filter_expression, emit_callback done,
                         std::string_view content_type) {
  // Straight to the store's writer, which commits whatever arrived during
  // its last commit together: no thread of our own between the connection
  // and the journal.
  std::vector<pending_event> one;
  one.push_back({std::move(id), std::move(data), std::nullopt});
  append_prepared_async(origin,
                        prepare_batch(origin, std::move(one), filter_expression, content_type),
                        [done = std::move(done)](std::vector<emit_result> results) {
                          done(std::move(results.front()));
                        });
}

}  // namespace kairos::eventsources
