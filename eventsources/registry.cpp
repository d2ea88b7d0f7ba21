#include "registry.hpp"

#include "calendar/calendar_source.hpp"
#include "github/github_source.hpp"
#include "kafka/kafka_source.hpp"
#include "minio/minio_source.hpp"
#include "sns/sns_source.hpp"
#include "webhook/webhook_source.hpp"

namespace kairos::eventsources {

namespace {
template <auto member>
std::size_t count_of(const spec::event_source_spec& s) {
  return (s.*member).size();
}
}  // namespace

std::span<const registry_entry> source_types() {
  static constexpr registry_entry table[] = {
      {"webhook", &count_of<&spec::event_source_spec::webhook>, &build_webhook_sources},
      {"github", &count_of<&spec::event_source_spec::github>, &build_github_sources},
      {"calendar", &count_of<&spec::event_source_spec::calendar>, &build_calendar_sources},
      {"kafka", &count_of<&spec::event_source_spec::kafka>, &build_kafka_sources},
      {"minio", &count_of<&spec::event_source_spec::minio>, &build_minio_sources},
      {"sns", &count_of<&spec::event_source_spec::sns>, &build_sns_sources},
  };
  return table;
}

}  // namespace kairos::eventsources
