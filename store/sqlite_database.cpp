#include "sqlite_database.hpp"

#include <algorithm>
#include <chrono>
#include <future>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

#include <SQLiteCpp/Exception.h>
#include <SQLiteCpp/Statement.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "migrations.hpp"
#include "wal_vfs.hpp"

namespace kairos::store {

result<std::unique_ptr<database>> database::open(const settings& s) {
  auto db = detail::sqlite_database::open_sqlite(s);
  if (!db) return std::move(db).error();
  return std::unique_ptr<database>(std::move(db).value());
}

namespace detail {
namespace {

constexpr int busy_timeout_ms = 5000;
// Readers kept open between calls; more may exist while many threads read.
constexpr std::size_t max_idle_readers = 8;
// Address space (not memory) a reader may map of the database file.
constexpr std::int64_t reader_mmap_bytes = 256LL << 20;
// Node bodies past this much text are parsed by two threads (list_nodes).
constexpr std::size_t parallel_parse_bytes = 256 << 10;

error sqlite_error(const SQLite::Exception& e) {
  const int primary = e.getErrorCode() & 0xff;
  std::string message = "store: ";
  message += e.what();
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return make_error(errc::unavailable, std::move(message));
    case SQLITE_CONSTRAINT:
      // Expected clashes are checked before writing so they get precise
      // messages; reaching this means a constraint we did not anticipate.
      return make_error(errc::conflict, std::move(message));
    default:
      return make_error(errc::internal, std::move(message));
  }
}

error exception_error(const std::exception& e) {
  return make_error(errc::internal, std::string("store: ") + e.what());
}

std::string describe(std::string_view kind, std::string_view ns, std::string_view name) {
  std::string out(kind);
  out += ' ';
  if (!ns.empty()) {
    out += ns;
    out += '/';
  }
  out += name;
  return out;
}

// Never throws: a body read from YAML may carry invalid UTF-8, which would
// otherwise make dump() throw; the replacement character keeps the rest.
std::string to_text(const nlohmann::json& j) {
  return dump_json_replacing(j);
}

nlohmann::json from_text(const std::string& text) {
  return parse_printed_json(text);
}

std::string now_rfc3339() {
  return format_rfc3339(std::chrono::system_clock::now());
}

std::string optional_text(const SQLite::Column& c) {
  return c.isNull() ? std::string() : c.getString();
}

result<void> check_body(const nlohmann::json& body, const std::string& what) {
  if (body.is_null() || body.is_object()) return {};
  return make_error(errc::invalid_argument, "the body of " + what + " must be a JSON object");
}

// Writes the store-assigned identity into the body so that the stored JSON
// is exactly what readers get back.
void stamp_metadata(nlohmann::json& body, const std::string& ns, const std::string& name,
                    const std::string& uid, std::int64_t resource_version,
                    const std::string& created_at) {
  if (!body.is_object()) body = nlohmann::json::object();
  auto& md = body["metadata"];
  if (!md.is_object()) md = nlohmann::json::object();
  md["name"] = name;
  if (ns.empty()) {
    md.erase("namespace");
  } else {
    md["namespace"] = ns;
  }
  md["uid"] = uid;
  md["resourceVersion"] = std::to_string(resource_version);
  md["creationTimestamp"] = created_at;
}

// The one global counter behind every resourceVersion. It lives in the
// database, inside the operation's savepoint, so a rolled-back operation
// gives its number back and a reopened store continues where it stopped.
std::int64_t next_resource_version(connection& c) {
  auto st_lease = c.statement(
      "UPDATE counters SET value = value + 1 WHERE name = 'resource_version' RETURNING value");
  auto& st = *st_lease;
  if (!st.executeStep()) throw std::runtime_error("resource_version counter is missing");
  return st.getColumn(0).getInt64();
}

// ---- resources -------------------------------------------------------------

constexpr const char* resource_columns =
    "kind, namespace, name, uid, resource_version, created_at, body";

resource_record read_resource(SQLite::Statement& st, bool with_body = true) {
  resource_record r;
  r.kind = st.getColumn(0).getString();
  r.namespace_ = st.getColumn(1).getString();
  r.name = st.getColumn(2).getString();
  r.uid = st.getColumn(3).getString();
  r.resource_version = st.getColumn(4).getInt64();
  r.created_at = st.getColumn(5).getString();
  if (with_body) r.body = from_text(st.getColumn(6).getString());
  return r;
}

std::optional<resource_record> find_resource(connection& c, const std::string& kind,
                                             const std::string& ns, const std::string& name) {
  auto st_lease = c.statement(std::string("SELECT ") + resource_columns +
                              " FROM resources WHERE kind = ? AND namespace = ? AND name = ?");
  auto& st = *st_lease;
  st.bind(1, kind);
  st.bind(2, ns);
  st.bind(3, name);
  if (!st.executeStep()) return std::nullopt;
  return read_resource(st);
}

resource_record insert_resource(connection& c, resource_record r) {
  r.resource_version = next_resource_version(c);
  r.created_at = now_rfc3339();
  if (r.uid.empty()) r.uid = random_uuid();
  stamp_metadata(r.body, r.namespace_, r.name, r.uid, r.resource_version, r.created_at);
  auto st_lease = c.statement(std::string("INSERT INTO resources (") + resource_columns +
                              ") VALUES (?, ?, ?, ?, ?, ?, ?)");
  auto& st = *st_lease;
  st.bind(1, r.kind);
  st.bind(2, r.namespace_);
  st.bind(3, r.name);
  st.bind(4, r.uid);
  st.bind(5, r.resource_version);
  st.bind(6, r.created_at);
  st.bind(7, to_text(r.body));
  st.exec();
  return r;
}

resource_record replace_resource(connection& c, resource_record r,
                                 const resource_record& existing) {
  r.uid = existing.uid;
  r.created_at = existing.created_at;
  r.resource_version = next_resource_version(c);
  stamp_metadata(r.body, r.namespace_, r.name, r.uid, r.resource_version, r.created_at);
  auto st_lease = c.statement(
      "UPDATE resources SET resource_version = ?, body = ? "
      "WHERE kind = ? AND namespace = ? AND name = ?");
  auto& st = *st_lease;
  st.bind(1, r.resource_version);
  st.bind(2, to_text(r.body));
  st.bind(3, r.kind);
  st.bind(4, r.namespace_);
  st.bind(5, r.name);
  st.exec();
  return r;
}

result<void> check_resource(const resource_record& r) {
  if (r.kind.empty()) return make_error(errc::invalid_argument, "a resource needs a kind");
  if (r.name.empty()) {
    return make_error(errc::invalid_argument, "a " + r.kind + " needs a name");
  }
  return check_body(r.body, describe(r.kind, r.namespace_, r.name));
}

// ---- workflows -------------------------------------------------------------

constexpr const char* workflow_columns =
    "namespace, name, uid, phase, resource_version, created_at, finished_at, body";

workflow_record read_workflow(SQLite::Statement& st) {
  workflow_record w;
  w.namespace_ = st.getColumn(0).getString();
  w.name = st.getColumn(1).getString();
  w.uid = st.getColumn(2).getString();
  w.phase = st.getColumn(3).getString();
  w.resource_version = st.getColumn(4).getInt64();
  w.created_at = st.getColumn(5).getString();
  w.finished_at = optional_text(st.getColumn(6));
  w.body = from_text(st.getColumn(7).getString());
  return w;
}

std::optional<workflow_record> find_workflow(connection& c, const std::string& ns,
                                             const std::string& name) {
  auto st_lease = c.statement(std::string("SELECT ") + workflow_columns +
                              " FROM workflows WHERE namespace = ? AND name = ?");
  auto& st = *st_lease;
  st.bind(1, ns);
  st.bind(2, name);
  if (!st.executeStep()) return std::nullopt;
  return read_workflow(st);
}

// A stored workflow's identity without its body: an update keeps these, and
// parsing the body (the whole manifest, 150 KB for a 2,000-task DAG) only to
// read them cost more than the rest of the update.
struct workflow_identity {
  std::string uid;
  std::string created_at;
};
std::optional<workflow_identity> find_workflow_identity(connection& c, const std::string& ns,
                                                        const std::string& name) {
  auto st_lease =
      c.statement("SELECT uid, created_at FROM workflows WHERE namespace = ? AND name = ?");
  auto& st = *st_lease;
  st.bind(1, ns);
  st.bind(2, name);
  if (!st.executeStep()) return std::nullopt;
  return workflow_identity{st.getColumn(0).getString(), st.getColumn(1).getString()};
}

// The listing columns follow the body's status when the caller left them
// empty, so a controller that only edits the body keeps them right.
void fill_workflow_columns(workflow_record& w) {
  if (!w.body.is_object()) return;
  auto status = w.body.find("status");
  if (status == w.body.end() || !status->is_object()) return;
  if (w.phase.empty()) {
    if (auto p = status->find("phase"); p != status->end() && p->is_string()) {
      w.phase = p->get<std::string>();
    }
  }
  if (w.finished_at.empty()) {
    if (auto f = status->find("finishedAt"); f != status->end() && f->is_string()) {
      w.finished_at = f->get<std::string>();
    }
  }
}

void bind_optional_text(SQLite::Statement& st, int index, const std::string& text) {
  if (text.empty()) {
    st.bind(index);
  } else {
    st.bind(index, text);
  }
}

result<void> check_workflow(const workflow_record& w) {
  if (w.name.empty()) return make_error(errc::invalid_argument, "a Workflow needs a name");
  return check_body(w.body, describe("Workflow", w.namespace_, w.name));
}

// ---- events ------------------------------------------------------------------

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A journal row's body is the envelope's JSON text (TEXT), or, when the
// envelope opens with exactly the head print_event_head prints for its
// row's columns and `application/json`, as every source's envelope does,
// the rest of it without the closing brace (a BLOB, from schema 3 on). The
// context repeated the columns and was a third of a Kafka event's bytes,
// which the writer wrote to the WAL and copied again into the database. The
// head, the BLOB and a brace are the text again, byte for byte.
void print_implied_head(const event_record& e, std::string& out) {
  print_event_head(e, "application/json", out);
}

// How many leading bytes of `text` the columns of `e` imply; 0 if they do
// not. `head` is scratch space, kept between calls for its capacity.
std::size_t implied_head_size(const event_record& e, std::string_view text, std::string& head) {
  head.clear();
  try {
    print_implied_head(e, head);
  } catch (const nlohmann::json::exception&) {
    return 0;  // columns that are not UTF-8: the text is stored whole
  }
  // The head is followed by the data and the envelope's closing brace.
  if (text.size() < head.size() + 2 || text.back() != '}' || !text.starts_with(head)) return 0;
  return head.size();
}

// The envelope's text, whichever way the row holds it.
std::string event_text(const event_record& e, const SQLite::Column& body) {
  if (!body.isBlob()) return body.getString();
  const auto* rest = static_cast<const char*>(body.getBlob());  // before getBytes, as SQLite asks
  const auto size = static_cast<std::size_t>(body.getBytes());
  std::string text;
  // One allocation: the head is the columns plus 130 bytes of names and
  // quotes (more only where a column needs escapes).
  text.reserve(e.id.size() + e.source.size() + e.subject.size() + e.time.size() + e.type.size() +
               160 + size);
  print_implied_head(e, text);
  text.append(rest, size);
  text += '}';
  return text;
}

event_record read_event(SQLite::Statement& st, bool with_body = true) {
  event_record e;
  e.sequence = st.getColumn(0).getInt64();
  e.id = st.getColumn(1).getString();
  e.namespace_ = st.getColumn(2).getString();
  e.source = st.getColumn(3).getString();
  e.subject = st.getColumn(4).getString();
  e.type = st.getColumn(5).getString();
  e.time = st.getColumn(6).getString();
  if (with_body) e.body = from_text(event_text(e, st.getColumn(7)));
  return e;
}

// ---- pending writes ----------------------------------------------------------

template <class T>
class write_op : public pending_write {
 public:
  using function = std::function<result<T>(connection&)>;
  explicit write_op(function fn) : fn_(std::move(fn)) {}

  bool run(connection& c) noexcept override {
    try {
      outcome_.emplace(fn_(c));
    } catch (const SQLite::Exception& e) {
      outcome_.emplace(sqlite_error(e));
    } catch (const std::exception& e) {
      outcome_.emplace(exception_error(e));
    }
    return outcome_->ok();
  }
  void fail(const error& e) noexcept override { outcome_.emplace(e); }
  bool succeeded() const noexcept override { return outcome_ && outcome_->ok(); }
  void finish() noexcept override {
    if (!outcome_) outcome_.emplace(make_error(errc::internal, "store: write was never run"));
    complete(std::move(*outcome_));
  }

 protected:
  virtual void complete(result<T> outcome) noexcept = 0;

 private:
  function fn_;
  std::optional<result<T>> outcome_;
};

// A caller blocked on the outcome.
template <class T>
class typed_write final : public write_op<T> {
 public:
  using write_op<T>::write_op;
  std::future<result<T>> future() { return promise_.get_future(); }

 private:
  void complete(result<T> outcome) noexcept override { promise_.set_value(std::move(outcome)); }
  std::promise<result<T>> promise_;
};

// A caller that asked to be called back, on the writer thread.
template <class T>
class callback_write final : public write_op<T> {
 public:
  callback_write(typename write_op<T>::function fn, std::function<void(result<T>)> done)
      : write_op<T>(std::move(fn)), done_(std::move(done)) {}
  ~callback_write() override {
    // Never queued (the store was closing), or dropped unrun: the caller
    // still hears about it.
    if (done_) complete(make_error(errc::unavailable, "store: the database is closing"));
  }

 private:
  void complete(result<T> outcome) noexcept override {
    auto done = std::move(done_);
    done_ = nullptr;
    try {
      done(std::move(outcome));
    } catch (const std::exception& e) {
      spdlog::error("store: a write's completion failed: {}", e.what());
    }
  }
  std::function<void(result<T>)> done_;
};

}  // namespace

// ---- connections -------------------------------------------------------------

statement_lease::~statement_lease() {
  if (!st_) return;
  // A failed step leaves its error in reset()'s return value; the statement
  // itself stays usable, so it goes back to the cache either way.
  st_->tryReset();
  try {
    st_->clearBindings();
  } catch (const SQLite::Exception&) {
    return;  // not reusable: dropped, and prepared again next time
  }
  if (!*slot_) *slot_ = std::move(st_);
}

statement_lease connection::statement(const std::string& sql) {
  auto& slot = idle_[sql];
  if (slot) return statement_lease(&slot, std::move(slot));
  auto st = std::make_unique<SQLite::Statement>(*db_, sql);
  ++prepared_;
  return statement_lease(&slot, std::move(st));
}

class sqlite_database::reader_lease {
 public:
  reader_lease(sqlite_database* owner, std::unique_ptr<connection> c)
      : owner_(owner), c_(std::move(c)) {}
  reader_lease(reader_lease&& other) noexcept = default;
  reader_lease& operator=(reader_lease&&) = delete;
  ~reader_lease() {
    if (c_) owner_->release_reader(std::move(c_));
  }
  connection& get() { return *c_; }

 private:
  sqlite_database* owner_;
  std::unique_ptr<connection> c_;
};

sqlite_database::reader_lease sqlite_database::acquire_reader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto c = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return reader_lease(this, std::move(c));
    }
  }
  // Read-only connections cannot write by accident, and WAL lets them read a
  // committed snapshot while the writer works.
  auto db = std::make_unique<SQLite::Database>(
      db_path_.string(), SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX, busy_timeout_ms);
  // Every commit elsewhere empties a WAL reader's page cache, so a point
  // read fetches its pages again; mapped, that costs no copy.
  db->exec("PRAGMA mmap_size = " + std::to_string(reader_mmap_bytes));
  return reader_lease(this, std::make_unique<connection>(std::move(db)));
}

void sqlite_database::release_reader(std::unique_ptr<connection> c) {
  std::lock_guard lock(readers_mutex_);
  if (idle_readers_.size() < max_idle_readers) idle_readers_.push_back(std::move(c));
}

std::size_t sqlite_database::reader_statements_prepared() {
  std::lock_guard lock(readers_mutex_);
  std::size_t n = 0;
  for (const auto& c : idle_readers_) n += c->prepared();
  return n;
}

template <class T, class F>
result<T> sqlite_database::read(F&& fn) {
  try {
    auto lease = acquire_reader();
    return fn(lease.get());
  } catch (const SQLite::Exception& e) {
    return sqlite_error(e);
  } catch (const std::exception& e) {
    return exception_error(e);
  }
}

template <class T, class F>
result<T> sqlite_database::submit(F&& fn, durability needs) {
  std::future<result<T>> future;
  try {
    auto op = std::make_unique<typed_write<T>>(std::forward<F>(fn));
    op->needs = needs;
    future = op->future();
    if (auto queued = enqueue(std::move(op)); !queued) return std::move(queued).error();
  } catch (const std::exception& e) {
    return exception_error(e);
  }
  return future.get();
}

template <class T, class F>
void sqlite_database::submit_async(F&& fn, std::function<void(result<T>)> done, durability needs,
                                   bool in_place, bool single_statement) {
  std::unique_ptr<callback_write<T>> op;
  try {
    op = std::make_unique<callback_write<T>>(std::forward<F>(fn), std::move(done));
  } catch (const std::exception& e) {
    if (done) done(exception_error(e));
    return;
  }
  op->needs = needs;
  op->single_statement = single_statement;
  if (in_place) {
    run_in_place(std::move(op));
    return;
  }
  // A refused operation is destroyed unfinished, which reports the refusal.
  static_cast<void>(enqueue(std::move(op)));
}

// ---- open and close ----------------------------------------------------------

namespace {

result<int> migrate(SQLite::Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  int current = db.execAndGet("SELECT coalesce(max(version), 0) FROM schema_migrations").getInt();
  const int latest = latest_schema_version();
  if (current > latest) {
    return make_error(errc::failed_precondition,
                      "store: the database has schema version " + std::to_string(current) +
                          " but this kairos knows only up to " + std::to_string(latest) +
                          "; it was written by a newer kairos");
  }
  for (const auto& m : migrations()) {
    if (m.version <= current) continue;
    // One transaction per migration: a failure leaves the schema at the
    // previous version, never half way.
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(std::string(m.sql));
      SQLite::Statement st(db, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
      st.bind(1, m.version);
      st.bind(2, now_rfc3339());
      st.exec();
      db.exec("COMMIT");
    } catch (...) {
      db.tryExec("ROLLBACK");
      throw;
    }
    current = m.version;
  }
  return current;
}

}  // namespace

result<std::unique_ptr<sqlite_database>> sqlite_database::open_sqlite(const settings& s) {
  std::error_code ec;
  std::filesystem::create_directories(s.data_dir, ec);
  if (ec) {
    return make_error(errc::unavailable, "store: cannot create data directory " +
                                             s.data_dir.string() + ": " + ec.message());
  }
  const auto path = s.data_dir / "kairos.db";
  try {
    // The writer alone writes the log, so it alone needs frames coalesced.
    const char* vfs = wal_vfs_name();
    auto db = std::make_unique<SQLite::Database>(
        path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
        busy_timeout_ms, vfs != nullptr ? vfs : "");
    const std::string mode = db->execAndGet("PRAGMA journal_mode = WAL").getString();
    if (mode != "wal") {
      return make_error(errc::unavailable, "store: " + path.string() +
                                               " cannot use WAL journaling (got " + mode + ")");
    }
    // WAL with synchronous=NORMAL survives a process crash but may lose the
    // last commits on power loss. Callers are told "committed" (a webhook
    // gets its 200, a Kafka offset is committed) only after commit, so a
    // batch with such a write syncs the WAL at commit; group commit pays
    // that fsync once per batch rather than once per write. Batches of
    // engine phase changes alone commit without it (see durability).
    db->exec("PRAGMA synchronous = FULL");
    db->exec("PRAGMA foreign_keys = ON");
    auto version = migrate(*db);
    if (!version) return std::move(version).error();
    // Checkpoints write the database file, so this one cannot be read-only.
    auto checkpointer = std::make_unique<SQLite::Database>(
        path.string(), SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX, busy_timeout_ms);
    // A connection opens the WAL only when it first reads; until then its
    // checkpoints do nothing (SQLite reports a WAL of -1 pages), and the
    // writer's pass was left to copy the whole WAL on its own thread.
    checkpointer->execAndGet("SELECT count(*) FROM sqlite_schema");
    return std::unique_ptr<sqlite_database>(
        new sqlite_database(s, std::move(db), std::move(checkpointer), version.value()));
  } catch (const SQLite::Exception& e) {
    auto err = sqlite_error(e);
    err.message += " (" + path.string() + ")";
    return err;
  } catch (const std::exception& e) {
    return exception_error(e);
  }
}

sqlite_database::sqlite_database(settings s, std::unique_ptr<SQLite::Database> writer,
                                 std::unique_ptr<SQLite::Database> checkpointer, int schema_version)
    : settings_(std::move(s)),
      db_path_(settings_.data_dir / "kairos.db"),
      schema_version_(schema_version),
      writer_(std::make_unique<connection>(std::move(writer))),
      checkpointer_db_(std::move(checkpointer)) {
  if (settings_.max_batch == 0) settings_.max_batch = 1;
  settings_.checkpoint_pages = std::max(settings_.checkpoint_pages, 1);
  // Replaces SQLite's automatic checkpoint, which is itself a WAL hook and
  // runs inside the commit that crossed the threshold: on the writer it took
  // about a fifth of the writer's busy time under a steady stream of
  // journal appends, and a runtime thread committing in place must not
  // stall on a checkpoint's fsyncs either.
  sqlite3_wal_hook(writer_->db().getHandle(), &sqlite_database::on_wal_commit, this);
  writer_thread_ = std::thread([this] { writer_loop(); });
  checkpointer_thread_ = std::thread([this] { checkpointer_loop(); });
}

int sqlite_database::on_wal_commit(void* self, sqlite3*, const char*, int pages) {
  auto* store = static_cast<sqlite_database*>(self);
  if (pages < store->settings_.checkpoint_pages) return SQLITE_OK;
  {
    std::lock_guard lock(store->queue_mutex_);
    if (pages < store->backfilled_) store->backfilled_ = 0;  // the WAL started over
    if (pages - store->backfilled_ < store->settings_.checkpoint_pages) return SQLITE_OK;
    if (store->checkpoint_ != checkpoint_stage::idle) return SQLITE_OK;
    store->checkpoint_ = checkpoint_stage::wanted;
  }
  store->checkpoint_cv_.notify_one();
  return SQLITE_OK;
}

sqlite_database::checkpoint_result sqlite_database::checkpoint(sqlite3* db) {
  // PASSIVE, as the automatic checkpoint: copies what no reader still needs
  // and never waits for the writer.
  checkpoint_result r;
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, &r.log_frames,
                                           &r.backfilled);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    spdlog::warn("store: checkpoint failed: {}", sqlite3_errstr(rc));
  r.log_frames = std::max(r.log_frames, 0);
  r.backfilled = std::max(r.backfilled, 0);
  return r;
}

std::uint64_t sqlite_database::take_backfilled(const checkpoint_result& done) {
  // Fewer than before: the WAL started over since the last checkpoint.
  const int before = std::min(backfilled_, done.backfilled);
  backfilled_ = done.backfilled;
  return static_cast<std::uint64_t>(done.backfilled - before);
}

void sqlite_database::checkpointer_loop() {
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      checkpoint_cv_.wait(lock,
                          [&] { return stopping_ || checkpoint_ == checkpoint_stage::wanted; });
      if (stopping_) return;
      checkpoint_ = checkpoint_stage::copying;
    }
    const auto done = checkpoint(checkpointer_db_->getHandle());
    std::lock_guard lock(queue_mutex_);
    // The writer's pass comes only once the WAL is long enough to be worth
    // starting over; until then the next copies take up where this one
    // stopped.
    const bool restart = done.log_frames >= settings_.wal_restart_pages;
    checkpoint_ = restart ? checkpoint_stage::due : checkpoint_stage::idle;
    ++stats_.checkpoint_copies;
    stats_.checkpointer_pages += take_backfilled(done);
    // Under the lock, so whoever sees the stage due has seen the wake-up
    // happen too: a commit in place that finds it due when it lets go
    // knows the writer saw the connection busy and must be woken again.
    queue_cv_.notify_all();
  }
}

sqlite_database::~sqlite_database() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
    paused_ = false;  // a paused writer would never drain
  }
  queue_cv_.notify_all();
  checkpoint_cv_.notify_all();
  checkpointer_thread_.join();
  writer_thread_.join();
}

// ---- the writer --------------------------------------------------------------

result<void> sqlite_database::enqueue(std::unique_ptr<pending_write> op) {
  std::lock_guard lock(queue_mutex_);
  if (stopping_) return make_error(errc::unavailable, "store: the database is closing");
  queue_.push_back(std::move(op));
  // Notified under the lock: once the destructor can see this operation, the
  // caller no longer touches the object (it only waits on its future), so a
  // close that drains queued callers does not race with them.
  queue_cv_.notify_all();
  return {};
}

void sqlite_database::writer_loop() {
  std::vector<std::unique_ptr<pending_write>> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_cv_.wait(lock, [&] {
        return (stopping_ && !writing_) ||
               (!paused_ && !writing_ && (!queue_.empty() || checkpoint_ == checkpoint_stage::due));
      });
      // Before the next batch even when more are queued: under a steady
      // stream the queue is never empty, and the WAL would never start over.
      if (checkpoint_ == checkpoint_stage::due && !stopping_ && !paused_ && !writing_) {
        checkpoint_ = checkpoint_stage::idle;
        writing_ = true;
        lock.unlock();
        const auto done = checkpoint(writer_->db().getHandle());
        lock.lock();
        writing_ = false;
        ++stats_.checkpoint_passes;
        stats_.writer_pass_pages += take_backfilled(done);
        queue_cv_.notify_all();
        continue;
      }
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      if (settings_.commit_window.count() > 0 && !stopping_) {
        // Waiting a little for company trades latency for fewer fsyncs.
        const auto deadline = std::chrono::steady_clock::now() + settings_.commit_window;
        queue_cv_.wait_until(lock, deadline, [&] {
          return stopping_ || paused_ || queue_.size() >= settings_.max_batch;
        });
        if (paused_) continue;
      }
      const std::size_t n = std::min(queue_.size(), settings_.max_batch);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      writing_ = true;
    }
    queue_cv_.notify_all();
    run_batch(batch);
    batch.clear();
    std::lock_guard lock(queue_mutex_);
    writing_ = false;
    queue_cv_.notify_all();
  }
}

void sqlite_database::run_in_place(std::unique_ptr<pending_write> op) {
  {
    std::unique_lock lock(queue_mutex_);
    if (stopping_ || paused_ || writing_ || !queue_.empty() ||
        settings_.commit_window.count() > 0) {
      lock.unlock();
      static_cast<void>(enqueue(std::move(op)));
      return;
    }
    writing_ = true;
  }
  std::vector<std::unique_ptr<pending_write>> batch;
  batch.push_back(std::move(op));
  run_batch(batch);
  batch.clear();
  // Under the lock: the writer may have work that arrived meanwhile, a
  // checkpoint pass the checkpointer asked for while this batch held
  // `writing_` (the writer saw it busy and went back to sleep), and a
  // closing database waits for this batch before it can go. Otherwise the
  // writer is left asleep; waking it for nothing cost a CPU wake-up per node.
  std::lock_guard lock(queue_mutex_);
  writing_ = false;
  if (stopping_ || !queue_.empty() || checkpoint_ == checkpoint_stage::due) queue_cv_.notify_all();
}

namespace {
// Transaction control through the connection's statement cache: db.exec()
// compiled each of these again, four to five times per batch.
void control(connection& c, const std::string& sql) {
  auto st = c.statement(sql);
  st->exec();
}
}  // namespace

void sqlite_database::run_batch(std::vector<std::unique_ptr<pending_write>>& batch) {
  connection& c = *writer_;
  SQLite::Database& db = c.db();
  auto fail_all = [&](const error& e) {
    for (auto& op : batch) op->fail(e);
  };
  const bool sync = std::any_of(batch.begin(), batch.end(),
                                [](const auto& op) { return op->needs == durability::power_loss; });
  auto finish_all = [&](bool committed) {
    {
      std::lock_guard lock(queue_mutex_);
      if (committed) {
        ++stats_.transactions;
        if (sync) ++stats_.synced_transactions;
        stats_.operations += batch.size();
        stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch.size());
      } else {
        ++stats_.failed_transactions;
      }
    }
    for (auto& op : batch) op->finish();
  };

  try {
    // Set per batch, outside any transaction: the WAL fsync at a FULL commit
    // also covers the NORMAL commits before it.
    if (sync != writer_syncs_) {
      db.exec(sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
      writer_syncs_ = sync;
    }
    c.next_event_sequence.reset();
    control(c, "BEGIN IMMEDIATE");
  } catch (const SQLite::Exception& e) {
    fail_all(sqlite_error(e));
    finish_all(false);
    return;
  }

  try {
    // An operation alone in its batch needs no savepoint: when it fails,
    // rolling the whole transaction back undoes its writes and no others.
    const bool alone = batch.size() == 1;
    for (auto& op : batch) {
      const bool savepoint = !op->single_statement && !alone;
      if (savepoint) control(c, "SAVEPOINT op");
      const bool ok = op->run(c);
      if (sqlite3_get_autocommit(db.getHandle()) != 0) {
        // SQLite rolled the whole transaction back (it does on some I/O and
        // out-of-memory errors): everything done so far in the batch is gone.
        auto err = make_error(errc::unavailable, "store: the transaction was rolled back: " +
                                                     std::string(db.getErrorMsg()));
        fail_all(err);
        finish_all(false);
        return;
      }
      if (ok) {
        if (savepoint) control(c, "RELEASE op");
      } else {
        // Only this operation's effects go; the others in the batch stay.
        c.next_event_sequence.reset();
        if (savepoint) {
          control(c, "ROLLBACK TO op");
          control(c, "RELEASE op");
        } else if (alone && !op->single_statement) {
          control(c, "ROLLBACK");
          finish_all(true);
          return;
        }
      }
    }
    if (fail_next_commit_.exchange(false)) {
      throw SQLite::Exception("disk I/O error (injected)", SQLITE_IOERR);
    }
    control(c, "COMMIT");
  } catch (const SQLite::Exception& e) {
    db.tryExec("ROLLBACK");
    auto err = sqlite_error(e);
    err.message = "store: commit failed, nothing in this batch was saved: " + std::string(e.what());
    fail_all(err);
    finish_all(false);
    return;
  }
  finish_all(true);
}

write_stats sqlite_database::stats() const {
  std::lock_guard lock(queue_mutex_);
  return stats_;
}

void sqlite_database::pause_writer() {
  std::lock_guard lock(queue_mutex_);
  paused_ = true;
}

void sqlite_database::resume_writer() {
  {
    std::lock_guard lock(queue_mutex_);
    paused_ = false;
  }
  queue_cv_.notify_all();
}

void sqlite_database::wait_until_queued(std::size_t n) {
  std::unique_lock lock(queue_mutex_);
  queue_cv_.wait(lock, [&] { return queue_.size() >= n; });
}

void sqlite_database::wait_until_idle() {
  std::unique_lock lock(queue_mutex_);
  queue_cv_.wait(lock, [&] {
    return queue_.empty() && !writing_ && (paused_ || checkpoint_ == checkpoint_stage::idle);
  });
}

void sqlite_database::fail_next_commit() {
  fail_next_commit_ = true;
}

// ---- resources -------------------------------------------------------------

namespace {

// Raises the resource generation when a resource write returns, whatever
// its outcome.
struct resource_write_done {
  std::atomic<std::uint64_t>& generation;
  ~resource_write_done() { generation.fetch_add(1, std::memory_order_acq_rel); }
};

}  // namespace

result<resource_record> sqlite_database::create_resource(resource_record r) {
  if (auto ok = check_resource(r); !ok) return std::move(ok).error();
  const resource_write_done bump{resource_generation_};
  return submit<resource_record>(
      [r = std::move(r)](connection& c) mutable -> result<resource_record> {
        if (find_resource(c, r.kind, r.namespace_, r.name)) {
          return make_error(errc::already_exists,
                            describe(r.kind, r.namespace_, r.name) + " already exists");
        }
        return insert_resource(c, std::move(r));
      });
}

result<resource_record> sqlite_database::update_resource(
    resource_record r, std::optional<std::int64_t> expected_version) {
  if (auto ok = check_resource(r); !ok) return std::move(ok).error();
  const resource_write_done bump{resource_generation_};
  return submit<resource_record>(
      [r = std::move(r), expected_version](connection& c) mutable -> result<resource_record> {
        const auto what = describe(r.kind, r.namespace_, r.name);
        auto existing = find_resource(c, r.kind, r.namespace_, r.name);
        if (!existing) return make_error(errc::not_found, what + " not found");
        if (expected_version && *expected_version != existing->resource_version) {
          return make_error(errc::conflict, what + " has resourceVersion " +
                                                std::to_string(existing->resource_version) +
                                                ", not " + std::to_string(*expected_version) +
                                                "; it was changed since it was read");
        }
        if (!r.uid.empty() && r.uid != existing->uid) {
          return make_error(errc::conflict, what + " has uid " + existing->uid + ", not " + r.uid);
        }
        return replace_resource(c, std::move(r), *existing);
      });
}

result<resource_record> sqlite_database::apply_resource(resource_record r) {
  if (auto ok = check_resource(r); !ok) return std::move(ok).error();
  const resource_write_done bump{resource_generation_};
  return submit<resource_record>(
      [r = std::move(r)](connection& c) mutable -> result<resource_record> {
        auto existing = find_resource(c, r.kind, r.namespace_, r.name);
        if (!existing) return insert_resource(c, std::move(r));
        return replace_resource(c, std::move(r), *existing);
      });
}

result<resource_record> sqlite_database::get_resource(const std::string& kind,
                                                      const std::string& ns,
                                                      const std::string& name) {
  return read<resource_record>([&](connection& c) -> result<resource_record> {
    auto r = find_resource(c, kind, ns, name);
    if (!r) return make_error(errc::not_found, describe(kind, ns, name) + " not found");
    return std::move(*r);
  });
}

namespace {

result<std::vector<resource_record>> select_resources(connection& c, const std::string& kind,
                                                      const std::string& ns, bool with_bodies) {
  std::string sql = std::string("SELECT ") + resource_columns;
  // The body column is last: without it the rows still read by position.
  if (!with_bodies) sql.resize(sql.rfind(", body"));
  sql += " FROM resources WHERE kind = ?";
  if (!ns.empty()) sql += " AND namespace = ?";
  sql += " ORDER BY namespace, name";
  auto st_lease = c.statement(sql);
  auto& st = *st_lease;
  st.bind(1, kind);
  if (!ns.empty()) st.bind(2, ns);
  std::vector<resource_record> out;
  while (st.executeStep()) out.push_back(read_resource(st, with_bodies));
  return out;
}

}  // namespace

result<std::vector<resource_record>> sqlite_database::list_resource_versions(
    const std::string& kind, const std::string& ns) {
  return read<std::vector<resource_record>>(
      [&](connection& c) { return select_resources(c, kind, ns, false); });
}

result<std::vector<resource_record>> sqlite_database::list_resources(const std::string& kind,
                                                                     const std::string& ns) {
  return read<std::vector<resource_record>>(
      [&](connection& c) { return select_resources(c, kind, ns, true); });
}

result<void> sqlite_database::delete_resource(const std::string& kind, const std::string& ns,
                                              const std::string& name) {
  const resource_write_done bump{resource_generation_};
  return submit<void>([kind, ns, name](connection& c) -> result<void> {
    auto st_lease =
        c.statement("DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?");
    auto& st = *st_lease;
    st.bind(1, kind);
    st.bind(2, ns);
    st.bind(3, name);
    if (st.exec() == 0) return make_error(errc::not_found, describe(kind, ns, name) + " not found");
    return {};
  });
}

// ---- workflows -------------------------------------------------------------

namespace {

// Inserts `w` (its uid, version and creation time filled in) on `c`.
result<workflow_record> insert_workflow(connection& c, workflow_record w) {
  if (find_workflow_identity(c, w.namespace_, w.name)) {
    return make_error(errc::already_exists,
                      describe("Workflow", w.namespace_, w.name) + " already exists");
  }
  if (w.uid.empty()) {
    w.uid = random_uuid();
  } else {
    auto st_lease = c.statement("SELECT namespace, name FROM workflows WHERE uid = ?");
    auto& st = *st_lease;
    st.bind(1, w.uid);
    if (st.executeStep()) {
      return make_error(
          errc::already_exists,
          "a Workflow with uid " + w.uid + " already exists (" +
              describe("Workflow", st.getColumn(0).getString(), st.getColumn(1).getString()) + ")");
    }
  }
  w.resource_version = next_resource_version(c);
  w.created_at = now_rfc3339();
  fill_workflow_columns(w);
  stamp_metadata(w.body, w.namespace_, w.name, w.uid, w.resource_version, w.created_at);
  auto st_lease = c.statement(
      "INSERT INTO workflows (namespace, name, uid, phase, resource_version, "
      "created_seq, created_at, finished_at, body) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  auto& st = *st_lease;
  st.bind(1, w.namespace_);
  st.bind(2, w.name);
  st.bind(3, w.uid);
  st.bind(4, w.phase);
  st.bind(5, w.resource_version);
  st.bind(6, w.resource_version);
  st.bind(7, w.created_at);
  bind_optional_text(st, 8, w.finished_at);
  st.bind(9, to_text(w.body));
  st.exec();
  return w;  // moved: a by-value parameter (C++20 implicit move)
}

// Inserts or replaces `nodes` on `c`; not_found when one names a workflow
// uid that is not stored.
result<void> insert_nodes(connection& c, const std::vector<node_record>& nodes) {
  std::string printed;  // bound without a copy: outlives the statement's lease
  // An upsert rewrites the row in place; OR REPLACE deleted it and inserted
  // it again, each node write paying for two b-tree edits.
  auto put_lease = c.statement(
      "INSERT INTO nodes (workflow_uid, node_id, name, phase, body) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT (workflow_uid, node_id) DO UPDATE SET "
      "name = excluded.name, phase = excluded.phase, body = excluded.body");
  auto& put = *put_lease;
  for (const auto& n : nodes) {
    put.reset();
    put.bind(1, n.workflow_uid);
    put.bind(2, n.node_id);
    put.bind(3, n.name);
    put.bind(4, n.phase);
    if (n.body_text.empty()) {
      printed = to_text(n.body);
      put.bindNoCopy(5, printed);
    } else {
      put.bindNoCopy(5, n.body_text);
    }
    // The foreign key finds a missing workflow; a SELECT of our own before
    // each batch looked it up a second time.
    try {
      put.exec();
    } catch (const SQLite::Exception& e) {
      if (e.getExtendedErrorCode() != SQLITE_CONSTRAINT_FOREIGNKEY) throw;
      return make_error(errc::not_found,
                        "no Workflow with uid " + n.workflow_uid + " for node " + n.node_id);
    }
  }
  return {};
}

}  // namespace

result<workflow_record> sqlite_database::create_workflow(workflow_record w) {
  if (auto ok = check_workflow(w); !ok) return std::move(ok).error();
  return submit<workflow_record>(
      [w = std::move(w)](connection& c) mutable { return insert_workflow(c, std::move(w)); });
}

result<workflow_record> sqlite_database::create_workflow_with_nodes(
    workflow_record w, std::vector<node_record> nodes) {
  if (auto ok = check_workflow(w); !ok) return std::move(ok).error();
  for (const auto& n : nodes) {
    if (n.node_id.empty()) return make_error(errc::invalid_argument, "a workflow node needs an id");
  }
  return submit<workflow_record>([w = std::move(w), nodes = std::move(nodes)](
                                     connection& c) mutable -> result<workflow_record> {
    auto created = insert_workflow(c, std::move(w));
    if (!created || nodes.empty()) return created;
    for (auto& n : nodes) n.workflow_uid = created->uid;
    if (auto put = insert_nodes(c, nodes); !put) return std::move(put).error();
    return created;
  });
}

namespace {

result<workflow_record> write_workflow_update(connection& c, workflow_record w) {
  const auto what = describe("Workflow", w.namespace_, w.name);
  auto existing = find_workflow_identity(c, w.namespace_, w.name);
  if (!existing) return make_error(errc::not_found, what + " not found");
  if (!w.uid.empty() && w.uid != existing->uid) {
    return make_error(errc::conflict, what + " has uid " + existing->uid + ", not " + w.uid);
  }
  w.uid = existing->uid;
  w.created_at = existing->created_at;
  w.resource_version = next_resource_version(c);
  fill_workflow_columns(w);
  stamp_metadata(w.body, w.namespace_, w.name, w.uid, w.resource_version, w.created_at);
  auto st_lease = c.statement(
      "UPDATE workflows SET phase = ?, resource_version = ?, finished_at = ?, "
      "body = ? WHERE namespace = ? AND name = ?");
  auto& st = *st_lease;
  st.bind(1, w.phase);
  st.bind(2, w.resource_version);
  bind_optional_text(st, 3, w.finished_at);
  st.bind(4, to_text(w.body));
  st.bind(5, w.namespace_);
  st.bind(6, w.name);
  st.exec();
  return w;
}

result<void> check_nodes(const std::vector<node_record>& nodes) {
  for (const auto& n : nodes) {
    if (n.workflow_uid.empty() || n.node_id.empty()) {
      return make_error(errc::invalid_argument, "a workflow node needs a workflow uid and an id");
    }
  }
  return {};
}

}  // namespace

result<workflow_record> sqlite_database::update_workflow(workflow_record w) {
  if (auto ok = check_workflow(w); !ok) return std::move(ok).error();
  return submit<workflow_record>(
      [w = std::move(w)](connection& c) mutable { return write_workflow_update(c, std::move(w)); },
      durability::process_crash);
}

result<workflow_record> sqlite_database::get_workflow(const std::string& ns,
                                                      const std::string& name) {
  return read<workflow_record>([&](connection& c) -> result<workflow_record> {
    auto w = find_workflow(c, ns, name);
    if (!w) return make_error(errc::not_found, describe("Workflow", ns, name) + " not found");
    return std::move(*w);
  });
}

result<std::vector<std::pair<std::string, std::string>>> sqlite_database::workflow_phases(
    const std::string& ns, const std::vector<std::string>& names) {
  using phases = std::vector<std::pair<std::string, std::string>>;
  return read<phases>([&](connection& c) -> result<phases> {
    phases out;
    if (names.empty()) return out;
    // One read transaction: one snapshot, and the page cache is checked
    // once rather than per name.
    c.db().exec("BEGIN");
    try {
      auto st_lease = c.statement("SELECT phase FROM workflows WHERE namespace = ? AND name = ?");
      auto& st = *st_lease;
      for (const auto& name : names) {
        st.reset();
        st.bind(1, ns);
        st.bind(2, name);
        if (st.executeStep()) out.emplace_back(name, st.getColumn(0).getString());
      }
    } catch (...) {
      c.db().tryExec("ROLLBACK");
      throw;
    }
    c.db().exec("COMMIT");
    return out;
  });
}

result<std::vector<workflow_record>> sqlite_database::list_workflows(const std::string& ns,
                                                                     std::size_t limit) {
  return read<std::vector<workflow_record>>([&](connection& c) {
    std::string sql = std::string("SELECT ") + workflow_columns + " FROM workflows";
    if (!ns.empty()) sql += " WHERE namespace = ?";
    sql += " ORDER BY created_seq DESC";
    if (limit > 0) sql += " LIMIT " + std::to_string(limit);
    auto st_lease = c.statement(sql);
    auto& st = *st_lease;
    if (!ns.empty()) st.bind(1, ns);
    std::vector<workflow_record> out;
    while (st.executeStep()) out.push_back(read_workflow(st));
    return out;
  });
}

result<void> sqlite_database::delete_workflow(const std::string& ns, const std::string& name) {
  return submit<void>([ns, name](connection& c) -> result<void> {
    // Nodes go with it through ON DELETE CASCADE.
    auto st_lease = c.statement("DELETE FROM workflows WHERE namespace = ? AND name = ?");
    auto& st = *st_lease;
    st.bind(1, ns);
    st.bind(2, name);
    if (st.exec() == 0) {
      return make_error(errc::not_found, describe("Workflow", ns, name) + " not found");
    }
    return {};
  });
}

result<void> sqlite_database::put_nodes(const std::vector<node_record>& nodes) {
  if (nodes.empty()) return {};
  if (auto ok = check_nodes(nodes); !ok) return ok;
  return submit<void>([nodes](connection& c) { return insert_nodes(c, nodes); },
                      durability::process_crash);
}

void sqlite_database::put_nodes_and_workflow_async(std::vector<node_record> nodes,
                                                   std::optional<workflow_record> workflow,
                                                   write_callback done) {
  if (auto ok = check_nodes(nodes); !ok) return done(std::move(ok));
  if (workflow) {
    if (auto ok = check_workflow(*workflow); !ok) return done(std::move(ok).error());
  }
  submit_async<void>(
      // Runs once, so the record moves into the update rather than being
      // copied, manifest and all.
      [nodes = std::move(nodes),
       workflow = std::move(workflow)](connection& c) mutable -> result<void> {
        if (!nodes.empty()) {
          if (auto put = insert_nodes(c, nodes); !put) return put;
        }
        if (workflow) {
          if (auto updated = write_workflow_update(c, std::move(*workflow)); !updated)
            return std::move(updated).error();
        }
        return {};
      },
      std::move(done), durability::process_crash, /*in_place=*/true);
}

result<std::vector<node_record>> sqlite_database::list_nodes(const std::string& workflow_uid) {
  std::vector<node_record> out;
  std::vector<std::string> bodies;
  std::size_t text_bytes = 0;
  auto listed = read<void>([&](connection& c) -> result<void> {
    auto st_lease = c.statement(
        "SELECT workflow_uid, node_id, name, phase, body FROM nodes "
        "WHERE workflow_uid = ? ORDER BY node_id");
    auto& st = *st_lease;
    st.bind(1, workflow_uid);
    while (st.executeStep()) {
      node_record n;
      n.workflow_uid = st.getColumn(0).getString();
      n.node_id = st.getColumn(1).getString();
      n.name = st.getColumn(2).getString();
      n.phase = st.getColumn(3).getString();
      bodies.push_back(st.getColumn(4).getString());
      text_bytes += bodies.back().size();
      out.push_back(std::move(n));
    }
    return {};
  });
  if (!listed) return std::move(listed).error();
  // Parsed after the reader connection is back in the pool. A large
  // workflow's bodies (a 2,000-node DAG keeps about 700 KB) take two cores,
  // half each: reading a finished workflow back is what `kairos run` and
  // `kairos get` wait on last.
  auto parse = [&](std::size_t from, std::size_t to) {
    for (std::size_t i = from; i < to; ++i) out[i].body = from_text(bodies[i]);
  };
  try {
    const std::size_t half = text_bytes >= parallel_parse_bytes ? out.size() / 2 : 0;
    std::future<void> second;
    if (half > 0) second = std::async(std::launch::async, parse, half, out.size());
    parse(0, half > 0 ? half : out.size());
    if (second.valid()) second.get();
  } catch (const std::exception& e) {
    return exception_error(e);
  }
  return out;
}

result<std::vector<node_count>> sqlite_database::count_nodes(const std::string& workflow_uid) {
  return read<std::vector<node_count>>([&](connection& c) {
    // SQLite reads the type and progress out of each body without a JSON
    // tree being built; one that is not a string counts as none, as in the
    // default.
    auto st_lease = c.statement(
        "SELECT CASE WHEN json_valid(body) AND json_type(body, '$.type') = 'text' "
        "THEN json_extract(body, '$.type') ELSE '' END, phase, count(*), "
        "CASE WHEN json_valid(body) AND json_type(body, '$.progress') = 'text' "
        "THEN json_extract(body, '$.progress') ELSE '' END FROM nodes "
        "WHERE workflow_uid = ? GROUP BY 1, 2, 4");
    auto& st = *st_lease;
    st.bind(1, workflow_uid);
    std::vector<node_count> out;
    while (st.executeStep()) {
      out.push_back({st.getColumn(0).getString(), st.getColumn(1).getString(),
                     st.getColumn(2).getInt64(), st.getColumn(3).getString()});
    }
    return out;
  });
}

// ---- events ------------------------------------------------------------------

result<append_outcome> sqlite_database::append_event(event_record e) {
  std::vector<event_record> one;
  one.push_back(std::move(e));
  auto appended = append_events(std::move(one));
  if (!appended) return std::move(appended).error();
  return appended->front();
}

namespace {

// What one append runs on the writer. Bodies are printed on the caller's
// thread, so the single writer only binds and inserts.
struct timed_event {
  event_record e;
  std::int64_t time_unix = 0;
  std::string body;
  // The text reads back as exactly e.body, so the parsed body can stand in
  // for it (invalid UTF-8 is replaced in the text, so such a body cannot).
  bool exact = true;
  // Leading bytes of `body` that the row leaves to its columns (see
  // print_implied_head); 0: the row holds the whole text.
  std::size_t implied = 0;
};

result<std::vector<timed_event>> timed_events(std::vector<event_record> events) {
  std::vector<timed_event> timed;
  timed.reserve(events.size());
  const auto appended = std::chrono::system_clock::now();
  std::string head;
  for (auto& e : events) {
    if (e.id.empty()) return make_error(errc::invalid_argument, "an event needs an id");
    const auto parsed = parse_rfc3339(e.time);
    const std::int64_t time_unix = unix_seconds(parsed ? *parsed : appended);
    e.own_body();
    std::string body;
    bool exact = true;
    if (!e.text.empty()) {
      body = std::move(e.text);
      e.text.clear();
    } else {
      try {
        body = dump_json(e.body);
      } catch (const nlohmann::json::exception&) {
        body = to_text(e.body);
        exact = false;
      }
    }
    const auto implied = implied_head_size(e, body, head);
    timed.push_back({std::move(e), time_unix, std::move(body), exact, implied});
  }
  return timed;
}

result<std::vector<append_outcome>> insert_events(connection& c,
                                                  const std::vector<timed_event>& timed) {
  // The writer runs one operation at a time, so insert-then-look cannot
  // race, and a duplicate later in the same batch sees the first one.
  // Numbered here, above every sequence the journal ever held (see the
  // schema's events_floor), once per operation instead of SQLite's
  // AUTOINCREMENT bookkeeping per row.
  std::int64_t next = 1;
  if (c.next_event_sequence) {
    next = *c.next_event_sequence;
  } else {
    auto top = c.statement(
        "SELECT max(coalesce((SELECT max(sequence) FROM events), 0), "
        "coalesce((SELECT value FROM counters WHERE name = 'events_floor'), 0))");
    if (top->executeStep()) next = top->getColumn(0).getInt64() + 1;
  }
  auto st_lease = c.statement(
      "INSERT INTO events (sequence, id, namespace, source, subject, type, time, "
      "time_unix, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
      "ON CONFLICT (id) DO NOTHING");
  auto& st = *st_lease;
  std::optional<statement_lease> find;
  std::vector<append_outcome> out;
  out.reserve(timed.size());
  for (const auto& t : timed) {
    const auto& e = t.e;
    st.reset();
    st.bind(1, next);
    st.bindNoCopy(2, e.id);
    st.bindNoCopy(3, e.namespace_);
    st.bindNoCopy(4, e.source);
    st.bindNoCopy(5, e.subject);
    st.bindNoCopy(6, e.type);
    st.bindNoCopy(7, e.time);
    st.bind(8, t.time_unix);
    if (t.implied > 0)
      st.bindNoCopy(9, t.body.data() + t.implied, static_cast<int>(t.body.size() - t.implied - 1));
    else
      st.bindNoCopy(9, t.body);
    if (st.exec() == 1) {
      // A duplicate takes no number: the journal stays contiguous, as the
      // store's memory of recent events expects.
      out.push_back({next++, false});
      continue;
    }
    if (!find) find.emplace(c.statement("SELECT sequence FROM events WHERE id = ?"));
    auto& found = **find;
    found.reset();
    found.bind(1, e.id);
    out.push_back({found.executeStep() ? found.getColumn(0).getInt64() : 0, true});
  }
  c.next_event_sequence = next;
  return out;
}

}  // namespace

result<std::vector<append_outcome>> sqlite_database::append_events(
    std::vector<event_record> events) {
  // Through the writer's callback, so the events reach the cache in commit
  // order before this returns.
  std::promise<result<std::vector<append_outcome>>> promise;
  auto future = promise.get_future();
  append_events_async(std::move(events), [&promise](result<std::vector<append_outcome>> r) {
    promise.set_value(std::move(r));
  });
  return future.get();
}

void sqlite_database::append_events_async(std::vector<event_record> events, append_callback done) {
  auto timed = timed_events(std::move(events));
  if (!timed) {
    done(std::move(timed).error());
    return;
  }
  {
    // Events the cache let go of are freed here, on the appending thread,
    // as they were before there was a cache, not on the single writer.
    std::vector<cached_event> evicted;
    {
      std::lock_guard lock(cache_mutex_);
      evicted.swap(cache_evicted_);
    }
  }
  auto shared = std::make_shared<std::vector<timed_event>>(std::move(*timed));
  const bool one_row = shared->size() == 1;
  submit_async<std::vector<append_outcome>>(
      [shared](connection& c) { return insert_events(c, *shared); },
      [this, shared, done = std::move(done)](result<std::vector<append_outcome>> appended) {
        // On the writer thread, right after the commit: readers find the
        // events in the cache from now on.
        if (appended && settings_.event_cache_events > 0 &&
            cache_wanted_.load(std::memory_order_relaxed)) {
          std::vector<cached_event> committed;
          committed.reserve(shared->size());
          for (std::size_t i = 0; i < shared->size() && i < appended->size(); ++i) {
            const auto& outcome = (*appended)[i];
            if (outcome.duplicate) continue;
            auto& t = (*shared)[i];
            t.e.sequence = outcome.sequence;
            const auto bytes = t.body.size();
            // Shared from now on, by the cache and the readers it serves. An
            // event appended as text alone stays text until someone looks
            // into it: its inserted copy is not needed any more.
            if (t.e.body.is_null() && t.exact)
              t.e.shared_body = std::make_shared<const event_body>(std::move(t.body));
            else
              t.e.share_body();
            committed.push_back({std::move(t.e), bytes, t.exact});
          }
          cache_events(std::move(committed));
        }
        done(std::move(appended));
      },
      durability::power_loss, false, one_row);
}

void sqlite_database::cache_events(std::vector<cached_event> committed) {
  std::lock_guard lock(cache_mutex_);
  for (auto& c : committed) {
    const auto sequence = c.record.sequence;
    const bool keepable = c.exact && c.bytes <= settings_.event_cache_bytes;
    if (sequence != cache_top_ + 1 || !keepable) {
      // Something between the last cached event and this one is not here,
      // or this one cannot be: start over after the gap.
      cache_.clear();
      cache_bytes_ = 0;
      cache_base_ = keepable ? sequence - 1 : sequence;
      cache_top_ = sequence;
      if (!keepable) continue;
    }
    cache_bytes_ += c.bytes;
    cache_.push_back(std::move(c));
    cache_top_ = sequence;
    while (!cache_.empty() && (cache_.size() > settings_.event_cache_events ||
                               cache_bytes_ > settings_.event_cache_bytes)) {
      cache_base_ = cache_.front().record.sequence;
      cache_bytes_ -= cache_.front().bytes;
      cache_evicted_.push_back(std::move(cache_.front()));
      cache_.pop_front();
    }
  }
}

std::size_t sqlite_database::cached_events() {
  std::lock_guard lock(cache_mutex_);
  return cache_.size();
}

void sqlite_database::cache_reset() {
  std::lock_guard lock(cache_mutex_);
  cache_.clear();
  cache_bytes_ = 0;
  cache_base_ = cache_top_;
}

result<std::vector<event_record>> sqlite_database::read_events(std::int64_t after_sequence,
                                                               std::size_t limit) {
  return read_journal(after_sequence, limit, false);
}

result<std::vector<event_record>> sqlite_database::read_events_shared(std::int64_t after_sequence,
                                                                      std::size_t limit) {
  return read_journal(after_sequence, limit, true);
}

result<std::vector<event_record>> sqlite_database::read_journal(std::int64_t after_sequence,
                                                                std::size_t limit, bool shared) {
  // Appends fill the cache once someone reads the journal: a server with
  // event sources and no sensors keeps none.
  cache_wanted_.store(true, std::memory_order_relaxed);
  std::vector<event_record> out;
  {
    std::lock_guard lock(cache_mutex_);
    if (!cache_.empty() && after_sequence >= cache_base_) {
      // Sequences in the cache are contiguous: the first one wanted is at
      // a known distance from the front.
      const auto skip = static_cast<std::size_t>(
          std::max<std::int64_t>(0, after_sequence - cache_.front().record.sequence + 1));
      for (auto it = cache_.begin() + static_cast<std::ptrdiff_t>(std::min(skip, cache_.size()));
           it != cache_.end() && (limit == 0 || out.size() < limit); ++it)
        out.push_back(it->record);
    }
  }
  // Whatever follows is left to the next read: asking SQLite for it cost as
  // much as the copies (a read snapshot per call), and a reader that caught
  // up with the cache asks SQLite anyway, which also finds what another
  // process appended.
  if (!out.empty()) {
    // Copied out of the lock, for the readers that want a body of their own.
    if (!shared)
      for (auto& e : out) e.own_body();
    return out;
  }
  return read<std::vector<event_record>>([&](connection& c) -> result<std::vector<event_record>> {
    std::string sql =
        "SELECT sequence, id, namespace, source, subject, type, time, body FROM events "
        "WHERE sequence > ? ORDER BY sequence";
    if (limit > 0) sql += " LIMIT " + std::to_string(limit);
    auto st_lease = c.statement(sql);
    auto& st = *st_lease;
    st.bind(1, after_sequence);
    while (st.executeStep()) {
      auto e = read_event(st, !shared);
      // Parsed by its first reader, as the cache's events are: a sensor
      // catching up after a restart matches most events by their columns.
      if (shared)
        e.shared_body = std::make_shared<const event_body>(event_text(e, st.getColumn(7)));
      out.push_back(std::move(e));
    }
    return std::move(out);
  });
}

result<std::vector<event_record>> sqlite_database::read_newest_events(std::size_t limit) {
  // From the newest end and without bodies, which a listing does not show:
  // paging through and parsing the whole journal took 1.5 s at 186,000
  // events, and a week of journal can hold far more.
  return read<std::vector<event_record>>([&](connection& c) -> result<std::vector<event_record>> {
    std::string sql =
        "SELECT sequence, id, namespace, source, subject, type, time FROM events "
        "ORDER BY sequence DESC";
    if (limit > 0) sql += " LIMIT " + std::to_string(limit);
    auto st_lease = c.statement(sql);
    auto& st = *st_lease;
    std::vector<event_record> out;
    while (st.executeStep()) out.push_back(read_event(st, false));
    std::reverse(out.begin(), out.end());
    return out;
  });
}

result<std::size_t> sqlite_database::trim_events(const std::string& before, std::size_t keep_last) {
  const auto cutoff = parse_rfc3339(before);
  if (!cutoff) {
    return make_error(errc::invalid_argument,
                      "trim_events: '" + before + "' is not an RFC 3339 time");
  }
  const std::int64_t cutoff_unix = unix_seconds(*cutoff);
  auto trimmed =
      submit<std::size_t>([cutoff_unix, keep_last](connection& c) -> result<std::size_t> {
        // Whatever goes, even the newest event, no later one may take its
        // number again.
        auto floor = c.statement(
            "INSERT INTO counters (name, value) "
            "SELECT 'events_floor', sequence FROM events WHERE true "
            "ORDER BY sequence DESC LIMIT 1 "
            "ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)");
        floor->exec();
        // From the oldest up to the first event that is young enough, which
        // the rowid order finds without an index on time; what is dropped
        // is read once either way.
        auto st_lease = c.statement(
            "DELETE FROM events WHERE sequence < coalesce("
            "(SELECT sequence FROM events WHERE time_unix >= ?1 ORDER BY sequence LIMIT 1), "
            "9223372036854775807) AND sequence NOT IN "
            "(SELECT sequence FROM events ORDER BY sequence DESC LIMIT ?2)");
        auto& st = *st_lease;
        st.bind(1, cutoff_unix);
        st.bind(2, static_cast<std::int64_t>(keep_last));
        return static_cast<std::size_t>(st.exec());
      });
  // The cache may hold what was just dropped.
  if (trimmed && *trimmed > 0) cache_reset();
  return trimmed;
}

// ---- state -------------------------------------------------------------------

namespace {

void exec_put_state(connection& c, const std::string& scope, const std::string& ns,
                    const std::string& name, const std::string& text, const std::string& now) {
  auto st_lease = c.statement(
      "INSERT INTO state (scope, namespace, name, body, updated_at) "
      "VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, namespace, name) "
      "DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at");
  auto& st = *st_lease;
  st.bind(1, scope);
  st.bind(2, ns);
  st.bind(3, name);
  st.bind(4, text);
  st.bind(5, now);
  st.exec();
}

void exec_delete_state(connection& c, const std::string& scope, const std::string& ns,
                       const std::string& name) {
  auto st_lease = c.statement("DELETE FROM state WHERE scope = ? AND namespace = ? AND name = ?");
  auto& st = *st_lease;
  st.bind(1, scope);
  st.bind(2, ns);
  st.bind(3, name);
  st.exec();
}

// The write of put_state and put_state_async, printed on the caller's thread.
auto state_write(const std::string& scope, const std::string& ns, const std::string& name,
                 const nlohmann::json& state) {
  return [scope, ns, name, text = to_text(state)](connection& c) -> result<void> {
    exec_put_state(c, scope, ns, name, text, now_rfc3339());
    return {};
  };
}

}  // namespace

result<void> sqlite_database::put_state(const std::string& scope, const std::string& ns,
                                        const std::string& name, const nlohmann::json& state) {
  return submit<void>(state_write(scope, ns, name, state));
}

void sqlite_database::put_state_async(const std::string& scope, const std::string& ns,
                                      const std::string& name, const nlohmann::json& state,
                                      write_callback done) {
  submit_async<void>(state_write(scope, ns, name, state), std::move(done));
}

result<std::optional<nlohmann::json>> sqlite_database::get_state(const std::string& scope,
                                                                 const std::string& ns,
                                                                 const std::string& name) {
  return read<std::optional<nlohmann::json>>(
      [&](connection& c) -> result<std::optional<nlohmann::json>> {
        auto st_lease =
            c.statement("SELECT body FROM state WHERE scope = ? AND namespace = ? AND name = ?");
        auto& st = *st_lease;
        st.bind(1, scope);
        st.bind(2, ns);
        st.bind(3, name);
        if (!st.executeStep()) return std::optional<nlohmann::json>();
        return std::optional<nlohmann::json>(from_text(st.getColumn(0).getString()));
      });
}

result<void> sqlite_database::delete_state(const std::string& scope, const std::string& ns,
                                           const std::string& name) {
  return submit<void>([scope, ns, name](connection& c) -> result<void> {
    exec_delete_state(c, scope, ns, name);
    return {};
  });
}

result<void> sqlite_database::change_states(const std::string& scope,
                                            const std::vector<state_change>& changes) {
  if (changes.empty()) return {};
  // Serialised here, on the caller's thread, so the writer thread only runs
  // the statements.
  struct prepared {
    std::string ns;
    std::string name;
    std::optional<std::string> text;
  };
  std::vector<prepared> all;
  all.reserve(changes.size());
  for (const auto& c : changes)
    all.push_back({c.ns, c.name, c.state ? std::optional(to_text(*c.state)) : std::nullopt});
  return submit<void>([scope, all = std::move(all)](connection& c) -> result<void> {
    const auto now = now_rfc3339();
    for (const auto& p : all) {
      if (p.text)
        exec_put_state(c, scope, p.ns, p.name, *p.text, now);
      else
        exec_delete_state(c, scope, p.ns, p.name);
    }
    return {};
  });
}

}  // namespace detail
}  // namespace kairos::store
