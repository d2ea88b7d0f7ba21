#pragma once

// Typed spec of Sensor, with Argo's field names in snake_case.
// PLACEHOLDER: filled in by the spec work.

namespace kairos::spec {

struct sensor_spec {};

}  // namespace kairos::spec
