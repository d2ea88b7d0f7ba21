#include "wal_vfs.hpp"

#include <filesystem>
#include <string>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <SQLiteCpp/Transaction.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "kairos/core/text.hpp"

namespace kairos::store::detail {
namespace {

namespace fs = std::filesystem;

class wal_vfs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kairos-wal-vfs-" + random_suffix(10));
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
    ASSERT_NE(wal_vfs_name(), nullptr);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  SQLite::Database open_writer(const char* synchronous) {
    SQLite::Database db(path_, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE, 1000, wal_vfs_name());
    EXPECT_EQ(db.execAndGet("PRAGMA journal_mode = WAL").getString(), "wal");
    db.exec(std::string("PRAGMA synchronous = ") + synchronous);
    db.exec("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    return db;
  }

  fs::path dir_;
  std::string path_;
};

// Without a sync at commit (synchronous=NORMAL) nothing but the commit frame
// says the transaction is done: a reader on its own connection must see
// every row the moment the commit returns.
TEST_F(wal_vfs, a_transactions_frames_reach_the_log_in_one_write_and_are_read_at_once) {
  for (const char* synchronous : {"NORMAL", "FULL"}) {
    auto writer = open_writer(synchronous);
    writer.exec("DELETE FROM t");
    SQLite::Database reader(path_, SQLite::OPEN_READONLY);
    const auto before = wal_vfs_totals();
    {
      SQLite::Transaction tx(writer);
      SQLite::Statement insert(writer, "INSERT INTO t (k, v) VALUES (?, ?)");
      for (int i = 0; i < 200; ++i) {
        insert.bind(1, i);
        insert.bind(2, std::string(100, static_cast<char>('a' + i % 26)));
        insert.exec();
        insert.reset();
      }
      tx.commit();
    }
    const auto after = wal_vfs_totals();
    EXPECT_GE(after.frames - before.frames, 5u) << synchronous;  // 20 KB of rows
    EXPECT_EQ(after.writes - before.writes, 1u) << synchronous;
    EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM t").getInt(), 200) << synchronous;
    EXPECT_EQ(reader.execAndGet("SELECT sum(length(v)) FROM t").getInt(), 20000) << synchronous;
  }
}

// A transaction larger than the page cache writes frames before its commit
// and then changes pages it already wrote (SQLite rewrites those frames in
// place); one that is rolled back leaves frames nobody may read. Both must
// leave a database that reads back as committed and checks clean.
TEST_F(wal_vfs, spilled_rewritten_and_rolled_back_frames_leave_the_committed_data_whole) {
  {
    auto writer = open_writer("FULL");
    writer.exec("PRAGMA cache_size = 8");
    // Everything stays in the log, to be read back from it below.
    writer.exec("PRAGMA wal_autocheckpoint = 0");
    sqlite3_db_config(writer.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    SQLite::Database reader(path_, SQLite::OPEN_READONLY);
    {
      SQLite::Transaction tx(writer);
      SQLite::Statement insert(writer, "INSERT INTO t (k, v) VALUES (?, ?)");
      for (int i = 0; i < 2000; ++i) {
        insert.bind(1, i);
        insert.bind(2, std::string(300, 'x'));
        insert.exec();
        insert.reset();
      }
      writer.exec("UPDATE t SET v = 'y' || substr(v, 2) WHERE k % 7 = 0");
      tx.commit();
    }
    EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM t").getInt(), 2000);
    EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM t WHERE v LIKE 'y%'").getInt(), 286);
    {
      SQLite::Transaction tx(writer);
      writer.exec("INSERT INTO t (k, v) SELECT k + 10000, v FROM t");
      writer.exec("DELETE FROM t WHERE k < 500");
      // rolled back when tx goes out of scope
    }
    EXPECT_EQ(reader.execAndGet("SELECT count(*) FROM t").getInt(), 2000);
    writer.exec("INSERT INTO t (k, v) VALUES (-1, 'after the rollback')");
    EXPECT_EQ(reader.execAndGet("SELECT v FROM t WHERE k = -1").getString(), "after the rollback");
  }
  // Reopened without the VFS, before any checkpoint: the log is read as written.
  ASSERT_GT(fs::file_size(path_ + "-wal"), 600000u);
  SQLite::Database plain(path_, SQLite::OPEN_READWRITE);
  EXPECT_EQ(plain.execAndGet("PRAGMA integrity_check").getString(), "ok");
  EXPECT_EQ(plain.execAndGet("SELECT count(*) FROM t").getInt(), 2001);
  EXPECT_EQ(plain.execAndGet("SELECT sum(length(v)) FROM t WHERE k >= 0").getInt(), 600000);
}

}  // namespace
}  // namespace kairos::store::detail
