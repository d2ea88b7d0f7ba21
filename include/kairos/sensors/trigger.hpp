#pragma once

// Trigger actions and the explicit registry that builds them from specs
// (sensors/triggers/registry.cpp). Each trigger type lives in its own folder
// under sensors/triggers/ with its config and implementation.

#include <filesystem>
#include <memory>
#include <string>

#include "kairos/core/clock.hpp"
#include "kairos/core/http_client.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/sensors/event.hpp"
#include "kairos/spec/sensor.hpp"

namespace kairos::sensors {

// How http triggers send; the default performs with core/http_client, tests
// substitute a fake. Called on a worker thread, never on an I/O thread.
class http_sender {
 public:
  virtual ~http_sender() = default;
  virtual result<http_client::response> send(const http_client::request& r) = 0;
};

std::shared_ptr<http_sender> default_http_sender();

// What trigger actions may use.
struct trigger_services {
  engine::workflow_service* workflows = nullptr;  // argoWorkflow and k8s triggers
  std::shared_ptr<http_sender> http;              // http triggers
  std::filesystem::path data_dir;                 // secrets under <data_dir>/secrets
  const kairos::clock* clock = nullptr;
};

// One firing of a trigger.
struct firing {
  std::string sensor_namespace;
  std::string sensor_name;
  std::string trigger_name;
  event_map events;
  // Hex of sha256 over the sorted ids of `events`; stable across replays.
  std::string key;
};

class trigger_action {
 public:
  virtual ~trigger_action() = default;
  // Performs the action once. Errors are retried by the runner according to
  // the trigger's retryStrategy.
  virtual result<void> execute(const spec::trigger& trigger, const firing& f) = 0;
};

// Builds the action for a trigger's type; an error names what is missing or
// unsupported.
result<std::unique_ptr<trigger_action>> make_trigger_action(const spec::trigger& trigger,
                                                            const trigger_services& services);

// sha256 hex over the sorted event ids, newline separated.
std::string firing_key(const event_map& events);

// "<sensor>-<trigger>-<first 16 hex of key>", lower-cased, with characters a
// Workflow name may not hold replaced by '-'.
std::string workflow_name_for(const std::string& sensor, const std::string& trigger,
                              const std::string& key);

}  // namespace kairos::sensors
