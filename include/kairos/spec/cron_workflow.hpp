#pragma once

// Typed spec of CronWorkflow (Argo Workflows v3.5/v3.6), with Argo's field
// names in snake_case. Cron expressions are kept as text; the cron module
// parses them.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kairos/spec/workflow.hpp"

namespace kairos::spec {

struct stop_strategy {
  // Stops scheduling once true; sees cronworkflow.failed / .succeeded.
  std::string expression;
};

// Argo takes a whole ObjectMeta here; only labels and annotations mean
// anything for the workflows it creates.
struct cron_workflow_metadata {
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
};

struct cron_workflow_spec {
  // Every schedule, in order: Argo 3.6's `schedules`, or the single older
  // `schedule`. Never empty once loaded.
  std::vector<std::string> schedules;
  std::string timezone;                      // IANA name; empty means the machine's zone
  std::string concurrency_policy = "Allow";  // Allow, Forbid or Replace
  std::optional<std::int64_t> starting_deadline_seconds;
  int successful_jobs_history_limit = 3;
  int failed_jobs_history_limit = 1;
  bool suspend = false;
  std::string when;  // expression deciding whether a due run is started
  std::optional<spec::stop_strategy> stop_strategy;
  spec::workflow_spec workflow_spec;
  std::optional<cron_workflow_metadata> workflow_metadata;
};

}  // namespace kairos::spec
