#pragma once

// Entry points of the per-kind readers. Each kind's file defines the
// read_fields overloads of its own nested types.

#include "kairos/spec/cron_workflow.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/metadata.hpp"
#include "kairos/spec/secret.hpp"
#include "kairos/spec/sensor.hpp"
#include "kairos/spec/workflow.hpp"
#include "yaml_reader.hpp"

namespace kairos::spec {

void read_fields(map_reader& m, object_meta& out);
// Every secretKeyRef-shaped field, in every kind.
void read_fields(map_reader& m, secret_key_selector& out);
void read_fields(map_reader& m, workflow_spec& out);
void read_fields(map_reader& m, cron_workflow_spec& out);
void read_fields(map_reader& m, event_source_spec& out);
void read_fields(map_reader& m, sensor_spec& out);

// Kubernetes name rules, used by metadata and by readers that name things.
// Each returns an empty string when the value is valid, else what is wrong.
std::string check_dns1123_subdomain(std::string_view value);  // <= 253, [a-z0-9.-]
std::string check_dns1123_label(std::string_view value);      // <= 63, [a-z0-9-]

}  // namespace kairos::spec
