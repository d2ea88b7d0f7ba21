#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"

namespace kairos::store {

struct settings {
  // Root of everything kairos keeps; the database is <data_dir>/kairos.db.
  std::filesystem::path data_dir = ".kairos";
  // How long the writer waits for more work before committing a batch. Zero
  // commits as soon as the queue is empty.
  std::chrono::microseconds commit_window{0};
  // Upper bound on operations per transaction.
  std::size_t max_batch = 1024;
  // The newest journal events are also kept in memory (as the appender's
  // tree, or as text parsed on first use), up to this many and this many
  // bytes of JSON text, so sensors reading right behind the event sources do
  // not read them back from SQLite. Zero turns it off.
  std::size_t event_cache_events = 8192;
  std::size_t event_cache_bytes = 8 << 20;
  // A commit that leaves the write-ahead log past this many pages (4 KiB
  // each) has it copied into the database beside the writer. SQLite's own
  // default is 1,000; a smaller log keeps each copy short, and the copy's
  // fsyncs are what delayed the commits behind it under steady webhook load.
  int checkpoint_pages = 250;
  // Once the write-ahead log holds this many pages, the writer copies what
  // the checkpointer's copy left behind, so that the log starts over from
  // its beginning. That pass holds every commit up for two fsyncs; made
  // after every copy, it was most of the fsyncs a workflow's commits waited
  // on. SQLite's own checkpoint default, 4 MiB.
  int wal_restart_pages = 1000;
};

// A stored manifest of one of the kinds other than Workflow
// (WorkflowTemplate, ClusterWorkflowTemplate, CronWorkflow, EventSource,
// Sensor). `kind` is the Argo kind name; `namespace_` is empty for
// cluster-scoped kinds.
struct resource_record {
  std::string kind;
  std::string namespace_;
  std::string name;
  std::string uid;
  std::int64_t resource_version = 0;  // assigned by the store, global and increasing
  std::string created_at;             // RFC 3339, assigned on first create
  nlohmann::json body;                // the manifest as JSON (metadata, spec)
};

// A workflow: the full Argo Workflow object (metadata, spec, status) plus the
// columns that listing and filtering need.
struct workflow_record {
  std::string namespace_;
  std::string name;
  std::string uid;
  std::string phase;  // Pending, Running, Succeeded, Failed, Error
  std::int64_t resource_version = 0;
  std::string created_at;
  std::string finished_at;  // empty while not finished
  nlohmann::json body;
};

// One node of a workflow, keyed by Argo's node id.
struct node_record {
  std::string workflow_uid;
  std::string node_id;
  std::string name;
  std::string phase;
  nlohmann::json body;  // Argo's NodeStatus object
  // The body already printed as JSON text; when set, written as it is and
  // `body` is not used. Lists of nodes read back always have `body`.
  std::string body_text = {};
};

// How many of a workflow's nodes have a given type, phase and progress.
struct node_count {
  std::string type;
  std::string phase;
  std::int64_t count = 0;
  std::string progress;  // the node's own "progress" field; empty without one
};

// A journal event's envelope, shared by the store's cache and every reader
// of the event. It is either parsed already or kept as the JSON text it was
// journaled as and parsed the first time someone looks into it: most events
// only pass through a sensor that matches them by their columns, and
// building and freeing a tree for each was a fifth of the Kafka path's CPU.
class event_body {
 public:
  explicit event_body(nlohmann::json value);
  // `text` must be JSON (the store hands over only what it journaled).
  explicit event_body(std::string text);
  event_body(const event_body&) = delete;
  event_body& operator=(const event_body&) = delete;

  // The envelope, parsed on the first call from any thread; text that does
  // not parse reads as null.
  const nlohmann::json& value() const;
  // Whether value() is there without parsing (a test seam, and how readers
  // that only want columns tell the two apart).
  bool parsed() const { return parsed_.load(std::memory_order_acquire); }

 private:
  mutable std::once_flag once_;
  mutable std::atomic<bool> parsed_{false};
  mutable std::string text_;  // emptied once parsed
  mutable nlohmann::json value_;
};

// One journal entry: a CloudEvents-style envelope.
struct event_record {
  std::int64_t sequence = 0;  // assigned by the store, strictly increasing
  std::string id;             // unique; a second append of the same id is a no-op
  std::string namespace_;
  std::string source;   // EventSource name
  std::string subject;  // event name
  std::string type;     // event source type (webhook, github, ...)
  std::string time;     // RFC 3339
  nlohmann::json body;  // the whole envelope: context and data
  // `body` printed, when the appender printed it already (so that the
  // printing can happen before a step that must keep appends in order); it
  // must read back as `body`. Empty: the store prints `body`.
  std::string text;
  // Set by read_events_shared only, instead of `body` (which is then null):
  // the envelope, immutable and shared with the store's cache and every
  // other reader of the event. An event appended as `text` alone stays text
  // here until a reader looks into it.
  std::shared_ptr<const event_body> shared_body;

  // `body` becomes `shared_body`, without a copy.
  void share_body() {
    shared_body = std::make_shared<const event_body>(std::move(body));
    body = nullptr;
  }
  // Back to a body of its own: a shared body is copied into a null `body`.
  void own_body() {
    if (!shared_body) return;
    if (body.is_null()) body = shared_body->value();
    shared_body.reset();
  }
};

// Appends an envelope's text up to its data's value: `{"context":{...},
// "data":`, the context holding the record's id, source, subject, time and
// type, `content_type` and spec version 1.0, members in dump_json's order.
// Sources that print their envelopes use it; the store leaves exactly this
// out of a journal row (for `application/json`) and prints it back on read.
// Throws nlohmann::json::type_error where a column is not valid UTF-8.
void print_event_head(const event_record& columns, std::string_view content_type, std::string& out);

struct append_outcome {
  std::int64_t sequence = 0;
  bool duplicate = false;  // the id was already in the journal
};

// Counters of the writer thread, for metrics and for tests that show that
// concurrent writes share transactions (group commit).
struct write_stats {
  std::uint64_t transactions = 0;         // committed transactions
  std::uint64_t synced_transactions = 0;  // of those, fsynced at commit (power-loss safe)
  std::uint64_t operations = 0;           // operations in committed transactions
  std::uint64_t failed_transactions = 0;  // batches whose transaction could not commit
  std::uint64_t largest_batch = 0;        // most operations seen in one transaction
  // WAL copies into the database: by the checkpointer beside the writer, and
  // the writer's short passes after each, which let the WAL start over.
  std::uint64_t checkpoint_copies = 0;
  std::uint64_t checkpoint_passes = 0;
  // WAL pages each of them copied into the database.
  std::uint64_t checkpointer_pages = 0;
  std::uint64_t writer_pass_pages = 0;
};

// The embedded SQLite store. All methods are thread-safe and blocking: call
// them from worker threads, never from an Asio I/O thread. Writes go through
// one writer thread that groups concurrent writes into one transaction; reads
// use their own connections (WAL lets them run beside the writer).
class database {
 public:
  static result<std::unique_ptr<database>> open(const settings& s);
  virtual ~database() = default;

  virtual int schema_version() const = 0;
  virtual const std::filesystem::path& data_dir() const = 0;
  // Not pure so that test doubles of this interface need not implement it.
  virtual write_stats stats() const { return {}; }

  // Manifests. create fails with already_exists; update fails with not_found
  // or, when expected_version is set and differs, conflict; apply creates or
  // replaces. Each returns the stored record with its new resource_version.
  // The stored body has metadata.name, namespace (absent when cluster-scoped),
  // uid, resourceVersion (a string) and creationTimestamp set from the record,
  // so it is what the API returns. An update keeps the stored uid and
  // created_at; an update naming a different uid is a conflict.
  virtual result<resource_record> create_resource(resource_record r) = 0;
  virtual result<resource_record> update_resource(resource_record r,
                                                  std::optional<std::int64_t> expected_version) = 0;
  virtual result<resource_record> apply_resource(resource_record r) = 0;
  virtual result<resource_record> get_resource(const std::string& kind, const std::string& ns,
                                               const std::string& name) = 0;
  // ns empty: every namespace.
  virtual result<std::vector<resource_record>> list_resources(const std::string& kind,
                                                              const std::string& ns) = 0;
  // The same listing without the manifests (body is null), for callers that
  // only compare versions. The default lists everything and drops them.
  virtual result<std::vector<resource_record>> list_resource_versions(const std::string& kind,
                                                                      const std::string& ns) {
    auto all = list_resources(kind, ns);
    if (all)
      for (auto& r : *all) r.body = nullptr;
    return all;
  }
  virtual result<void> delete_resource(const std::string& kind, const std::string& ns,
                                       const std::string& name) = 0;
  // A number this store raises after every change to a resource it commits;
  // a reader that saw generation g before reading a resource and sees g
  // again knows its copy is still current. Changes made through another
  // process's store are not counted. nullopt: the store does not keep one.
  virtual std::optional<std::uint64_t> resource_generation() const { return std::nullopt; }

  // Workflows and their nodes. delete_workflow removes the nodes too.
  // update_workflow finds the workflow by namespace/name and is last writer
  // wins (the record's resource_version is not checked); it keeps uid and
  // created_at. An empty phase / finished_at is taken from body.status.
  virtual result<workflow_record> create_workflow(workflow_record w) = 0;
  // create_workflow and put_nodes for it in one transaction: both or
  // neither are stored. The default, for stores without transactions, runs
  // them one after the other.
  virtual result<workflow_record> create_workflow_with_nodes(workflow_record w,
                                                             std::vector<node_record> nodes) {
    auto created = create_workflow(std::move(w));
    if (!created || nodes.empty()) return created;
    for (auto& n : nodes) n.workflow_uid = created->uid;
    if (auto put = put_nodes(nodes); !put) return std::move(put).error();
    return created;
  }
  virtual result<workflow_record> update_workflow(workflow_record w) = 0;
  virtual result<workflow_record> get_workflow(const std::string& ns, const std::string& name) = 0;
  // The phase of each of `names` in `ns` that is stored (absent ones are
  // left out), read as one snapshot. The default reads them one by one.
  virtual result<std::vector<std::pair<std::string, std::string>>> workflow_phases(
      const std::string& ns, const std::vector<std::string>& names) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& name : names) {
      auto w = get_workflow(ns, name);
      if (w)
        out.emplace_back(name, w->phase);
      else if (w.error().code != errc::not_found)
        return std::move(w).error();
    }
    return out;
  }
  // Newest first. ns empty: every namespace.
  virtual result<std::vector<workflow_record>> list_workflows(const std::string& ns,
                                                              std::size_t limit = 0) = 0;
  virtual result<void> delete_workflow(const std::string& ns, const std::string& name) = 0;
  // Inserts or replaces the given nodes in one transaction; not_found when a
  // node names a workflow uid that is not stored.
  virtual result<void> put_nodes(const std::vector<node_record>& nodes) = 0;
  // put_nodes and then, when given, update_workflow, in one transaction and
  // without waiting for the writer: `done` gets the outcome once both are
  // committed (or neither is). When the writer is idle and nothing is
  // queued, the commit (without an fsync) runs on the caller's thread and
  // `done` is called there before this returns, which spares two thread
  // hops between a node's exit and the next node's start; otherwise it is
  // called as append_events_async's callback is, on the writer thread. Either
  // way it must be quick and must not call back into the store. This
  // default writes on the caller's thread.
  using write_callback = std::function<void(result<void>)>;
  virtual void put_nodes_and_workflow_async(std::vector<node_record> nodes,
                                            std::optional<workflow_record> workflow,
                                            write_callback done) {
    if (!nodes.empty()) {
      if (auto put = put_nodes(nodes); !put) return done(std::move(put).error());
    }
    if (workflow) {
      if (auto updated = update_workflow(std::move(*workflow)); !updated)
        return done(std::move(updated).error());
    }
    done({});
  }
  virtual result<std::vector<node_record>> list_nodes(const std::string& workflow_uid) = 0;
  // The workflow's nodes counted by type, phase and progress, for a summary
  // that need not read every node whole. This default does read them.
  virtual result<std::vector<node_count>> count_nodes(const std::string& workflow_uid) {
    auto nodes = list_nodes(workflow_uid);
    if (!nodes) return std::move(nodes).error();
    std::vector<node_count> out;
    auto text_at = [](const nlohmann::json& body, const char* key) {
      if (!body.is_object()) return std::string();
      auto t = body.find(key);
      return t != body.end() && t->is_string() ? t->get<std::string>() : std::string();
    };
    for (const auto& n : *nodes) {
      const std::string type = text_at(n.body, "type");
      const std::string progress = text_at(n.body, "progress");
      auto it = std::find_if(out.begin(), out.end(), [&](const node_count& c) {
        return c.type == type && c.phase == n.phase && c.progress == progress;
      });
      if (it == out.end()) it = out.insert(out.end(), node_count{type, n.phase, 0, progress});
      ++it->count;
    }
    return out;
  }

  // The event journal. append returns only after the event is committed; an
  // empty id is invalid_argument. read_events returns events with a sequence
  // above after_sequence, in sequence order; limit 0 means no limit. It may
  // return fewer than are stored (the first ones, never with a gap): read
  // again after the last one until a read comes back empty.
  virtual result<append_outcome> append_event(event_record e) = 0;
  // Several events, with outcomes in the same order; it returns only after
  // all of them are committed, and on an error none may count as committed.
  // The store overrides it to use one transaction; this default appends one
  // by one.
  virtual result<std::vector<append_outcome>> append_events(std::vector<event_record> events) {
    std::vector<append_outcome> out;
    out.reserve(events.size());
    for (auto& e : events) {
      auto r = append_event(std::move(e));
      if (!r) return std::move(r).error();
      out.push_back(*r);
    }
    return out;
  }
  // append_events without waiting: `done` gets the outcome once the events
  // are committed (or are not). The store calls it on its writer thread, so
  // it must be quick and must not call back into the store; it may be called
  // before this returns. This default appends on the caller's thread.
  using append_callback = std::function<void(result<std::vector<append_outcome>>)>;
  virtual void append_events_async(std::vector<event_record> events, append_callback done) {
    done(append_events(std::move(events)));
  }
  virtual result<std::vector<event_record>> read_events(std::int64_t after_sequence,
                                                        std::size_t limit) = 0;
  // read_events for readers that only read the bodies: each event's body
  // comes as shared_body, which the store shares with its cache of the
  // newest events instead of copying it for every reader. This default
  // wraps what read_events returns.
  virtual result<std::vector<event_record>> read_events_shared(std::int64_t after_sequence,
                                                               std::size_t limit) {
    auto page = read_events(after_sequence, limit);
    if (!page) return page;
    for (auto& e : *page) e.share_body();
    return page;
  }
  // The newest `limit` events (all of them for 0), oldest first, for
  // listings. Their bodies may be left null. The store answers from the
  // newest end; this default pages through the whole journal.
  virtual result<std::vector<event_record>> read_newest_events(std::size_t limit) {
    std::vector<event_record> newest;
    std::int64_t after = 0;
    for (;;) {
      auto page = read_events(after, 1000);
      if (!page) return std::move(page).error();
      if (page->empty()) break;
      for (auto& r : *page) {
        after = r.sequence;
        newest.push_back(std::move(r));
      }
      if (limit > 0 && newest.size() > limit)
        newest.erase(newest.begin(), newest.end() - static_cast<std::ptrdiff_t>(limit));
    }
    return newest;
  }
  // Drops events older than `before` (RFC 3339), keeping at least `keep_last`
  // newest ones; returns how many were dropped. The journal is trimmed from
  // its oldest end: an event dated before one appended ahead of it stays
  // until that one goes. Event times that are not RFC 3339 count as the time
  // the event was appended.
  virtual result<std::size_t> trim_events(const std::string& before, std::size_t keep_last) = 0;

  // Controller state: cron status ("cron") and sensor state ("sensor"),
  // one JSON document per (scope, namespace, name). put replaces; delete of an
  // absent document succeeds (controllers delete state idempotently).
  virtual result<void> put_state(const std::string& scope, const std::string& ns,
                                 const std::string& name, const nlohmann::json& state) = 0;
  // put_state without waiting: `done` gets the outcome once the state is
  // committed (or is not), on the writer thread as append_events_async's
  // callback is. Writes commit in the order they were queued, so a state
  // queued later is never overwritten by one queued earlier, and whatever a
  // caller writes after queuing a state (a workflow it submits) commits
  // with it or after it. This default writes on the caller's thread.
  virtual void put_state_async(const std::string& scope, const std::string& ns,
                               const std::string& name, const nlohmann::json& state,
                               write_callback done) {
    done(put_state(scope, ns, name, state));
  }
  virtual result<std::optional<nlohmann::json>> get_state(const std::string& scope,
                                                          const std::string& ns,
                                                          const std::string& name) = 0;
  virtual result<void> delete_state(const std::string& scope, const std::string& ns,
                                    const std::string& name) = 0;
  // Several puts (a state) and deletes (nullopt) of one scope. The store
  // commits them in one transaction, all or none; this default, for stores
  // without transactions, runs them one after the other.
  struct state_change {
    std::string ns;
    std::string name;
    std::optional<nlohmann::json> state;
  };
  virtual result<void> change_states(const std::string& scope,
                                     const std::vector<state_change>& changes) {
    for (const auto& c : changes) {
      auto done =
          c.state ? put_state(scope, c.ns, c.name, *c.state) : delete_state(scope, c.ns, c.name);
      if (!done) return done;
    }
    return {};
  }
};

}  // namespace kairos::store
