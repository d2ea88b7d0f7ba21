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
  const auto started = std::chrono::steady_clock::now();
  const auto observe = [&] {
    if (!duration_) return;
    static const auto quantiles =
        prometheus::Summary::Quantiles{{0.5, 0.05}, {0.9, 0.01}, {0.99, 0.001}};
    duration_->Add(labels_of(origin), quantiles)
        .Observe(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count());
  };

  if (filter_expression && !filter_expression->empty()) {
    auto pass = passes_filter(*filter_expression, data);
    if (!pass) {
      spdlog::debug("event source {}/{} event {}: discarded: filter expression failed: {}",
                    origin.namespace_, origin.source, origin.subject, pass.error().message);
      observe();
      return {emit_status::filtered, "filter expression failed: " + pass.error().message};
    }
    if (!*pass) {
      spdlog::debug("event source {}/{} event {}: discarded: filter expression is false",
                    origin.namespace_, origin.source, origin.subject);
      observe();
      return {emit_status::filtered, "filter expression is false"};
    }
  }

  auto record =
      make_event(origin, std::move(id), time.value_or(clock_.now()), std::move(data), content_type);
  auto appended = db_.append_event(std::move(record));
  observe();
  if (!appended) {
    count_failure(origin);
    spdlog::warn("event source {}/{} event {}: cannot journal the event: {}", origin.namespace_,
                 origin.source, origin.subject, appended.error().message);
    return {emit_status::failed, appended.error().message};
  }
  if (appended->duplicate) {
    spdlog::debug("event source {}/{} event {}: discarded: duplicate event id", origin.namespace_,
                  origin.source, origin.subject);
    return {emit_status::duplicate, "duplicate event id"};
  }
  for (auto h = head_.load(); h < appended->sequence;)
    if (head_.compare_exchange_weak(h, appended->sequence)) break;
  if (sent_) sent_->Add(labels_of(origin)).Increment();
  if (on_committed_) on_committed_();
  return {emit_status::committed, {}};
}

}  // namespace kairos::eventsources
