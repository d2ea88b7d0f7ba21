#pragma once

// Typed spec of CronWorkflow, with Argo's field names in snake_case.
// PLACEHOLDER: filled in by the spec work.

namespace kairos::spec {

struct cron_workflow_spec {};

}  // namespace kairos::spec
