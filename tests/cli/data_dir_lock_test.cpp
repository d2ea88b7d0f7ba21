#include "data_dir_lock.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>

extern char** environ;

namespace kairos::cli {
namespace {

namespace fs = std::filesystem;

class data_dir_lock_test : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kairos-lock-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    base_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }
  fs::path base_;
};

TEST_F(data_dir_lock_test, a_second_claim_on_the_directory_is_refused_naming_the_holder) {
  auto first = data_dir_lock::acquire(base_);
  ASSERT_TRUE(first.ok()) << first.error().message;
  auto second = data_dir_lock::acquire(base_);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, errc::failed_precondition);
  const auto& m = second.error().message;
  EXPECT_NE(m.find(base_.string()), std::string::npos) << m;
  EXPECT_NE(m.find("in use by another kairos process (pid " + std::to_string(::getpid()) + ")"),
            std::string::npos)
      << m;
}

TEST_F(data_dir_lock_test, the_directory_is_free_again_once_its_holder_lets_go) {
  {
    auto first = data_dir_lock::acquire(base_);
    ASSERT_TRUE(first.ok());
  }
  auto again = data_dir_lock::acquire(base_);
  EXPECT_TRUE(again.ok()) << again.error().message;
}

TEST_F(data_dir_lock_test, a_moved_claim_is_still_held) {
  std::optional<data_dir_lock> held;
  {
    auto first = data_dir_lock::acquire(base_);
    ASSERT_TRUE(first.ok());
    held.emplace(std::move(first).value());
  }
  EXPECT_FALSE(data_dir_lock::acquire(base_).ok());
  held.reset();
  EXPECT_TRUE(data_dir_lock::acquire(base_).ok());
}

// Nodes outlive a server killed with SIGKILL; if they kept the lock, the
// restarted server could not resume them.
TEST_F(data_dir_lock_test, a_child_process_started_while_it_is_held_does_not_keep_it) {
  std::optional<data_dir_lock> held;
  {
    auto first = data_dir_lock::acquire(base_);
    ASSERT_TRUE(first.ok());
    held.emplace(std::move(first).value());
  }
  pid_t child = -1;
  char sleep_path[] = "/bin/sleep";
  char seconds[] = "30";
  char* argv[] = {sleep_path, seconds, nullptr};
  ASSERT_EQ(::posix_spawn(&child, sleep_path, nullptr, nullptr, argv, environ), 0);
  held.reset();
  auto again = data_dir_lock::acquire(base_);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(again.ok()) << again.error().message;
}

TEST_F(data_dir_lock_test, a_missing_directory_is_created_with_the_lock_file_in_it) {
  const auto dir = base_ / "a" / "b";
  auto lock = data_dir_lock::acquire(dir);
  ASSERT_TRUE(lock.ok()) << lock.error().message;
  EXPECT_EQ(lock->path(), dir / "kairos.lock");
  EXPECT_TRUE(fs::is_regular_file(dir / "kairos.lock"));
}

TEST_F(data_dir_lock_test, a_directory_that_cannot_be_created_is_an_error_naming_it) {
  const auto file = base_ / "plain";
  { std::ofstream(file) << "x"; }
  auto lock = data_dir_lock::acquire(file / "data");
  ASSERT_FALSE(lock.ok());
  EXPECT_EQ(lock.error().code, errc::internal);
  EXPECT_NE(lock.error().message.find((file / "data").string()), std::string::npos)
      << lock.error().message;
}

}  // namespace
}  // namespace kairos::cli
