#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kairos/core/clock.hpp"
#include "kairos/eventsources/manager.hpp"
#include "kairos/spec/loader.hpp"
#include "test_support.hpp"

namespace kairos::testing {

// A manager over a temp store with ephemeral ports; EventSources are applied
// as YAML and picked up by resync().
class manager_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_.set(std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)));
  }
  void TearDown() override {
    if (manager_) manager_->stop();
    manager_.reset();
  }

  eventsources::manager& start(eventsources::manager_settings s = {}) {
    s.ephemeral_ports = true;
    s.resync_period = std::chrono::hours(1);  // tests call resync() themselves
    manager_ =
        std::make_unique<eventsources::manager>(s, *store_.db, clock_, io_.ioc.get_executor());
    manager_->on_committed = [this] { ++committed_; };
    EXPECT_TRUE(manager_->start().ok());
    return *manager_;
  }

  void apply(const std::string& yaml) {
    auto loaded = spec::load_text(yaml, "test.yaml");
    ASSERT_TRUE(loaded.ok()) << (loaded.diagnostics.empty() ? "" : loaded.diagnostics[0].message);
    for (const auto& r : loaded.resources) {
      store::resource_record record;
      record.kind = "EventSource";
      record.namespace_ = r.metadata.namespace_;
      record.name = r.metadata.name;
      record.body = r.manifest;
      ASSERT_TRUE(store_.db->apply_resource(std::move(record)).ok());
    }
    if (manager_) manager_->resync();
  }

  std::uint16_t port(std::uint16_t configured) {
    auto p = manager_->bound_port(configured);
    EXPECT_TRUE(p.has_value()) << "nothing listens for port " << configured;
    return p.value_or(0);
  }

  temp_store store_;
  manual_clock clock_;
  io_runner io_;
  std::unique_ptr<eventsources::manager> manager_;
  std::atomic<int> committed_{0};
};

}  // namespace kairos::testing
