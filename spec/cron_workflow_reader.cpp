// Reads CronWorkflow specs (Argo Workflows v3.5/v3.6 field names). The
// cron expressions themselves are checked by the cron module, which owns
// their grammar; this reader checks everything else.

#include <stdexcept>
#include <string>

#include <date/tz.h>

#include "readers.hpp"
#include "workflow_checks.hpp"

namespace kairos::spec {

static void read_fields(map_reader& m, stop_strategy& out);
static void read_fields(map_reader& m, cron_workflow_metadata& out);

static void read_fields(map_reader& m, stop_strategy& out) {
  m.ignored("condition");
  if (m.has("condition")) {
    // Only Argo 3.6 release candidates spelled it `condition`.
    m.error("condition", "renamed 'expression' in Argo 3.6.0; use stopStrategy.expression");
  }
  m.required("expression", out.expression);
}

static void read_fields(map_reader& m, cron_workflow_metadata& out) {
  m.optional("labels", out.labels);
  m.optional("annotations", out.annotations);
  constexpr std::string_view why = "a run is named <cron-name>-<scheduled unix seconds>";
  m.unsupported("name", why);
  m.unsupported("generateName", why);
  m.unsupported("namespace", "runs are created in the CronWorkflow's namespace");
  m.ignored({"uid", "resourceVersion", "creationTimestamp", "generation", "managedFields",
             "selfLink", "finalizers", "ownerReferences", "deletionTimestamp",
             "deletionGracePeriodSeconds"});
}

void read_fields(map_reader& m, cron_workflow_spec& out) {
  std::string schedule;
  m.optional("schedule", schedule);
  m.optional("schedules", out.schedules);
  if (!schedule.empty() && !out.schedules.empty()) {
    m.error("schedules", "set schedule or schedules, not both");
  } else if (!schedule.empty()) {
    out.schedules.push_back(std::move(schedule));
  } else if (out.schedules.empty()) {
    if (m.has("schedules"))
      m.error("schedules", "must list at least one schedule");
    else
      m.error_at_map(child_path(m.path(), "schedule"),
                     "required field is missing (or set schedules)");
  }
  const yaml_node& schedules_node = m.lookup("schedules");
  for (std::size_t i = 0; i < out.schedules.size() && schedules_node.is_sequence(); ++i) {
    if (out.schedules[i].empty())
      m.context().error(schedules_node[i], index_path(child_path(m.path(), "schedules"), i),
                        "must not be empty");
  }

  if (m.optional("timezone", out.timezone) && !out.timezone.empty()) {
    try {
      date::locate_zone(out.timezone);
    } catch (const std::exception&) {
      m.error("timezone", "unknown time zone '" + out.timezone +
                              "'; expected an IANA name such as UTC or Europe/Paris");
    }
  }
  m.optional_enum("concurrencyPolicy", out.concurrency_policy, {"Allow", "Forbid", "Replace"});
  m.optional("startingDeadlineSeconds", out.starting_deadline_seconds);
  if (out.starting_deadline_seconds && *out.starting_deadline_seconds < 0)
    m.error("startingDeadlineSeconds", "must not be negative");
  m.optional("successfulJobsHistoryLimit", out.successful_jobs_history_limit);
  if (out.successful_jobs_history_limit < 0)
    m.error("successfulJobsHistoryLimit", "must not be negative");
  m.optional("failedJobsHistoryLimit", out.failed_jobs_history_limit);
  if (out.failed_jobs_history_limit < 0) m.error("failedJobsHistoryLimit", "must not be negative");
  m.optional("suspend", out.suspend);
  m.optional("when", out.when);
  m.optional("stopStrategy", out.stop_strategy);
  m.required("workflowSpec", out.workflow_spec);
  check_runnable_workflow(m.context(), m.lookup("workflowSpec"),
                          child_path(m.path(), "workflowSpec"), out.workflow_spec);
  m.optional("workflowMetadata", out.workflow_metadata);
}

}  // namespace kairos::spec
