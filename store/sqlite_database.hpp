#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include "kairos/core/error.hpp"
#include "kairos/core/result.hpp"
#include "kairos/store/store.hpp"

namespace kairos::store::detail {

// A statement borrowed from a connection's cache. Returning it resets it and
// clears its bindings, so it holds no read snapshot open and leaks no value
// into the next use, whether the use succeeded or threw.
class statement_lease {
 public:
  // `slot` is where the statement goes back: the cache's entry for its SQL.
  statement_lease(std::unique_ptr<SQLite::Statement>* slot, std::unique_ptr<SQLite::Statement> st)
      : slot_(slot), st_(std::move(st)) {}
  statement_lease(statement_lease&& other) noexcept = default;
  statement_lease& operator=(statement_lease&&) = delete;
  ~statement_lease();
  SQLite::Statement& operator*() { return *st_; }
  SQLite::Statement* operator->() { return st_.get(); }

 private:
  std::unique_ptr<SQLite::Statement>* slot_;
  std::unique_ptr<SQLite::Statement> st_;
};

// One SQLite connection and the statements prepared on it. Preparing costs
// more than running most of the store's queries (a primary-key lookup runs in
// a few microseconds, its prepare takes several times that), so each
// statement is prepared once per connection and reused. SQLite re-prepares a
// statement itself when the schema changes under it. Used by one thread at a
// time, like the connection.
class connection {
 public:
  explicit connection(std::unique_ptr<SQLite::Database> db) : db_(std::move(db)) {}
  SQLite::Database& db() { return *db_; }
  // The cached statement for `sql`, prepared on first use. A statement
  // already lent out (the same SQL used twice at once) is prepared afresh.
  statement_lease statement(const std::string& sql);
  // Statements prepared on this connection so far (a test seam).
  std::size_t prepared() const { return prepared_; }

  // The writer's next journal sequence inside the open transaction, so that
  // appends are numbered with one query per transaction, not one per append
  // (with the savepoints, that query was a third of a webhook event's
  // statements). Cleared at each BEGIN and whenever an operation is rolled
  // back; an append sets it only once all its rows are in.
  std::optional<std::int64_t> next_event_sequence;

 private:
  std::unique_ptr<SQLite::Database> db_;
  // Entries are never erased, so a lease may keep a pointer to one; an empty
  // entry is a statement lent out.
  std::unordered_map<std::string, std::unique_ptr<SQLite::Statement>> idle_;
  std::size_t prepared_ = 0;
};

// How far a write must reach before its caller hears back. Journal appends,
// resources, new workflows and controller state must survive power loss:
// their transaction fsyncs the WAL. Workflow and node phase changes need only
// survive the process (kill -9): in WAL mode a commit without fsync does,
// and the next synced commit or checkpoint takes it to the disk, in order,
// so a power loss can only roll the engine back to an earlier state.
enum class durability { power_loss, process_crash };

// One write waiting for the writer thread. run() executes inside the
// operation's savepoint and says whether to keep its effects; fail()
// replaces the outcome when the whole transaction is lost; finish() hands the
// outcome to the waiting caller, after the commit.
class pending_write {
 public:
  virtual ~pending_write() = default;
  durability needs = durability::power_loss;
  // run() changes the database with one statement at most. SQLite undoes a
  // failed statement by itself, so such an operation needs no savepoint of
  // its own: a webhook event's append skips two of its four statements.
  bool single_statement = false;
  virtual bool run(connection& c) noexcept = 0;
  virtual void fail(const error& e) noexcept = 0;
  virtual bool succeeded() const noexcept = 0;
  virtual void finish() noexcept = 0;
};

class sqlite_database final : public database {
 public:
  static result<std::unique_ptr<sqlite_database>> open_sqlite(const settings& s);
  ~sqlite_database() override;

  sqlite_database(const sqlite_database&) = delete;
  sqlite_database& operator=(const sqlite_database&) = delete;

  int schema_version() const override { return schema_version_; }
  const std::filesystem::path& data_dir() const override { return settings_.data_dir; }
  write_stats stats() const override;
  std::optional<std::uint64_t> resource_generation() const override {
    return resource_generation_.load(std::memory_order_acquire);
  }

  result<resource_record> create_resource(resource_record r) override;
  result<resource_record> update_resource(resource_record r,
                                          std::optional<std::int64_t> expected_version) override;
  result<resource_record> apply_resource(resource_record r) override;
  result<resource_record> get_resource(const std::string& kind, const std::string& ns,
                                       const std::string& name) override;
  result<std::vector<resource_record>> list_resources(const std::string& kind,
                                                      const std::string& ns) override;
  result<std::vector<resource_record>> list_resource_versions(const std::string& kind,
                                                              const std::string& ns) override;
  result<void> delete_resource(const std::string& kind, const std::string& ns,
                               const std::string& name) override;

  result<workflow_record> create_workflow(workflow_record w) override;
  result<workflow_record> create_workflow_with_nodes(workflow_record w,
                                                     std::vector<node_record> nodes) override;
  result<workflow_record> update_workflow(workflow_record w) override;
  result<workflow_record> get_workflow(const std::string& ns, const std::string& name) override;
  result<std::vector<std::pair<std::string, std::string>>> workflow_phases(
      const std::string& ns, const std::vector<std::string>& names) override;
  result<std::vector<workflow_record>> list_workflows(const std::string& ns,
                                                      std::size_t limit = 0) override;
  result<void> delete_workflow(const std::string& ns, const std::string& name) override;
  result<void> put_nodes(const std::vector<node_record>& nodes) override;
  void put_nodes_and_workflow_async(std::vector<node_record> nodes,
                                    std::optional<workflow_record> workflow,
                                    write_callback done) override;
  result<std::vector<node_record>> list_nodes(const std::string& workflow_uid) override;
  result<std::vector<node_count>> count_nodes(const std::string& workflow_uid) override;

  result<append_outcome> append_event(event_record e) override;
  result<std::vector<append_outcome>> append_events(std::vector<event_record> events) override;
  void append_events_async(std::vector<event_record> events, append_callback done) override;
  result<std::vector<event_record>> read_events(std::int64_t after_sequence,
                                                std::size_t limit) override;
  result<std::vector<event_record>> read_events_shared(std::int64_t after_sequence,
                                                       std::size_t limit) override;
  result<std::vector<event_record>> read_newest_events(std::size_t limit) override;
  result<std::size_t> trim_events(const std::string& before, std::size_t keep_last) override;

  result<void> put_state(const std::string& scope, const std::string& ns, const std::string& name,
                         const nlohmann::json& state) override;
  void put_state_async(const std::string& scope, const std::string& ns, const std::string& name,
                       const nlohmann::json& state, write_callback done) override;
  result<std::optional<nlohmann::json>> get_state(const std::string& scope, const std::string& ns,
                                                  const std::string& name) override;
  result<void> delete_state(const std::string& scope, const std::string& ns,
                            const std::string& name) override;
  result<void> change_states(const std::string& scope,
                             const std::vector<state_change>& changes) override;

  // Test seams. While paused the writer leaves the queue alone, so a test can
  // queue a known set of operations and watch them commit as one batch
  // without depending on timing.
  void pause_writer();
  void resume_writer();
  // Blocks until at least n operations are queued.
  void wait_until_queued(std::size_t n);
  // Blocks until nothing is queued or being written and, unless the writer
  // is paused, no checkpoint is under way.
  void wait_until_idle();
  // Makes the next batch's COMMIT fail as if the disk had.
  void fail_next_commit();
  // Journal events held parsed in memory.
  std::size_t cached_events();
  // Statements prepared so far by the idle reader connections (a test seam:
  // with one reader at a time, a repeated read prepares nothing new).
  std::size_t reader_statements_prepared();

 private:
  class reader_lease;
  friend class reader_lease;

  sqlite_database(settings s, std::unique_ptr<SQLite::Database> writer,
                  std::unique_ptr<SQLite::Database> checkpointer, int schema_version);

  result<void> enqueue(std::unique_ptr<pending_write> op);
  template <class T, class F>
  result<T> submit(F&& fn, durability needs = durability::power_loss);
  // The same without blocking: `done` runs on the writer thread.
  template <class T, class F>
  void submit_async(F&& fn, std::function<void(result<T>)> done,
                    durability needs = durability::power_loss, bool in_place = false,
                    bool single_statement = false);
  template <class T, class F>
  result<T> read(F&& fn);

  void writer_loop();
  void run_batch(std::vector<std::unique_ptr<pending_write>>& batch);
  // Runs `op` as a batch of its own on the calling thread when nothing is
  // queued or being written; otherwise queues it for the writer.
  void run_in_place(std::unique_ptr<pending_write> op);

  reader_lease acquire_reader();
  void release_reader(std::unique_ptr<connection> c);

  settings settings_;
  std::filesystem::path db_path_;
  int schema_version_ = 0;
  // Touched only by whoever holds `writing_`.
  std::unique_ptr<connection> writer_;
  bool writer_syncs_ = true;  // PRAGMA synchronous is FULL

  mutable std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<std::unique_ptr<pending_write>> queue_;
  bool paused_ = false;
  bool stopping_ = false;
  // A batch is being written, by the writer thread or by a caller running
  // its own operation in place (run_in_place); the other waits.
  bool writing_ = false;
  // A commit that leaves settings_.checkpoint_pages not yet copied in the
  // WAL asks for a checkpoint (wanted); the checkpointer copies the WAL into
  // the database on its own connection while the writer goes on committing
  // (copying). Once the WAL holds settings_.wal_restart_pages, the writer
  // then copies the few pages committed meanwhile between two batches,
  // holding `writing_` (due): only a checkpoint that catches up while no
  // commit runs lets the next one start the WAL over. That pass holds up
  // every commit for two fsyncs, so it is not made after every copy.
  enum class checkpoint_stage { idle, wanted, copying, due };
  checkpoint_stage checkpoint_ = checkpoint_stage::idle;
  // Frames of the current WAL already copied into the database, as the last
  // checkpoint left them; a WAL that started over has fewer frames.
  int backfilled_ = 0;
  std::condition_variable checkpoint_cv_;
  write_stats stats_;  // guarded by queue_mutex_
  std::atomic<bool> fail_next_commit_{false};
  // Raised after each resource write returns, committed or not: a reader
  // that read the generation first cannot keep a copy older than it.
  std::atomic<std::uint64_t> resource_generation_{1};

  std::mutex readers_mutex_;
  std::vector<std::unique_ptr<connection>> idle_readers_;

  // The newest journal events, parsed and shared with the readers of
  // read_events_shared. Every stored event with a sequence
  // in (cache_base_, cache_top_] is in cache_, in order, so a read after
  // cache_base_ is served from here; one that has caught up with it reads
  // SQLite. Filled on the writer thread after each commit, in commit order;
  // any gap (an event this process did not append, or one it could not
  // keep) restarts it after the gap.
  struct cached_event {
    event_record record;
    std::size_t bytes = 0;  // of its JSON text
    bool exact = true;      // the text reads back as `*record.shared_body`
  };
  void cache_events(std::vector<cached_event> committed);
  // read_events and read_events_shared: the cache first, then SQLite.
  result<std::vector<event_record>> read_journal(std::int64_t after_sequence, std::size_t limit,
                                                 bool shared);
  void cache_reset();
  std::mutex cache_mutex_;
  std::deque<cached_event> cache_;
  std::int64_t cache_base_ = 0;
  std::int64_t cache_top_ = -1;  // -1: nothing appended yet by this process
  std::size_t cache_bytes_ = 0;
  std::vector<cached_event> cache_evicted_;  // freed by the next append's caller
  std::atomic<bool> cache_wanted_{false};    // set by the first read of the journal

  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);
  struct checkpoint_result {
    int log_frames = 0;  // frames in the WAL
    int backfilled = 0;  // of those, copied into the database
  };
  static checkpoint_result checkpoint(sqlite3* db);
  // Records what a checkpoint left copied; returns the pages it copied.
  // Under queue_mutex_.
  std::uint64_t take_backfilled(const checkpoint_result& done);
  void checkpointer_loop();
  std::unique_ptr<SQLite::Database> checkpointer_db_;

  // Last: they start after everything above exists.
  std::thread writer_thread_;
  std::thread checkpointer_thread_;
};

}  // namespace kairos::store::detail
