#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <tuple>

#include "kairos/store/store.hpp"

namespace kairos::testing {

// An in-memory store::database with the real one's contract (versions,
// conflicts, duplicate event ids), so API tests need no SQLite.
class fake_store final : public store::database {
 public:
  int schema_version() const override { return 1; }
  const std::filesystem::path& data_dir() const override { return dir_; }

  result<store::resource_record> create_resource(store::resource_record r) override;
  result<store::resource_record> update_resource(
      store::resource_record r, std::optional<std::int64_t> expected_version) override;
  result<store::resource_record> apply_resource(store::resource_record r) override;
  result<store::resource_record> get_resource(const std::string& kind, const std::string& ns,
                                              const std::string& name) override;
  result<std::vector<store::resource_record>> list_resources(const std::string& kind,
                                                             const std::string& ns) override;
  result<void> delete_resource(const std::string& kind, const std::string& ns,
                               const std::string& name) override;

  result<store::workflow_record> create_workflow(store::workflow_record w) override;
  result<store::workflow_record> update_workflow(store::workflow_record w) override;
  result<store::workflow_record> get_workflow(const std::string& ns,
                                              const std::string& name) override;
  result<std::vector<store::workflow_record>> list_workflows(const std::string& ns,
                                                             std::size_t limit) override;
  result<void> delete_workflow(const std::string& ns, const std::string& name) override;
  result<void> put_nodes(const std::vector<store::node_record>& nodes) override;
  result<std::vector<store::node_record>> list_nodes(const std::string& workflow_uid) override;

  result<store::append_outcome> append_event(store::event_record e) override;
  result<std::vector<store::event_record>> read_events(std::int64_t after_sequence,
                                                       std::size_t limit) override;
  result<std::size_t> trim_events(const std::string& before, std::size_t keep_last) override;

  result<void> put_state(const std::string& scope, const std::string& ns, const std::string& name,
                         const nlohmann::json& state) override;
  result<std::optional<nlohmann::json>> get_state(const std::string& scope, const std::string& ns,
                                                  const std::string& name) override;
  result<void> delete_state(const std::string& scope, const std::string& ns,
                            const std::string& name) override;

  // Test controls.
  // Runs inside get_state, outside the lock: lets a test hold a request in flight.
  void on_get_state(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    get_state_hook_ = std::move(hook);
  }
  void fail_appends(bool fail) {
    std::lock_guard lock(mutex_);
    fail_appends_ = fail;
  }
  std::size_t resource_count() {
    std::lock_guard lock(mutex_);
    return resources_.size();
  }
  std::size_t workflow_count() {
    std::lock_guard lock(mutex_);
    return workflows_.size();
  }
  std::vector<store::event_record> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  using key = std::tuple<std::string, std::string, std::string>;
  void stamp(store::resource_record& r);

  std::mutex mutex_;
  std::filesystem::path dir_ = "/nonexistent";
  std::int64_t version_ = 0;
  int uid_counter_ = 0;
  std::map<key, store::resource_record> resources_;
  std::map<std::pair<std::string, std::string>, store::workflow_record> workflows_;
  std::vector<store::event_record> events_;
  std::map<key, nlohmann::json> state_;
  bool fail_appends_ = false;
  std::function<void()> get_state_hook_;
};

}  // namespace kairos::testing
