#include "migrations.hpp"

#include <array>

namespace kairos::store::detail {
namespace {

// Timestamps are RFC 3339 UTC text; bodies are JSON text. created_seq is the
// resource version a workflow was created with: it orders "newest first"
// exactly, where created_at only has second precision.
constexpr std::string_view v1 = R"sql(
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('resource_version', 0);

CREATE TABLE resources (
  kind             TEXT NOT NULL,
  namespace        TEXT NOT NULL,
  name             TEXT NOT NULL,
  uid              TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  created_at       TEXT NOT NULL,
  body             TEXT NOT NULL,
  PRIMARY KEY (kind, namespace, name)
);

CREATE TABLE workflows (
  namespace        TEXT NOT NULL,
  name             TEXT NOT NULL,
  uid              TEXT NOT NULL UNIQUE,
  phase            TEXT NOT NULL,
  resource_version INTEGER NOT NULL,
  created_seq      INTEGER NOT NULL,
  created_at       TEXT NOT NULL,
  finished_at      TEXT,
  body             TEXT NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE INDEX workflows_by_created ON workflows (created_seq);
CREATE INDEX workflows_by_namespace_created ON workflows (namespace, created_seq);

CREATE TABLE nodes (
  workflow_uid TEXT NOT NULL REFERENCES workflows (uid) ON DELETE CASCADE,
  node_id      TEXT NOT NULL,
  name         TEXT NOT NULL,
  phase        TEXT NOT NULL,
  body         TEXT NOT NULL,
  PRIMARY KEY (workflow_uid, node_id)
) WITHOUT ROWID;

CREATE TABLE events (
  sequence  INTEGER PRIMARY KEY AUTOINCREMENT,
  id        TEXT NOT NULL UNIQUE,
  namespace TEXT NOT NULL,
  source    TEXT NOT NULL,
  subject   TEXT NOT NULL,
  type      TEXT NOT NULL,
  time      TEXT NOT NULL,
  time_unix INTEGER NOT NULL,
  body      TEXT NOT NULL
);
CREATE INDEX events_by_time ON events (time_unix);

CREATE TABLE state (
  scope      TEXT NOT NULL,
  namespace  TEXT NOT NULL,
  name       TEXT NOT NULL,
  body       TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (scope, namespace, name)
) WITHOUT ROWID;
)sql";

// The journal without AUTOINCREMENT and without its index on time: each
// cost every append a B-tree write of its own (sqlite_sequence, the index)
// and WAL pages at every commit, together about a seventh of Kafka ingest
// throughput. The store now numbers events itself, above both the newest
// sequence and `events_floor`, the highest one ever removed, so a sequence
// is never handed out twice. Retention walks the events in sequence order,
// which needs no index.
constexpr std::string_view v2 = R"sql(
CREATE TABLE events_v2 (
  sequence  INTEGER PRIMARY KEY,
  id        TEXT NOT NULL UNIQUE,
  namespace TEXT NOT NULL,
  source    TEXT NOT NULL,
  subject   TEXT NOT NULL,
  type      TEXT NOT NULL,
  time      TEXT NOT NULL,
  time_unix INTEGER NOT NULL,
  body      TEXT NOT NULL
);
INSERT INTO events_v2 (sequence, id, namespace, source, subject, type, time, time_unix, body)
  SELECT sequence, id, namespace, source, subject, type, time, time_unix, body FROM events;
INSERT INTO counters (name, value)
  SELECT 'events_floor', seq FROM sqlite_sequence WHERE name = 'events';
DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
)sql";

// No change to the tables: journal bodies may be BLOBs from now on, which
// leave out the context the row's columns imply (see sqlite_database.cpp's
// print_implied_head). The version tells an older kairos, which would read
// such a body as the whole envelope, that it cannot open this database.
constexpr std::string_view v3 = "-- event bodies may leave their context to the columns\n";

constexpr std::array<migration, 3> all = {{
    {1, v1},
    {2, v2},
    {3, v3},
}};

}  // namespace

std::span<const migration> migrations() {
  return all;
}

}  // namespace kairos::store::detail
