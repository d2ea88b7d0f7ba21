#pragma once

// The controllers `kairos serve` runs beside the API: the CronWorkflow
// controller, the event sources and the sensors, on one io_context of their
// own. Started after the engine has recovered its workflows, stopped before
// it, so nothing submits into an engine that is not there.

#include <filesystem>
#include <memory>
#include <string>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace kairos::metrics {
class registry;
}  // namespace kairos::metrics

namespace kairos::cli {

struct services_settings {
  std::filesystem::path data_dir = ".kairos";
  // Address the event sources' webhook ports bind.
  std::string webhook_address = "127.0.0.1";
  std::size_t io_threads = 2;
  std::shared_ptr<kairos::metrics::registry> metrics;  // nullable
};

class services {
 public:
  static result<std::unique_ptr<services>> start(const services_settings& settings,
                                                 store::database& db,
                                                 engine::workflow_service& workflows,
                                                 const kairos::clock& clock);
  ~services();
  services(const services&) = delete;
  services& operator=(const services&) = delete;

  // Stops event sources first (no new events), then sensors and cron.
  void stop();

 private:
  services() = default;
  struct parts;
  std::unique_ptr<parts> parts_;
};

}  // namespace kairos::cli
