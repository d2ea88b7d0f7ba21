#include "emitter.hpp"

#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <spdlog/spdlog.h>

namespace kairos::eventsources {

emitter::emitter(store::database& db, const kairos::clock& clock,
                 std::shared_ptr<prometheus::Registry> metrics, std::function<void()> on_committed)
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
  duration_ = &prometheus::BuildSummary()
                   .Name("argo_events_event_processing_duration_milliseconds")
                   .Help("Summary of durations of event processing")
                   .Register(*registry_);
}

emitter::~emitter() = default;

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

std::vector<emit_result> emitter::emit_batch(const event_origin& origin,
                                             std::vector<pending_event> events,
                                             const std::optional<std::string>& filter_expression,
                                             std::string_view content_type) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<emit_result> results(events.size());
  std::vector<std::size_t> journaled;  // indexes of the events appended
  std::vector<store::event_record> records;
  records.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    auto& ev = events[i];
    if (filter_expression && !filter_expression->empty()) {
      auto pass = passes_filter(*filter_expression, ev.data);
      if (!pass) {
        spdlog::debug("event source {}/{} event {}: discarded: filter expression failed: {}",
                      origin.namespace_, origin.source, origin.subject, pass.error().message);
        results[i] = {emit_status::filtered, "filter expression failed: " + pass.error().message};
        continue;
      }
      if (!*pass) {
        spdlog::debug("event source {}/{} event {}: discarded: filter expression is false",
                      origin.namespace_, origin.source, origin.subject);
        results[i] = {emit_status::filtered, "filter expression is false"};
        continue;
      }
    }
    records.push_back(make_event(origin, std::move(ev.id), ev.time.value_or(clock_.now()),
                                 std::move(ev.data), content_type));
    journaled.push_back(i);
  }

  std::size_t committed = 0;
  if (!records.empty()) {
    auto appended = db_.append_events(std::move(records));
    if (!appended) {
      spdlog::warn("event source {}/{} event {}: cannot journal {} event(s): {}", origin.namespace_,
                   origin.source, origin.subject, journaled.size(), appended.error().message);
      for (auto i : journaled) {
        count_failure(origin);
        results[i] = {emit_status::failed, appended.error().message};
      }
    } else {
      for (std::size_t k = 0; k < journaled.size(); ++k) {
        const auto& outcome = (*appended)[k];
        if (outcome.duplicate) {
          spdlog::debug("event source {}/{} event {}: discarded: duplicate event id",
                        origin.namespace_, origin.source, origin.subject);
          results[journaled[k]] = {emit_status::duplicate, "duplicate event id"};
          continue;
        }
        results[journaled[k]] = {emit_status::committed, {}};
        ++committed;
        for (auto h = head_.load(); h < outcome.sequence;)
          if (head_.compare_exchange_weak(h, outcome.sequence)) break;
      }
    }
  }

  if (duration_ || sent_) {
    // One duration for the whole batch, observed once per event, as each
    // event waited for all of it.

    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    const auto labels = labels_of(origin);
    if (duration_) {
      // No objectives, as in Argo Events (only _sum and _count), and one
      // age bucket: prometheus-cpp feeds each bucket's estimator anyway.
      auto& summary =
          duration_->Add(labels, prometheus::Summary::Quantiles{}, std::chrono::seconds(60), 1);
      for (std::size_t i = 0; i < events.size(); ++i) summary.Observe(ms);
    }
    if (sent_ && committed > 0) sent_->Add(labels).Increment(static_cast<double>(committed));
  }
  if (committed > 0 && on_committed_) on_committed_();
  return results;
}

}  // namespace kairos::eventsources
