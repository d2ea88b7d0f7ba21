#pragma once

// Typed spec of EventSource, with Argo's field names in snake_case.
// PLACEHOLDER: filled in by the spec work.

namespace kairos::spec {

struct event_source_spec {};

}  // namespace kairos::spec
