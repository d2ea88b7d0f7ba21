#include "services.hpp"

#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "kairos/cron/controller.hpp"
#include "kairos/eventsources/manager.hpp"
#include "kairos/sensors/manager.hpp"

namespace kairos::cli {

struct services::parts {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::thread> threads;
  std::unique_ptr<cron::controller> cron;
  std::unique_ptr<sensors::manager> sensors;
  std::unique_ptr<eventsources::manager> sources;
  bool stopped = false;
};

result<std::unique_ptr<services>> services::start(const services_settings& settings,
                                                  store::database& db,
                                                  engine::workflow_service& workflows,
                                                  const kairos::clock& clock) {
  std::unique_ptr<services> s(new services());
  s->parts_ = std::make_unique<parts>();
  auto& p = *s->parts_;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, settings.io_threads); ++i) {
    p.threads.emplace_back([&p] { p.io.run(); });
  }

  p.cron = std::make_unique<cron::controller>(cron::controller_settings{}, db, workflows, clock,
                                              p.io.get_executor());
  if (auto started = p.cron->start(); !started) {
    return make_error(started.error().code, "cron: " + started.error().message);
  }

  sensors::manager_settings sensor_settings;
  sensor_settings.data_dir = settings.data_dir;
  sensor_settings.metrics = settings.metrics;
  p.sensors = std::make_unique<sensors::manager>(sensor_settings, db, workflows, clock,
                                                 p.io.get_executor());
  if (auto started = p.sensors->start(); !started) {
    return make_error(started.error().code, "sensors: " + started.error().message);
  }

  eventsources::manager_settings source_settings;
  source_settings.listen_address = settings.webhook_address;
  source_settings.data_dir = settings.data_dir.string();
  source_settings.metrics = settings.metrics;
  p.sources =
      std::make_unique<eventsources::manager>(source_settings, db, clock, p.io.get_executor());
  // Webhook and Kafka events reach the sensors at once; the sensors' own
  // poll covers events appended by other paths (the API's event endpoint).
  p.sources->on_committed = [sensors = p.sensors.get()] { sensors->notify(); };
  p.sources->consumed_sequence = [sensors = p.sensors.get()] {
    return sensors->slowest_sequence();
  };
  if (auto started = p.sources->start(); !started) {
    return make_error(started.error().code, "event sources: " + started.error().message);
  }
  for (const auto& e : p.sources->errors()) spdlog::error("event source {}", e);
  return s;
}

void services::stop() {
  if (!parts_ || parts_->stopped) return;
  auto& p = *parts_;
  p.stopped = true;
  if (p.sources) p.sources->stop();
  if (p.sensors) p.sensors->stop();
  if (p.cron) p.cron->stop();
  p.work.reset();
  p.io.stop();
  for (auto& t : p.threads) {
    if (t.joinable()) t.join();
  }
}

services::~services() {
  stop();
}

}  // namespace kairos::cli
