#include "kairos/engine/local_sync_manager.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "kairos/core/text.hpp"

namespace kairos::engine {
namespace {

namespace fs = std::filesystem;

TEST(local_sync_manager, a_mutex_has_one_holder_and_serves_waiters_in_order) {
  local_sync_manager m({});
  std::vector<std::string> woken;
  m.set_on_available([&](const std::string& h) { woken.push_back(h); });
  const std::string key = "default/mutex/deploy";
  EXPECT_TRUE(m.try_acquire(key, "default/wf-1"));
  EXPECT_TRUE(m.try_acquire(key, "default/wf-1"));  // re-entrant for the same holder
  EXPECT_FALSE(m.try_acquire(key, "default/wf-2"));
  EXPECT_FALSE(m.try_acquire(key, "default/wf-3"));
  m.release(key, "default/wf-1");
  EXPECT_EQ(woken, (std::vector<std::string>{"default/wf-2", "default/wf-3"}));
  // wf-3 asks first, but wf-2 queued earlier.
  EXPECT_FALSE(m.try_acquire(key, "default/wf-3"));
  EXPECT_TRUE(m.try_acquire(key, "default/wf-2"));
  EXPECT_EQ(m.holders_of(key), 1u);
}

TEST(local_sync_manager, a_semaphore_limit_is_read_from_the_configmaps_directory) {
  const auto dir = fs::temp_directory_path() / ("kairos-sync-test-" + random_suffix(10));
  fs::create_directories(dir / "configmaps" / "limits");
  std::ofstream(dir / "configmaps" / "limits" / "builds") << "2\n";
  local_sync_manager m({dir, {}, 1});
  const std::string key = "default/semaphore/limits/builds";
  EXPECT_EQ(m.limit_of(key), 2);
  EXPECT_TRUE(m.try_acquire(key, "default/a"));
  EXPECT_TRUE(m.try_acquire(key, "default/b"));
  EXPECT_FALSE(m.try_acquire(key, "default/c"));
  m.release(key, "default/a");
  EXPECT_TRUE(m.try_acquire(key, "default/c"));
  fs::remove_all(dir);
}

TEST(local_sync_manager, a_settings_limit_overrides_the_file_and_bad_names_fall_back) {
  local_sync_manager m({"/nonexistent", {{"ns/semaphore/cm/k", 3}}, 1});
  EXPECT_EQ(m.limit_of("ns/semaphore/cm/k"), 3);
  EXPECT_EQ(m.limit_of("ns/semaphore/../etc/passwd"), 1);
  EXPECT_EQ(m.limit_of("ns/mutex/anything"), 1);
}

TEST(local_sync_manager, release_all_frees_every_lock_of_a_workflow) {
  local_sync_manager m({});
  EXPECT_TRUE(m.try_acquire("ns/mutex/a", "ns/wf"));
  EXPECT_TRUE(m.try_acquire("ns/mutex/b", "ns/wf/node-1"));
  EXPECT_TRUE(m.try_acquire("ns/mutex/c", "ns/wf-other"));
  m.release_all("ns/wf");
  EXPECT_EQ(m.holders_of("ns/mutex/a"), 0u);
  EXPECT_EQ(m.holders_of("ns/mutex/b"), 0u);
  EXPECT_EQ(m.holders_of("ns/mutex/c"), 1u);
}

TEST(local_sync_manager, restore_takes_a_held_lock_back_ahead_of_the_queue) {
  local_sync_manager m({});
  const std::string key = "ns/mutex/deploy";
  // After a restart another workflow took the lock first, but the restored
  // holder ran under it before: it holds it again, and later askers wait.
  EXPECT_TRUE(m.try_acquire(key, "ns/other"));
  EXPECT_FALSE(m.try_acquire(key, "ns/old/node-1"));
  m.restore(key, "ns/old/node-1");
  EXPECT_EQ(m.holders_of(key), 2u);
  m.release(key, "ns/other");
  EXPECT_FALSE(m.try_acquire(key, "ns/new"));
  m.release(key, "ns/old/node-1");
  EXPECT_TRUE(m.try_acquire(key, "ns/new"));
}

}  // namespace
}  // namespace kairos::engine
