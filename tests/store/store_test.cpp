#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>
#include <gtest/gtest.h>

#include "callback_log.hpp"
#include "kairos/core/text.hpp"
#include "kairos/store/store.hpp"
#include "migrations.hpp"
#include "sqlite_database.hpp"

namespace kairos::store {
namespace {

namespace fs = std::filesystem;
using detail::sqlite_database;
using kairos::testing::callback_log;

class store_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kairos-store-test-" + random_suffix(16));
    settings_.data_dir = dir_ / "data";
  }
  void TearDown() override {
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  sqlite_database& open() {
    db_.reset();
    auto opened = sqlite_database::open_sqlite(settings_);
    if (!opened) ADD_FAILURE() << opened.error().message;
    db_ = std::move(opened).value();
    return *db_;
  }
  void close() { db_.reset(); }

  // What a kairos that knew only the first migration left behind: a journal
  // of `events` events v1-1, v1-2, ... with the bodies {"n":1}.
  void write_schema_1_journal(int events) {
    fs::create_directories(settings_.data_dir);
    SQLite::Database raw((settings_.data_dir / "kairos.db").string(),
                         SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA journal_mode = WAL");
    raw.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
    raw.exec(std::string(detail::migrations()[0].sql));
    raw.exec("INSERT INTO schema_migrations VALUES (1, '2026-01-01T00:00:00Z')");
    for (int i = 1; i <= events; ++i) {
      SQLite::Statement st(raw,
                           "INSERT INTO events (id, namespace, source, subject, type, time, "
                           "time_unix, body) VALUES (?, 'default', 'webhook', 'example', "
                           "'webhook', '2024-05-01T10:00:00Z', 1714557600, '{\"n\":1}')");
      std::string id = "v1-";
      id += std::to_string(i);
      st.bind(1, id);
      st.exec();
    }
  }

  // Applied migrations as (version, applied_at), read beside the store.
  std::vector<std::pair<int, std::string>> applied_migrations() {
    SQLite::Database raw((settings_.data_dir / "kairos.db").string(), SQLite::OPEN_READONLY);
    SQLite::Statement st(raw, "SELECT version, applied_at FROM schema_migrations ORDER BY version");
    std::vector<std::pair<int, std::string>> out;
    while (st.executeStep())
      out.emplace_back(st.getColumn(0).getInt(), st.getColumn(1).getString());
    return out;
  }

  fs::path dir_;
  settings settings_;
  std::unique_ptr<sqlite_database> db_;
};

resource_record template_record(std::string ns, std::string name, std::string image = "alpine") {
  resource_record r;
  r.kind = "WorkflowTemplate";
  r.namespace_ = std::move(ns);
  r.name = std::move(name);
  r.body = {{"apiVersion", "argoproj.io/v1alpha1"},
            {"kind", "WorkflowTemplate"},
            {"spec", {{"image", image}}}};
  return r;
}

workflow_record workflow(std::string ns, std::string name) {
  workflow_record w;
  w.namespace_ = std::move(ns);
  w.name = std::move(name);
  w.phase = "Pending";
  w.body = {{"kind", "Workflow"}, {"spec", {{"entrypoint", "main"}}}};
  return w;
}

// "<prefix><a>" or "<prefix><a>-<b>", built without operator+ on a literal,
// which GCC 12 misreads (-Wrestrict) in optimized builds.
std::string numbered(const char* prefix, int a, int b = -1) {
  char buf[64];
  if (b < 0)
    std::snprintf(buf, sizeof buf, "%s%d", prefix, a);
  else
    std::snprintf(buf, sizeof buf, "%s%d-%d", prefix, a, b);
  return buf;
}

event_record event(std::string id, std::string time = "2024-05-01T10:00:00Z") {
  event_record e;
  e.id = std::move(id);
  e.namespace_ = "default";
  e.source = "webhook";
  e.subject = "example";
  e.type = "webhook";
  e.time = std::move(time);
  e.body = {{"data", {{"id", e.id}}}};
  return e;
}

// ---- open and migrations ---------------------------------------------------

TEST_F(store_test, open_creates_the_data_directory_and_applies_every_migration) {
  auto& db = open();
  EXPECT_TRUE(fs::exists(settings_.data_dir / "kairos.db"));
  EXPECT_EQ(db.schema_version(), detail::latest_schema_version());
  EXPECT_EQ(db.data_dir(), settings_.data_dir);
  auto applied = applied_migrations();
  ASSERT_EQ(applied.size(), detail::migrations().size());
  for (std::size_t i = 0; i < applied.size(); ++i) {
    EXPECT_EQ(applied[i].first, static_cast<int>(i + 1));
    EXPECT_TRUE(parse_rfc3339(applied[i].second).has_value()) << applied[i].second;
  }
}

TEST_F(store_test, open_through_the_interface_uses_wal) {
  auto opened = database::open(settings_);
  ASSERT_TRUE(opened) << opened.error().message;
  SQLite::Database raw((settings_.data_dir / "kairos.db").string(), SQLite::OPEN_READONLY);
  EXPECT_EQ(raw.execAndGet("PRAGMA journal_mode").getString(), "wal");
}

TEST_F(store_test, reopen_applies_no_migration_again_and_keeps_data) {
  open();
  auto created = db_->create_resource(template_record("default", "build"));
  ASSERT_TRUE(created) << created.error().message;
  const auto before = applied_migrations();
  close();

  auto& db = open();
  EXPECT_EQ(db.schema_version(), detail::latest_schema_version());
  EXPECT_EQ(applied_migrations(), before);
  auto got = db.get_resource("WorkflowTemplate", "default", "build");
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(got->uid, created->uid);
  EXPECT_EQ(got->resource_version, created->resource_version);
  EXPECT_EQ(got->body, created->body);
}

TEST_F(store_test, a_journal_written_by_schema_1_is_kept_and_continued_after_upgrade) {
  write_schema_1_journal(3);
  auto& db = open();
  EXPECT_EQ(db.schema_version(), detail::latest_schema_version());
  auto next = db.append_event(event("v2-1"));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->sequence, 4);
  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[0].id, "v1-1");
  EXPECT_EQ((*all)[0].body, (nlohmann::json{{"n", 1}}));
  EXPECT_EQ((*all)[3].id, "v2-1");
  auto duplicate = db.append_event(event("v1-2"));
  ASSERT_TRUE(duplicate);
  EXPECT_TRUE(duplicate->duplicate);
}

TEST_F(store_test, a_schema_1_journal_trimmed_to_nothing_keeps_its_numbers_after_upgrade) {
  write_schema_1_journal(7);
  {
    // Retention under schema 1 could drop the newest events too.
    SQLite::Database raw((settings_.data_dir / "kairos.db").string(), SQLite::OPEN_READWRITE);
    raw.exec("DELETE FROM events");
  }
  auto& db = open();
  auto next = db.append_event(event("after-upgrade"));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->sequence, 8) << "a sequence a sensor may have seen was handed out again";
  close();
  auto& reopened = open();
  auto again = reopened.append_event(event("after-reopen"));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->sequence, 9);
}

TEST_F(store_test, duplicates_take_no_sequence_so_the_journal_stays_contiguous) {
  auto& db = open();
  auto appended = db.append_events({event("a"), event("a"), event("b")});
  ASSERT_TRUE(appended) << appended.error().message;
  ASSERT_EQ(appended->size(), 3u);
  EXPECT_FALSE((*appended)[0].duplicate);
  EXPECT_TRUE((*appended)[1].duplicate);
  EXPECT_EQ((*appended)[1].sequence, (*appended)[0].sequence);
  EXPECT_EQ((*appended)[2].sequence, (*appended)[0].sequence + 1);
}

TEST_F(store_test, resource_version_keeps_increasing_after_reopen) {
  open();
  auto first = db_->create_resource(template_record("default", "a"));
  auto second = db_->apply_resource(template_record("default", "a", "busybox"));
  ASSERT_TRUE(first && second);
  EXPECT_GT(second->resource_version, first->resource_version);
  close();
  open();
  auto third = db_->create_resource(template_record("default", "b"));
  ASSERT_TRUE(third);
  EXPECT_GT(third->resource_version, second->resource_version);
}

TEST_F(store_test, resource_version_is_one_counter_across_resources_and_workflows) {
  auto& db = open();
  auto r1 = db.create_resource(template_record("default", "a"));
  auto w1 = db.create_workflow(workflow("default", "wf"));
  auto r2 = db.create_resource(template_record("default", "b"));
  auto w2 = db.update_workflow(workflow("default", "wf"));
  ASSERT_TRUE(r1 && w1 && r2 && w2);
  EXPECT_LT(r1->resource_version, w1->resource_version);
  EXPECT_LT(w1->resource_version, r2->resource_version);
  EXPECT_LT(r2->resource_version, w2->resource_version);
}

// ---- resources ---------------------------------------------------------------

TEST_F(store_test, create_writes_assigned_identity_into_the_body) {
  auto& db = open();
  auto r = template_record("default", "build");
  r.body["metadata"] = {{"labels", {{"app", "x"}}}, {"resourceVersion", "999"}};
  auto created = db.create_resource(r);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_GT(created->resource_version, 0);
  EXPECT_EQ(created->uid.size(), 36u);
  EXPECT_TRUE(parse_rfc3339(created->created_at).has_value());
  const auto& md = created->body["metadata"];
  EXPECT_EQ(md["name"], "build");
  EXPECT_EQ(md["namespace"], "default");
  EXPECT_EQ(md["uid"], created->uid);
  EXPECT_EQ(md["resourceVersion"], std::to_string(created->resource_version));
  EXPECT_EQ(md["creationTimestamp"], created->created_at);
  EXPECT_EQ(md["labels"]["app"], "x");
  auto got = db.get_resource("WorkflowTemplate", "default", "build");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body, created->body);
}

TEST_F(store_test, create_keeps_a_given_uid) {
  auto& db = open();
  auto r = template_record("default", "build");
  r.uid = "0b6a5d5e-5d0c-4c5e-9a36-1c7f0e7d7c11";
  auto created = db.create_resource(r);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->uid, r.uid);
}

TEST_F(store_test, creating_an_existing_resource_is_already_exists_and_keeps_the_first) {
  auto& db = open();
  auto first = db.create_resource(template_record("default", "build", "alpine"));
  ASSERT_TRUE(first);
  auto second = db.create_resource(template_record("default", "build", "busybox"));
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, errc::already_exists);
  EXPECT_EQ(second.error().message, "WorkflowTemplate default/build already exists");
  auto got = db.get_resource("WorkflowTemplate", "default", "build");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body["spec"]["image"], "alpine");
  EXPECT_EQ(got->resource_version, first->resource_version);
}

TEST_F(store_test, same_name_in_another_namespace_or_kind_is_a_different_resource) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("default", "build")));
  EXPECT_TRUE(db.create_resource(template_record("team-a", "build")));
  auto sensor = template_record("default", "build");
  sensor.kind = "Sensor";
  EXPECT_TRUE(db.create_resource(sensor));
}

TEST_F(store_test, update_with_a_stale_expected_version_is_a_conflict) {
  auto& db = open();
  auto created = db.create_resource(template_record("default", "build"));
  ASSERT_TRUE(created);
  auto updated =
      db.update_resource(template_record("default", "build", "v2"), created->resource_version);
  ASSERT_TRUE(updated) << updated.error().message;
  auto stale =
      db.update_resource(template_record("default", "build", "v3"), created->resource_version);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code, errc::conflict);
  EXPECT_NE(stale.error().message.find("WorkflowTemplate default/build"), std::string::npos);
  auto got = db.get_resource("WorkflowTemplate", "default", "build");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body["spec"]["image"], "v2");
}

TEST_F(store_test, update_keeps_uid_and_creation_time_and_assigns_a_new_version) {
  auto& db = open();
  auto created = db.create_resource(template_record("default", "build"));
  ASSERT_TRUE(created);
  auto updated = db.update_resource(template_record("default", "build", "v2"), std::nullopt);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->uid, created->uid);
  EXPECT_EQ(updated->created_at, created->created_at);
  EXPECT_GT(updated->resource_version, created->resource_version);
  EXPECT_EQ(updated->body["metadata"]["uid"], created->uid);
  EXPECT_EQ(updated->body["metadata"]["resourceVersion"],
            std::to_string(updated->resource_version));
}

TEST_F(store_test, update_naming_another_uid_is_a_conflict) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("default", "build")));
  auto r = template_record("default", "build", "v2");
  r.uid = "not-the-stored-uid";
  auto updated = db.update_resource(r, std::nullopt);
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, errc::conflict);
}

TEST_F(store_test, update_of_a_missing_resource_is_not_found) {
  auto& db = open();
  auto updated = db.update_resource(template_record("default", "ghost"), std::nullopt);
  ASSERT_FALSE(updated);
  EXPECT_EQ(updated.error().code, errc::not_found);
  EXPECT_EQ(updated.error().message, "WorkflowTemplate default/ghost not found");
}

TEST_F(store_test, apply_creates_then_replaces) {
  auto& db = open();
  auto created = db.apply_resource(template_record("default", "build", "v1"));
  ASSERT_TRUE(created) << created.error().message;
  auto replaced = db.apply_resource(template_record("default", "build", "v2"));
  ASSERT_TRUE(replaced) << replaced.error().message;
  EXPECT_EQ(replaced->uid, created->uid);
  EXPECT_EQ(replaced->created_at, created->created_at);
  EXPECT_GT(replaced->resource_version, created->resource_version);
  auto got = db.get_resource("WorkflowTemplate", "default", "build");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body["spec"]["image"], "v2");
  auto all = db.list_resources("WorkflowTemplate", "");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(store_test, get_and_delete_of_a_missing_resource_are_not_found) {
  auto& db = open();
  auto got = db.get_resource("WorkflowTemplate", "default", "ghost");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, errc::not_found);
  EXPECT_EQ(got.error().message, "WorkflowTemplate default/ghost not found");
  auto deleted = db.delete_resource("WorkflowTemplate", "default", "ghost");
  ASSERT_FALSE(deleted);
  EXPECT_EQ(deleted.error().code, errc::not_found);
}

TEST_F(store_test, delete_removes_the_resource) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("default", "build")));
  ASSERT_TRUE(db.delete_resource("WorkflowTemplate", "default", "build"));
  auto got = db.get_resource("WorkflowTemplate", "default", "build");
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, errc::not_found);
  EXPECT_TRUE(db.create_resource(template_record("default", "build")));
}

TEST_F(store_test, list_filters_by_namespace_or_returns_every_namespace) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("team-b", "z")));
  ASSERT_TRUE(db.create_resource(template_record("team-a", "y")));
  ASSERT_TRUE(db.create_resource(template_record("team-a", "x")));
  auto sensor = template_record("team-a", "s");
  sensor.kind = "Sensor";
  ASSERT_TRUE(db.create_resource(sensor));

  auto team_a = db.list_resources("WorkflowTemplate", "team-a");
  ASSERT_TRUE(team_a);
  ASSERT_EQ(team_a->size(), 2u);
  EXPECT_EQ((*team_a)[0].name, "x");
  EXPECT_EQ((*team_a)[1].name, "y");

  auto all = db.list_resources("WorkflowTemplate", "");
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[2].namespace_, "team-b");

  auto none = db.list_resources("WorkflowTemplate", "nobody");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(store_test, cluster_scoped_resource_has_no_namespace) {
  auto& db = open();
  resource_record r = template_record("", "shared");
  r.kind = "ClusterWorkflowTemplate";
  r.body["metadata"] = {{"namespace", "stray"}};
  auto created = db.create_resource(r);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE(created->body["metadata"].contains("namespace"));
  auto got = db.get_resource("ClusterWorkflowTemplate", "", "shared");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->uid, created->uid);
  auto again = db.create_resource(r);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "ClusterWorkflowTemplate shared already exists");
  auto listed = db.list_resources("ClusterWorkflowTemplate", "");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 1u);
}

TEST_F(store_test, resource_without_name_or_with_a_non_object_body_is_invalid) {
  auto& db = open();
  auto unnamed = db.create_resource(template_record("default", ""));
  ASSERT_FALSE(unnamed);
  EXPECT_EQ(unnamed.error().code, errc::invalid_argument);
  auto r = template_record("default", "build");
  r.body = nlohmann::json::array({1, 2});
  auto bad_body = db.apply_resource(r);
  ASSERT_FALSE(bad_body);
  EXPECT_EQ(bad_body.error().code, errc::invalid_argument);
}

TEST_F(store_test, body_with_invalid_utf8_is_stored_not_thrown) {
  auto& db = open();
  auto r = template_record("default", "build");
  r.body["spec"]["note"] = std::string("bad \xff byte");
  auto created = db.create_resource(r);
  ASSERT_TRUE(created) << created.error().message;
  auto got = db.get_resource("WorkflowTemplate", "default", "build");
  EXPECT_TRUE(got);
}

// ---- workflows -------------------------------------------------------------

TEST_F(store_test, workflow_create_get_and_name_clash) {
  auto& db = open();
  auto created = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE(created->uid.empty());
  EXPECT_EQ(created->body["metadata"]["name"], "hello");
  auto got = db.get_workflow("default", "hello");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->uid, created->uid);
  EXPECT_EQ(got->phase, "Pending");
  EXPECT_EQ(got->finished_at, "");

  auto clash = db.create_workflow(workflow("default", "hello"));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, errc::already_exists);
  EXPECT_EQ(clash.error().message, "Workflow default/hello already exists");

  auto same_uid = workflow("default", "other");
  same_uid.uid = created->uid;
  auto uid_clash = db.create_workflow(same_uid);
  ASSERT_FALSE(uid_clash);
  EXPECT_EQ(uid_clash.error().code, errc::already_exists);
}

TEST_F(store_test, workflow_update_takes_phase_and_finish_time_from_status) {
  auto& db = open();
  auto created = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(created);
  auto w = workflow("default", "hello");
  w.phase.clear();
  w.body["status"] = {{"phase", "Succeeded"}, {"finishedAt", "2024-05-01T10:00:05Z"}};
  auto updated = db.update_workflow(w);
  ASSERT_TRUE(updated) << updated.error().message;
  EXPECT_EQ(updated->uid, created->uid);
  EXPECT_EQ(updated->created_at, created->created_at);
  EXPECT_GT(updated->resource_version, created->resource_version);
  auto got = db.get_workflow("default", "hello");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->phase, "Succeeded");
  EXPECT_EQ(got->finished_at, "2024-05-01T10:00:05Z");
  EXPECT_EQ(got->body["status"]["phase"], "Succeeded");

  auto missing = db.update_workflow(workflow("default", "ghost"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::not_found);
}

TEST_F(store_test, workflows_list_newest_first_with_limit_and_namespace) {
  auto& db = open();
  for (const auto* name : {"w1", "w2", "w3", "w4"}) {
    ASSERT_TRUE(db.create_workflow(workflow("default", name)));
  }
  ASSERT_TRUE(db.create_workflow(workflow("other", "o1")));
  // Updating an old workflow does not make it newer.
  ASSERT_TRUE(db.update_workflow(workflow("default", "w1")));

  auto two = db.list_workflows("default", 2);
  ASSERT_TRUE(two);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_EQ((*two)[0].name, "w4");
  EXPECT_EQ((*two)[1].name, "w3");

  auto all_default = db.list_workflows("default");
  ASSERT_TRUE(all_default);
  ASSERT_EQ(all_default->size(), 4u);
  EXPECT_EQ(all_default->back().name, "w1");

  auto everywhere = db.list_workflows("");
  ASSERT_TRUE(everywhere);
  ASSERT_EQ(everywhere->size(), 5u);
  EXPECT_EQ(everywhere->front().name, "o1");
}

TEST_F(store_test, put_nodes_inserts_and_replaces_and_delete_workflow_removes_them) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  std::vector<node_record> nodes = {
      {w->uid, "hello-1", "hello[0]", "Running", {{"phase", "Running"}}},
      {w->uid, "hello", "hello", "Running", {{"phase", "Running"}}},
  };
  ASSERT_TRUE(db.put_nodes(nodes));
  nodes[0].phase = "Succeeded";
  nodes[0].body = {{"phase", "Succeeded"}};
  ASSERT_TRUE(db.put_nodes({nodes[0]}));

  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].node_id, "hello");
  EXPECT_EQ((*listed)[1].node_id, "hello-1");
  EXPECT_EQ((*listed)[1].phase, "Succeeded");
  EXPECT_EQ((*listed)[1].body["phase"], "Succeeded");

  ASSERT_TRUE(db.delete_workflow("default", "hello"));
  auto after = db.list_nodes(w->uid);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty());
  auto gone = db.get_workflow("default", "hello");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, errc::not_found);
  auto again = db.delete_workflow("default", "hello");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, errc::not_found);
}

// 600 nodes of about 1 KB each: more text than one thread parses (list_nodes
// splits the bodies between two past 256 KB).
std::vector<node_record> large_nodes(const std::string& uid) {
  std::vector<node_record> nodes;
  for (int i = 0; i < 600; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "n%04d", i);
    nodes.push_back({uid,
                     id,
                     id,
                     "Succeeded",
                     {{"phase", "Succeeded"}, {"i", i}, {"pad", std::string(1000, 'x')}}});
  }
  return nodes;
}

TEST_F(store_test, list_nodes_of_a_large_workflow_returns_every_body_parsed_in_node_order) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "large"));
  ASSERT_TRUE(w);
  ASSERT_TRUE(db.put_nodes(large_nodes(w->uid)));
  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 600u);
  for (int i = 0; i < 600; ++i) {
    const auto& n = (*listed)[static_cast<std::size_t>(i)];
    ASSERT_EQ(n.body.value("i", -1), i) << n.node_id;
    ASSERT_EQ(n.name, n.node_id);
    ASSERT_EQ(n.body.value("pad", std::string()).size(), 1000u);
  }
}

TEST_F(store_test, list_nodes_reports_a_corrupt_body_in_the_second_half_of_a_large_workflow) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "large"));
  ASSERT_TRUE(w);
  ASSERT_TRUE(db.put_nodes(large_nodes(w->uid)));
  {
    SQLite::Database raw((settings_.data_dir / "kairos.db").string(), SQLite::OPEN_READWRITE);
    raw.exec("UPDATE nodes SET body = '{\"phase\": ' WHERE node_id = 'n0550'");
  }
  auto listed = db.list_nodes(w->uid);
  ASSERT_FALSE(listed);
  EXPECT_NE(listed.error().message.find("parse"), std::string::npos) << listed.error().message;
}

TEST_F(store_test, count_nodes_groups_by_type_phase_and_progress_as_reading_every_node_would) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "fan"));
  ASSERT_TRUE(w);
  std::vector<node_record> nodes = {
      {w->uid, "fan", "fan", "Running", {{"type", "DAG"}, {"phase", "Running"}}},
      {w->uid, "fan-1", "fan.a", "Succeeded", {{"type", "Pod"}, {"phase", "Succeeded"}}},
      {w->uid, "fan-2", "fan.b", "Succeeded", {{"type", "Pod"}, {"phase", "Succeeded"}}},
      {w->uid, "fan-3", "fan.c", "Failed", {{"type", "Pod"}, {"phase", "Failed"}}},
      {w->uid, "fan-4", "fan.d", "Pending", {{"phase", "Pending"}}},
      {w->uid, "fan-5", "fan.e", "Pending", {{"type", 7}, {"phase", "Pending"}}},
      {w->uid,
       "fan-6",
       "fan.f",
       "Running",
       {{"type", "Pod"}, {"phase", "Running"}, {"progress", "3/8"}}},
      {w->uid,
       "fan-7",
       "fan.g",
       "Running",
       {{"type", "Pod"}, {"phase", "Running"}, {"progress", "3/8"}}},
      {w->uid, "fan-8", "fan.h", "Running", {{"type", "Pod"}, {"progress", 5}}},
  };
  ASSERT_TRUE(db.put_nodes(nodes));
  auto other = db.create_workflow(workflow("default", "other"));
  ASSERT_TRUE(other);
  ASSERT_TRUE(db.put_nodes({{other->uid, "o", "o", "Running", {{"type", "Pod"}}}}));

  auto sorted = [](std::vector<node_count> v) {
    std::vector<std::string> out;
    for (const auto& c : v)
      out.push_back(c.type + "/" + c.phase + "/" + c.progress + "=" + std::to_string(c.count));
    std::sort(out.begin(), out.end());
    return out;
  };
  auto counted = db.count_nodes(w->uid);
  ASSERT_TRUE(counted) << counted.error().message;
  const std::vector<std::string> expected = {"/Pending/=2",    "DAG/Running/=1",
                                             "Pod/Failed/=1",  "Pod/Running/3/8=2",
                                             "Pod/Running/=1", "Pod/Succeeded/=2"};
  EXPECT_EQ(sorted(*counted), expected);
  // The interface's own version reads every node; SQLite's must agree.
  auto by_reading = db.database::count_nodes(w->uid);
  ASSERT_TRUE(by_reading);
  EXPECT_EQ(sorted(*by_reading), expected);
}

TEST_F(store_test, put_nodes_for_an_unknown_workflow_is_not_found_and_writes_nothing) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  auto put = db.put_nodes({{w->uid, "a", "a", "Running", {}}, {"no-such-uid", "b", "b", "", {}}});
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().code, errc::not_found);
  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed);
  EXPECT_TRUE(listed->empty());
}

TEST_F(store_test, create_workflow_with_nodes_stores_both_or_neither) {
  auto& db = open();
  auto w = db.create_workflow_with_nodes(
      workflow("default", "hello"), {{"", "hello", "hello", "Running", {{"phase", "Running"}}}});
  ASSERT_TRUE(w) << w.error().message;
  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].workflow_uid, w->uid);
  EXPECT_EQ((*listed)[0].phase, "Running");

  // A second one of the same name writes neither its record nor its nodes.
  auto again = workflow("default", "hello");
  again.uid = "other-uid";
  auto clash = db.create_workflow_with_nodes(again, {{"", "x", "x", "Running", {}}});
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, errc::already_exists);
  auto none = db.list_nodes("other-uid");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto kept = db.list_nodes(w->uid);
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->size(), 1u);
}

TEST_F(store_test, async_node_and_workflow_write_commits_both_or_neither_then_calls_back) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  callback_log<result<void>> log;
  auto remember = [&](result<void> r) { log.add(std::move(r)); };
  auto finished = *w;
  finished.phase = "Succeeded";
  db.put_nodes_and_workflow_async({{w->uid, "hello", "hello", "Succeeded", {}}}, finished,
                                  remember);
  // A workflow that is not there: its nodes are rolled back with it.
  auto missing = workflow("default", "gone");
  db.put_nodes_and_workflow_async({{w->uid, "orphan", "orphan", "Running", {}}}, missing, remember);
  ASSERT_TRUE(log.wait_for(2));
  const auto heard = log.heard();
  ASSERT_EQ(heard.size(), 2u);
  ASSERT_TRUE(heard[0]) << heard[0].error().message;
  ASSERT_FALSE(heard[1]);
  EXPECT_EQ(heard[1].error().code, errc::not_found);
  auto stored = db.get_workflow("default", "hello");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->phase, "Succeeded");
  // The update keeps the stored identity, in its columns and in the body.
  EXPECT_EQ(stored->uid, w->uid);
  EXPECT_EQ(stored->created_at, w->created_at);
  EXPECT_GT(stored->resource_version, w->resource_version);
  EXPECT_EQ(stored->body["metadata"]["uid"], w->uid);
  EXPECT_EQ(stored->body["metadata"]["creationTimestamp"], w->created_at);
  EXPECT_EQ(stored->body["metadata"]["resourceVersion"], std::to_string(stored->resource_version));
  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].node_id, "hello");
  EXPECT_EQ((*listed)[0].phase, "Succeeded");
}

TEST_F(store_test, an_idle_writer_lets_the_caller_commit_node_writes_in_place) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  // The writer may still be finishing the creation's batch (its caller is
  // released first), and a write that comes meanwhile queues, as it must.
  db.wait_until_idle();
  const auto caller = std::this_thread::get_id();
  std::promise<std::thread::id> heard;
  auto heard_on = heard.get_future();
  db.put_nodes_and_workflow_async({{w->uid, "a", "a", "Running", {}}}, std::nullopt,
                                  [&](result<void> r) {
                                    EXPECT_TRUE(r) << r.error().message;
                                    heard.set_value(std::this_thread::get_id());
                                  });
  ASSERT_EQ(heard_on.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(heard_on.get(), caller) << "the write did not run on the caller's thread";
  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
}

// Commits in place leave checkpoints to the writer thread; the WAL must
// still start over rather than grow with every node written. Each write
// waits for the one before, so each is a commit of its own. (The pauses
// between them let the checkpointer's copy catch up by itself, so this
// does not catch a writer left asleep; the next test does.)
TEST_F(store_test, node_writes_committed_in_place_one_by_one_keep_the_wal_bounded) {
  settings_.checkpoint_pages = 64;
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  nlohmann::json body = {{"padding", std::string(6000, 'x')}};
  const fs::path wal = settings_.data_dir / "kairos.db-wal";
  std::uintmax_t largest = 0;
  constexpr int writes = 800;
  for (int i = 0; i < writes; ++i) {
    std::promise<void> committed;
    auto done = committed.get_future();
    db.put_nodes_and_workflow_async({{w->uid, "n" + std::to_string(i % 50), "n", "Running", body}},
                                    std::nullopt, [&](result<void> r) {
                                      EXPECT_TRUE(r) << r.error().message;
                                      committed.set_value();
                                    });
    ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    std::error_code ec;
    largest = std::max(largest, fs::file_size(wal, ec));
  }
  // 800 commits of two pages or more: over 6 MB without checkpoints; one
  // every 64 pages keeps the WAL near a quarter of a megabyte.
  EXPECT_LT(largest, 2u * 1024 * 1024) << "the WAL never started over";
}

// The writer's pass holds every commit up for two fsyncs, so it waits
// until the WAL is long; the checkpointer's copies go on beside the commits
// meanwhile. (That the WAL still starts over once it is long: the tests
// around this one.)
TEST_F(store_test, the_writer_holds_no_commit_up_for_its_pass_while_the_wal_is_short) {
  settings_.checkpoint_pages = 8;
  settings_.wal_restart_pages = 1 << 20;
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  db.wait_until_idle();
  const auto before = db.stats();
  nlohmann::json body = {{"padding", std::string(6000, 'x')}};
  // Queued behind a paused writer, so that commits follow each other with
  // no pause in which the checkpointer's copy could catch up by itself.
  db.pause_writer();
  std::atomic<int> stored{0};
  constexpr int writes = 600;
  for (int i = 0; i < writes; ++i) {
    db.put_nodes_and_workflow_async({{w->uid, "n" + std::to_string(i % 97), "n", "Running", body}},
                                    std::nullopt, [&](result<void> r) {
                                      EXPECT_TRUE(r) << r.error().message;
                                      stored.fetch_add(1);
                                    });
  }
  db.resume_writer();
  db.wait_until_idle();
  EXPECT_EQ(stored.load(), writes);
  const auto s = db.stats();
  EXPECT_GT(s.checkpoint_copies, before.checkpoint_copies) << "the checkpointer never copied";
  EXPECT_EQ(s.checkpoint_passes, before.checkpoint_passes)
      << "the writer held commits up for a pass with the WAL short of its restart length";
  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 97u);
}

// A connection opens the WAL only when it first reads: the checkpointer's
// own connection copied nothing, and the writer's passes copied all of it.
TEST_F(store_test, the_checkpointer_copies_the_wal_beside_the_writer) {
  settings_.checkpoint_pages = 8;
  auto& db = open();
  const std::string padding(2000, 'x');
  for (int i = 0; i < 20; ++i) {
    std::vector<event_record> batch;
    for (int j = 0; j < 10; ++j) {
      auto e = event(numbered("e", i * 10 + j));
      e.body["padding"] = padding;
      batch.push_back(std::move(e));
    }
    ASSERT_TRUE(db.append_events(std::move(batch)));
  }
  db.wait_until_idle();
  const auto s = db.stats();
  EXPECT_GT(s.checkpoint_copies, 0u);
  EXPECT_GT(s.checkpointer_pages, 0u) << "the checkpointer's connection never copied a page";
}

// The checkpointer finishes its copy while a commit in place holds the
// database, so the writer, woken then, saw it busy and went back to sleep:
// the commit in place must hand the writer its pass when it lets go, or the
// WAL never starts over again.
TEST_F(store_test, a_checkpoint_copied_during_a_commit_in_place_still_gets_its_pass) {
  settings_.checkpoint_pages = 1;
  settings_.wal_restart_pages = 1;
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  db.wait_until_idle();
  const auto before = db.stats();
  ASSERT_EQ(before.checkpoint_passes, before.checkpoint_copies);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  // Whether the counters reach `done` before the deadline.
  auto stats_reach = [&](auto done) {
    while (!done(db.stats()) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::yield();
    return done(db.stats());
  };
  const auto caller = std::this_thread::get_id();
  std::thread::id committed_on;
  bool copied = false;
  db.put_nodes_and_workflow_async(
      {{w->uid, "a", "a", "Running", {}}}, std::nullopt, [&](result<void> r) {
        EXPECT_TRUE(r) << r.error().message;
        committed_on = std::this_thread::get_id();
        // Still holding the database: this commit asked for a checkpoint.
        copied = stats_reach(
            [&](const write_stats& s) { return s.checkpoint_copies > before.checkpoint_copies; });
      });
  ASSERT_EQ(committed_on, caller) << "the write did not run in place";
  ASSERT_TRUE(copied) << "the checkpointer never copied the WAL";
  stats_reach([&](const write_stats& s) { return s.checkpoint_passes > before.checkpoint_passes; });
  EXPECT_GT(db.stats().checkpoint_passes, before.checkpoint_passes)
      << "the writer was never woken for its pass";
}

// Checkpoints run beside the writer; under a stream of appends that never
// lets the queue empty, the writer must still give the WAL a chance to start
// over between batches.
TEST_F(store_test, a_writer_that_is_never_idle_keeps_the_wal_bounded) {
  settings_.max_batch = 8;
  auto& db = open();
  const fs::path wal = settings_.data_dir / "kairos.db-wal";
  const std::string padding(6000, 'x');
  db.pause_writer();
  std::atomic<int> appended{0};
  constexpr int events = 2400;
  for (int i = 0; i < events; ++i) {
    auto e = event(numbered("e", i));
    e.body["padding"] = padding;
    db.append_events_async({std::move(e)}, [&](auto r) {
      EXPECT_TRUE(r) << r.error().message;
      appended.fetch_add(1);
    });
  }
  db.resume_writer();
  db.wait_until_idle();
  EXPECT_EQ(appended.load(), events);
  // A WAL that starts over is overwritten from its beginning and keeps its
  // largest size; 2,400 events of two pages each: about 20 MB without.
  std::error_code ec;
  EXPECT_LT(fs::file_size(wal, ec), 12u * 1024 * 1024) << "the WAL never started over";
  auto read = db.read_events(0, 0);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->size(), static_cast<std::size_t>(events));
}

TEST_F(store_test, node_writes_queue_behind_a_busy_writer_and_keep_their_order) {
  auto& db = open();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  db.pause_writer();
  callback_log<std::string> log;
  auto remember = [&](const std::string& what) {
    return [&, what](result<void> r) {
      EXPECT_TRUE(r) << r.error().message;
      log.add(what);
    };
  };
  // Queued work goes first: a write that found the queue non-empty must not
  // overtake it on the caller's thread.
  db.put_nodes_and_workflow_async({{w->uid, "a", "a", "Running", {}}}, std::nullopt,
                                  remember("running"));
  db.put_nodes_and_workflow_async({{w->uid, "a", "a", "Succeeded", {}}}, std::nullopt,
                                  remember("succeeded"));
  EXPECT_TRUE(log.heard().empty()) << "nothing commits while the writer is paused";
  db.resume_writer();
  ASSERT_TRUE(log.wait_for(2));
  EXPECT_EQ(log.heard(), (std::vector<std::string>{"running", "succeeded"}));
  auto listed = db.list_nodes(w->uid);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].phase, "Succeeded");
}

TEST_F(store_test, node_and_phase_updates_commit_without_an_fsync_and_creations_with_one) {
  auto& db = open();
  const auto before = db.stats();
  auto w = db.create_workflow(workflow("default", "hello"));
  ASSERT_TRUE(w);
  const auto created = db.stats();
  EXPECT_EQ(created.transactions, before.transactions + 1);
  EXPECT_EQ(created.synced_transactions, before.synced_transactions + 1);

  ASSERT_TRUE(db.put_nodes({{w->uid, "a", "a", "Running", {}}}));
  auto running = *w;
  running.phase = "Running";
  ASSERT_TRUE(db.update_workflow(running));
  const auto updated = db.stats();
  EXPECT_EQ(updated.transactions, created.transactions + 2);
  EXPECT_EQ(updated.synced_transactions, created.synced_transactions);

  // Both reads see them, as they would after a restart of the process.
  auto nodes = db.list_nodes(w->uid);
  ASSERT_TRUE(nodes);
  ASSERT_EQ(nodes->size(), 1u);
  auto got = db.get_workflow("default", "hello");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->phase, "Running");

  ASSERT_TRUE(db.append_events({event("e-1")}));
  EXPECT_EQ(db.stats().synced_transactions, updated.synced_transactions + 1);
}

// ---- journal -----------------------------------------------------------------

TEST_F(store_test, second_append_of_same_event_id_is_a_duplicate) {
  auto& db = open();
  auto first = db.append_event(event("delivery-1"));
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_FALSE(first->duplicate);
  auto second = db.append_event(event("delivery-1"));
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->duplicate);
  EXPECT_EQ(second->sequence, first->sequence);
  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(store_test, batch_append_keeps_order_and_drops_duplicates_in_one_transaction) {
  auto& db = open();
  ASSERT_TRUE(db.append_event(event("old")));
  const auto before = db.stats().transactions;
  std::vector<event_record> batch;
  for (const char* id : {"b1", "old", "b2", "b1"}) batch.push_back(event(id));
  auto appended = db.append_events(std::move(batch));
  ASSERT_TRUE(appended) << appended.error().message;
  EXPECT_EQ(db.stats().transactions, before + 1);
  ASSERT_EQ(appended->size(), 4u);
  EXPECT_FALSE((*appended)[0].duplicate);
  EXPECT_TRUE((*appended)[1].duplicate);
  EXPECT_FALSE((*appended)[2].duplicate);
  EXPECT_TRUE((*appended)[3].duplicate);  // the first b1 of the same batch
  EXPECT_EQ((*appended)[3].sequence, (*appended)[0].sequence);
  EXPECT_LT((*appended)[0].sequence, (*appended)[2].sequence);
  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
}

TEST_F(store_test, batch_append_with_an_empty_id_appends_nothing) {
  auto& db = open();
  std::vector<event_record> batch;
  batch.push_back(event("fine"));
  batch.push_back(event(""));
  EXPECT_FALSE(db.append_events(std::move(batch)));
  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
}

TEST_F(store_test, events_read_in_sequence_order_after_a_sequence) {
  auto& db = open();
  std::vector<std::int64_t> sequences;
  for (int i = 0; i < 5; ++i) {
    auto appended = db.append_event(event(numbered("e", i)));
    ASSERT_TRUE(appended);
    sequences.push_back(appended->sequence);
  }
  EXPECT_TRUE(std::is_sorted(sequences.begin(), sequences.end()));
  auto after = db.read_events(sequences[1], 2);
  ASSERT_TRUE(after);
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].sequence, sequences[2]);
  EXPECT_EQ((*after)[0].id, "e2");
  EXPECT_EQ((*after)[1].id, "e3");
  EXPECT_EQ((*after)[0].source, "webhook");
  EXPECT_EQ((*after)[0].time, "2024-05-01T10:00:00Z");
  EXPECT_EQ((*after)[0].body["data"]["id"], "e2");
  auto rest = db.read_events(sequences[4], 10);
  ASSERT_TRUE(rest);
  EXPECT_TRUE(rest->empty());
}

TEST_F(store_test, newest_events_come_oldest_first_without_their_bodies) {
  auto& db = open();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(db.append_event(event(numbered("e", i))));
  auto newest = db.read_newest_events(2);
  ASSERT_TRUE(newest) << newest.error().message;
  ASSERT_EQ(newest->size(), 2u);
  EXPECT_EQ((*newest)[0].id, "e3");
  EXPECT_EQ((*newest)[1].id, "e4");
  EXPECT_LT((*newest)[0].sequence, (*newest)[1].sequence);
  EXPECT_EQ((*newest)[1].source, "webhook");
  EXPECT_EQ((*newest)[1].time, "2024-05-01T10:00:00Z");
  // A listing shows no bodies, so none is read back.
  EXPECT_TRUE((*newest)[1].body.is_null());
  auto all = db.read_newest_events(0);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 5u);
  EXPECT_EQ(all->front().id, "e0");
}

TEST_F(store_test, trim_drops_old_events_but_keeps_the_newest) {
  auto& db = open();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(db.append_event(
        event("old" + std::to_string(i), "2024-01-01T00:00:0" + std::to_string(i) + "Z")));
  }
  ASSERT_TRUE(db.append_event(event("new", "2024-06-01T00:00:00Z")));

  auto trimmed = db.trim_events("2024-03-01T00:00:00Z", 3);
  ASSERT_TRUE(trimmed) << trimmed.error().message;
  EXPECT_EQ(*trimmed, 4u);  // keeps old4, old5 (among the 3 newest) and new
  auto left = db.read_events(0, 0);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 3u);
  EXPECT_EQ((*left)[0].id, "old4");
  EXPECT_EQ((*left)[2].id, "new");

  auto all_old = db.trim_events("2024-03-01T00:00:00Z", 0);
  ASSERT_TRUE(all_old);
  EXPECT_EQ(*all_old, 2u);
  left = db.read_events(0, 0);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, "new");
}

TEST_F(store_test, trim_goes_from_the_oldest_end_and_stops_at_the_first_young_event) {
  auto& db = open();
  ASSERT_TRUE(db.append_event(event("old", "2024-01-01T00:00:00Z")));
  ASSERT_TRUE(db.append_event(event("young", "2024-06-01T00:00:00Z")));
  // Dated early, but appended after an event that stays.
  ASSERT_TRUE(db.append_event(event("late", "2024-01-02T00:00:00Z")));
  ASSERT_TRUE(db.append_event(event("newest", "2024-06-02T00:00:00Z")));

  auto trimmed = db.trim_events("2024-03-01T00:00:00Z", 0);
  ASSERT_TRUE(trimmed) << trimmed.error().message;
  EXPECT_EQ(*trimmed, 1u);
  auto left = db.read_events(0, 0);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 3u);
  EXPECT_EQ((*left)[0].id, "young");
  EXPECT_EQ((*left)[1].id, "late");

  // Once the journal's older end has aged out, the early-dated one goes too.
  trimmed = db.trim_events("2024-07-01T00:00:00Z", 1);
  ASSERT_TRUE(trimmed);
  EXPECT_EQ(*trimmed, 2u);
  left = db.read_events(0, 0);
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, "newest");
}

TEST_F(store_test, trim_with_a_bad_time_and_append_without_id_are_invalid) {
  auto& db = open();
  auto trimmed = db.trim_events("yesterday", 1);
  ASSERT_FALSE(trimmed);
  EXPECT_EQ(trimmed.error().code, errc::invalid_argument);
  auto appended = db.append_event(event(""));
  ASSERT_FALSE(appended);
  EXPECT_EQ(appended.error().code, errc::invalid_argument);
}

TEST_F(store_test, journal_survives_reopen_and_sequences_continue) {
  open();
  auto first = db_->append_event(event("a"));
  ASSERT_TRUE(first);
  close();
  auto& db = open();
  auto dup = db.append_event(event("a"));
  ASSERT_TRUE(dup);
  EXPECT_TRUE(dup->duplicate);
  auto next = db.append_event(event("b"));
  ASSERT_TRUE(next);
  EXPECT_GT(next->sequence, first->sequence);
}

// A second store on the same files, as another process would have: it
// reads everything from SQLite.
std::unique_ptr<sqlite_database> open_beside(const settings& s) {
  auto opened = sqlite_database::open_sqlite(s);
  if (!opened) ADD_FAILURE() << opened.error().message;
  return opened ? std::move(opened).value() : nullptr;
}

TEST_F(store_test, events_read_back_from_memory_equal_what_sqlite_holds) {
  auto& db = open();
  ASSERT_TRUE(db.read_events(0, 0));  // a reader: appends are kept in memory from now on
  std::vector<event_record> batch;
  for (int i = 0; i < 4; ++i) batch.push_back(event(numbered("e", i)));
  batch[1].body["data"]["n"] = 42;
  batch[0].body["data"]["bytes"] = std::string("caf\xe9");  // invalid UTF-8: stored replaced
  ASSERT_TRUE(db.append_events(std::move(batch)));
  // The one with invalid UTF-8 cannot be kept as it reads back: the cache
  // starts after it, and reads after it are served from memory.
  EXPECT_EQ(db.cached_events(), 3u);

  auto other = open_beside(settings_);
  ASSERT_TRUE(other);
  auto from_disk = other->read_events(0, 0);
  ASSERT_TRUE(from_disk);
  for (std::int64_t after : {std::int64_t{0}, (*from_disk)[0].sequence}) {
    for (std::size_t limit : {std::size_t{0}, std::size_t{2}}) {
      auto mine = db.read_events(after, limit);
      auto theirs = other->read_events(after, limit);
      ASSERT_TRUE(mine);
      ASSERT_TRUE(theirs);
      ASSERT_EQ(mine->size(), theirs->size()) << "after " << after << " limit " << limit;
      for (std::size_t i = 0; i < mine->size(); ++i) {
        EXPECT_EQ((*mine)[i].sequence, (*theirs)[i].sequence);
        EXPECT_EQ((*mine)[i].id, (*theirs)[i].id);
        EXPECT_EQ((*mine)[i].time, (*theirs)[i].time);
        EXPECT_EQ((*mine)[i].body.dump(), (*theirs)[i].body.dump());
      }
    }
  }
  EXPECT_EQ((*from_disk)[0].body["data"]["bytes"], "caf\xef\xbf\xbd");
}

TEST_F(store_test, shared_reads_hand_out_the_cached_body_itself) {
  auto& db = open();
  ASSERT_TRUE(db.read_events_shared(0, 0));  // a reader: appends are kept in memory from now on
  ASSERT_TRUE(db.append_events({event("a"), event("b")}));
  ASSERT_EQ(db.cached_events(), 2u);
  auto first = db.read_events_shared(0, 0);
  auto second = db.read_events_shared(0, 0);
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  ASSERT_EQ(first->size(), 2u);
  ASSERT_EQ(second->size(), 2u);
  ASSERT_TRUE((*first)[1].shared_body);
  EXPECT_TRUE((*first)[1].body.is_null());
  // One body for both readers: nothing was copied.
  EXPECT_EQ((*first)[1].shared_body.get(), (*second)[1].shared_body.get());
  EXPECT_EQ((*first)[1].shared_body->value()["data"]["id"], "b");
  // read_events still gives each reader a body of its own.
  auto own = db.read_events(0, 0);
  ASSERT_TRUE(own);
  ASSERT_EQ(own->size(), 2u);
  EXPECT_FALSE((*own)[1].shared_body);
  EXPECT_EQ((*own)[1].body["data"]["id"], "b");
}

TEST_F(store_test, an_event_appended_as_text_alone_is_parsed_only_when_a_reader_looks_into_it) {
  auto& db = open();
  ASSERT_TRUE(db.read_events_shared(0, 0));
  auto text_only = event("t");
  text_only.body = nullptr;
  text_only.text = R"({"data": {"id": "t", "list": [1, 2]}})";
  ASSERT_TRUE(db.append_events({event("tree"), std::move(text_only)}));
  auto first = db.read_events_shared(0, 0);
  auto second = db.read_events_shared(0, 0);
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  ASSERT_EQ(first->size(), 2u);
  // A tree handed in stays a tree; the text waits for its first reader.
  EXPECT_TRUE((*first)[0].shared_body->parsed());
  const auto& body = (*first)[1].shared_body;
  EXPECT_FALSE(body->parsed());
  EXPECT_EQ(body.get(), (*second)[1].shared_body.get());
  EXPECT_EQ(body->value()["data"]["list"], nlohmann::json::array({1, 2}));
  EXPECT_TRUE(body->parsed());
  // The other reader sees the same parse, and a reader wanting its own body
  // gets a tree: from the cache, and from SQLite after a restart.
  EXPECT_EQ(&(*second)[1].shared_body->value(), &body->value());
  auto own = db.read_events(0, 0);
  ASSERT_TRUE(own);
  EXPECT_EQ((*own)[1].body["data"]["id"], "t");
  close();
  auto& reopened = open();
  auto disk = reopened.read_events(0, 0);
  ASSERT_TRUE(disk);
  ASSERT_EQ(disk->size(), 2u);
  EXPECT_EQ((*disk)[1].body, body->value());
}

// An envelope as the event sources build it: its context repeats the
// record's columns.
event_record sourced_event(std::string id) {
  auto e = event(std::move(id), "2024-05-01T10:00:00.250Z");
  e.body = {
      {"context",
       {{"datacontenttype", "application/json"},
        {"id", e.id},
        {"source", e.source},
        {"specversion", "1.0"},
        {"subject", e.subject},
        {"time", e.time},
        {"type", e.type}}},
      {"data", {{"body", {{"order", 7}, {"note", "gr\u00fc\u00dfe \"quoted\""}}}, {"key", ""}}}};
  return e;
}

// (typeof(body), length(body)) of each journal row, read beside the store.
std::vector<std::pair<std::string, std::int64_t>> stored_bodies(const fs::path& data_dir) {
  SQLite::Database raw((data_dir / "kairos.db").string(), SQLite::OPEN_READONLY);
  SQLite::Statement st(raw,
                       "SELECT typeof(body), length(CAST(body AS BLOB)) FROM events "
                       "ORDER BY sequence");
  std::vector<std::pair<std::string, std::int64_t>> out;
  while (st.executeStep())
    out.emplace_back(st.getColumn(0).getString(), st.getColumn(1).getInt64());
  return out;
}

TEST_F(store_test, a_row_leaves_out_the_context_its_columns_imply_and_reads_back_whole) {
  auto& db = open();
  const auto tree = sourced_event("as-tree");
  auto text = sourced_event("as-text");
  const auto expected = text.body;
  text.text = text.body.dump();
  text.body = nullptr;
  ASSERT_TRUE(db.append_events({tree, std::move(text)}));

  const auto whole = tree.body.dump().size();
  const auto rows = stored_bodies(settings_.data_dir);
  ASSERT_EQ(rows.size(), 2u);
  for (const auto& [type, size] : rows) {
    EXPECT_EQ(type, "blob");
    // Only the data and what follows it are stored.
    EXPECT_EQ(static_cast<std::size_t>(size), tree.body["data"].dump().size());
    EXPECT_LT(static_cast<std::size_t>(size) + 150, whole);
  }

  // From SQLite, by another store and after a restart, each way of reading.
  auto other = open_beside(settings_);
  ASSERT_TRUE(other);
  auto own = other->read_events(0, 0);
  ASSERT_TRUE(own);
  ASSERT_EQ(own->size(), 2u);
  EXPECT_EQ((*own)[0].body, tree.body);
  EXPECT_EQ((*own)[1].body, expected);
  EXPECT_EQ((*own)[1].body.dump(), expected.dump());
  auto shared = other->read_events_shared(0, 0);
  ASSERT_TRUE(shared);
  ASSERT_EQ(shared->size(), 2u);
  // Handed out as text, parsed by the first reader that looks into it.
  EXPECT_FALSE((*shared)[1].shared_body->parsed());
  EXPECT_EQ((*shared)[1].shared_body->value(), expected);
  EXPECT_EQ((*shared)[0].shared_body->value(), tree.body);
}

TEST_F(store_test, a_row_keeps_a_context_that_differs_from_its_columns) {
  auto& db = open();
  std::vector<event_record> batch;
  auto plain = sourced_event("plain-text");
  plain.body["context"]["datacontenttype"] = "text/plain";
  batch.push_back(plain);
  auto other_id = sourced_event("other-id");
  other_id.body["context"]["id"] = "not-the-column";
  batch.push_back(other_id);
  auto extra = sourced_event("extra");
  extra.body["context"]["dataschema"] = "https://example.test/schema";
  batch.push_back(extra);
  auto no_context = sourced_event("no-context");
  no_context.body.erase("context");
  batch.push_back(no_context);
  auto after_data = sourced_event("after-data");
  after_data.body["zz"] = 1;  // printed after the data: still implied, and kept
  batch.push_back(after_data);
  const auto appended = batch;
  ASSERT_TRUE(db.append_events(std::move(batch)));

  const auto rows = stored_bodies(settings_.data_dir);
  ASSERT_EQ(rows.size(), 5u);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(rows[i].first, "text") << appended[i].id;
  EXPECT_EQ(rows[4].first, "blob");
  close();
  auto& reopened = open();
  auto read = reopened.read_events(0, 0);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 5u);
  for (std::size_t i = 0; i < 5; ++i)
    EXPECT_EQ((*read)[i].body, appended[i].body) << appended[i].id;
}

TEST(event_body, text_is_parsed_once_whichever_thread_asks_first) {
  const auto body = std::make_shared<const event_body>(std::string(R"({"a":[1,2,3]})"));
  std::vector<const nlohmann::json*> seen(4);
  std::vector<std::thread> readers;
  for (std::size_t i = 0; i < seen.size(); ++i)
    readers.emplace_back([&, i] { seen[i] = &body->value(); });
  for (auto& r : readers) r.join();
  for (const auto* p : seen) EXPECT_EQ(p, seen[0]);
  EXPECT_EQ((*seen[0])["a"][2], 3);
  // Text that is not JSON reads as null rather than throwing in a reader.
  EXPECT_TRUE(event_body(std::string("{")).value().is_null());
}

TEST_F(store_test, shared_reads_of_events_not_in_memory_come_from_sqlite) {
  auto& db = open();
  ASSERT_TRUE(db.append_event(event("before-any-reader")));
  ASSERT_EQ(db.cached_events(), 0u);
  auto read = db.read_events_shared(0, 0);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 1u);
  ASSERT_TRUE((*read)[0].shared_body);
  EXPECT_TRUE((*read)[0].body.is_null());
  EXPECT_EQ((*read)[0].shared_body->value()["data"]["id"], "before-any-reader");
}

TEST_F(store_test, events_are_kept_in_memory_only_once_someone_reads_the_journal) {
  auto& db = open();
  ASSERT_TRUE(db.append_event(event("unread")));
  EXPECT_EQ(db.cached_events(), 0u);
  auto read = db.read_events(0, 0);
  ASSERT_TRUE(read);
  ASSERT_EQ(read->size(), 1u);
  ASSERT_TRUE(db.append_event(event("read")));
  EXPECT_EQ(db.cached_events(), 1u);
  auto next = db.read_events((*read)[0].sequence, 0);
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ((*next)[0].id, "read");
  EXPECT_EQ((*next)[0].body["data"]["id"], "read");
}

TEST_F(store_test, events_another_process_appends_between_ours_are_read_in_order) {
  auto& db = open();
  ASSERT_TRUE(db.read_events(0, 0));  // a reader: appends are kept in memory from now on
  auto other = open_beside(settings_);
  ASSERT_TRUE(other);
  ASSERT_TRUE(db.append_event(event("mine-1")));
  ASSERT_TRUE(other->append_event(event("theirs")));
  ASSERT_TRUE(db.append_event(event("mine-2")));
  ASSERT_TRUE(other->append_event(event("theirs-last")));

  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  std::vector<std::string> ids;
  for (const auto& e : *all) ids.push_back(e.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"mine-1", "theirs", "mine-2", "theirs-last"}));
  auto after_first = db.read_events((*all)[0].sequence, 2);
  ASSERT_TRUE(after_first);
  ASSERT_EQ(after_first->size(), 2u);
  EXPECT_EQ((*after_first)[0].id, "theirs");
  EXPECT_EQ((*after_first)[1].id, "mine-2");
  // After the last event this store appended, only SQLite knows the rest.
  auto after_mine = db.read_events((*all)[2].sequence, 0);
  ASSERT_TRUE(after_mine);
  ASSERT_EQ(after_mine->size(), 1u);
  EXPECT_EQ((*after_mine)[0].id, "theirs-last");
}

TEST_F(store_test, events_beyond_the_memory_bound_and_trimmed_ones_read_as_sqlite_has_them) {
  settings_.event_cache_events = 2;
  auto& db = open();
  ASSERT_TRUE(db.read_events(0, 0));  // a reader: appends are kept in memory from now on
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(db.append_event(event(numbered("old", i), "2024-01-01T00:00:00Z")));
  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ((*all)[i].id, numbered("old", i));

  auto trimmed = db.trim_events("2024-03-01T00:00:00Z", 0);
  ASSERT_TRUE(trimmed);
  EXPECT_EQ(*trimmed, 5u);
  auto left = db.read_events(0, 0);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
  auto next = db.append_event(event("new"));
  ASSERT_TRUE(next);
  EXPECT_GT(next->sequence, (*all)[4].sequence) << "a trimmed sequence was handed out again";
  auto after_trim = db.read_events(0, 0);
  ASSERT_TRUE(after_trim);
  ASSERT_EQ(after_trim->size(), 1u);
  EXPECT_EQ((*after_trim)[0].sequence, next->sequence);
}

// ---- state -------------------------------------------------------------------

TEST_F(store_test, state_put_get_replace_and_delete) {
  auto& db = open();
  auto absent = db.get_state("cron", "default", "nightly");
  ASSERT_TRUE(absent);
  EXPECT_FALSE(absent->has_value());

  ASSERT_TRUE(db.put_state("cron", "default", "nightly", {{"lastScheduleTime", "t1"}}));
  ASSERT_TRUE(db.put_state("sensor", "default", "nightly", {{"handled", 3}}));
  ASSERT_TRUE(db.put_state("cron", "default", "nightly", {{"lastScheduleTime", "t2"}}));
  auto got = db.get_state("cron", "default", "nightly");
  ASSERT_TRUE(got);
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((**got)["lastScheduleTime"], "t2");

  ASSERT_TRUE(db.delete_state("cron", "default", "nightly"));
  auto deleted = db.get_state("cron", "default", "nightly");
  ASSERT_TRUE(deleted);
  EXPECT_FALSE(deleted->has_value());
  auto other = db.get_state("sensor", "default", "nightly");
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->has_value());
  EXPECT_TRUE(db.delete_state("cron", "default", "nightly"));
}

TEST_F(store_test, states_put_without_waiting_commit_in_the_order_they_were_queued) {
  auto& db = open();
  ASSERT_TRUE(db.put_state("sensor", "default", "ci", {{"i", 0}}));
  db.pause_writer();
  callback_log<int> log;
  for (int i = 1; i <= 3; ++i)
    db.put_state_async("sensor", "default", "ci", {{"i", i}}, [&, i](result<void> r) {
      EXPECT_TRUE(r) << r.error().message;
      log.add(i);
    });
  // Queued, not committed: a reader still sees the state before them.
  auto before = db.get_state("sensor", "default", "ci");
  ASSERT_TRUE(before && before->has_value());
  EXPECT_EQ((**before)["i"], 0);
  EXPECT_TRUE(log.heard().empty());
  db.resume_writer();
  db.wait_until_idle();
  EXPECT_EQ(log.heard(), (std::vector<int>{1, 2, 3}));
  auto after = db.get_state("sensor", "default", "ci");
  ASSERT_TRUE(after && after->has_value());
  EXPECT_EQ((**after)["i"], 3);
}

TEST_F(store_test, a_state_put_without_waiting_hears_of_a_failed_commit) {
  auto& db = open();
  db.fail_next_commit();
  std::promise<result<void>> heard;
  db.put_state_async("sensor", "default", "ci", {{"i", 1}},
                     [&](result<void> r) { heard.set_value(std::move(r)); });
  EXPECT_FALSE(heard.get_future().get());
  auto got = db.get_state("sensor", "default", "ci");
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->has_value());
}

TEST_F(store_test, change_states_puts_and_deletes_in_one_transaction) {
  auto& db = open();
  ASSERT_TRUE(db.put_state("cron", "default", "old", {{"i", 0}}));
  const auto before = db.stats();
  std::vector<database::state_change> changes;
  changes.push_back({"default", "a", nlohmann::json{{"i", 1}}});
  changes.push_back({"default", "old", std::nullopt});
  changes.push_back({"other", "b", nlohmann::json{{"i", 2}}});
  changes.push_back({"default", "a", nlohmann::json{{"i", 3}}});  // the later change wins
  ASSERT_TRUE(db.change_states("cron", changes));
  EXPECT_EQ(db.stats().transactions - before.transactions, 1u);
  auto a = db.get_state("cron", "default", "a");
  ASSERT_TRUE(a && a->has_value());
  EXPECT_EQ((**a)["i"], 3);
  auto b = db.get_state("cron", "other", "b");
  ASSERT_TRUE(b && b->has_value());
  EXPECT_EQ((**b)["i"], 2);
  auto old = db.get_state("cron", "default", "old");
  ASSERT_TRUE(old);
  EXPECT_FALSE(old->has_value());
}

TEST_F(store_test, a_failed_commit_of_change_states_stores_none_of_them) {
  auto& db = open();
  db.fail_next_commit();
  std::vector<database::state_change> changes;
  changes.push_back({"default", "a", nlohmann::json{{"i", 1}}});
  changes.push_back({"default", "b", nlohmann::json{{"i", 2}}});
  EXPECT_FALSE(db.change_states("cron", changes));
  for (const char* name : {"a", "b"}) {
    auto got = db.get_state("cron", "default", name);
    ASSERT_TRUE(got);
    EXPECT_FALSE(got->has_value()) << name;
  }
}

TEST_F(store_test, resource_versions_are_listed_without_manifests) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("default", "b")));
  ASSERT_TRUE(db.create_resource(template_record("default", "a")));
  auto full = db.list_resources("WorkflowTemplate", "");
  auto versions = db.list_resource_versions("WorkflowTemplate", "");
  ASSERT_TRUE(full && versions);
  ASSERT_EQ(versions->size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*versions)[i].name, (*full)[i].name);
    EXPECT_EQ((*versions)[i].resource_version, (*full)[i].resource_version);
    EXPECT_EQ((*versions)[i].uid, (*full)[i].uid);
    EXPECT_TRUE((*versions)[i].body.is_null());
    EXPECT_FALSE((*full)[i].body.is_null());
  }
}

TEST_F(store_test, workflow_phases_reports_the_stored_ones_and_leaves_out_the_rest) {
  auto& db = open();
  auto running = workflow("default", "running");
  running.phase = "Running";
  auto done = workflow("default", "done");
  done.phase = "Succeeded";
  ASSERT_TRUE(db.create_workflow(running));
  ASSERT_TRUE(db.create_workflow(done));
  ASSERT_TRUE(db.create_workflow(workflow("other", "absent")));
  auto phases = db.workflow_phases("default", {"done", "absent", "running"});
  ASSERT_TRUE(phases);
  using pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(*phases, (pairs{{"done", "Succeeded"}, {"running", "Running"}}));
  auto none = db.workflow_phases("default", {});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(store_test, resource_generation_rises_with_every_resource_write_and_only_then) {
  auto& db = open();
  auto generation = [&] { return db.resource_generation().value(); };
  auto g = generation();
  ASSERT_TRUE(db.create_resource(template_record("default", "build")));
  EXPECT_GT(generation(), g);
  g = generation();
  ASSERT_TRUE(db.apply_resource(template_record("default", "build", "debian")));
  EXPECT_GT(generation(), g);
  g = generation();
  auto current = db.get_resource("WorkflowTemplate", "default", "build");
  ASSERT_TRUE(current);
  ASSERT_TRUE(db.update_resource(*current, current->resource_version));
  EXPECT_GT(generation(), g);
  g = generation();
  // Reads, states, events and workflows leave it alone.
  ASSERT_TRUE(db.list_resources("WorkflowTemplate", ""));
  ASSERT_TRUE(db.put_state("cron", "default", "x", {{"i", 1}}));
  ASSERT_TRUE(db.append_event(event("e")));
  EXPECT_EQ(generation(), g);
  ASSERT_TRUE(db.delete_resource("WorkflowTemplate", "default", "build"));
  EXPECT_GT(generation(), g);
  g = generation();
  // A write that fails may have changed nothing, but it still counts: a
  // reader never keeps a copy it cannot tell is current.
  EXPECT_FALSE(db.delete_resource("WorkflowTemplate", "default", "build"));
  EXPECT_GT(generation(), g);
}

// ---- the writer ----------------------------------------------------------------

TEST_F(store_test, concurrent_appends_all_land_with_unique_increasing_sequences) {
  auto& db = open();
  constexpr int threads = 8;
  constexpr int per_thread = 200;
  const auto before = db.stats();
  std::vector<std::vector<std::int64_t>> seen(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto r = db.append_event(event(numbered("t", t, i)));
        if (r) seen[t].push_back(r->sequence);
      }
    });
  }
  // A reader running beside the writer must only ever see whole events.
  std::size_t reads = 0;
  for (int i = 0; i < 20; ++i) {
    auto partial = db.read_events(0, 0);
    ASSERT_TRUE(partial) << partial.error().message;
    reads = std::max(reads, partial->size());
  }
  for (auto& w : workers) w.join();

  std::set<std::int64_t> unique;
  for (const auto& s : seen) {
    ASSERT_EQ(s.size(), static_cast<std::size_t>(per_thread));
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));  // each caller saw its own order kept
    unique.insert(s.begin(), s.end());
  }
  EXPECT_EQ(unique.size(), static_cast<std::size_t>(threads * per_thread));

  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), static_cast<std::size_t>(threads * per_thread));
  for (std::size_t i = 1; i < all->size(); ++i) {
    ASSERT_LT((*all)[i - 1].sequence, (*all)[i].sequence);
  }
  const auto after = db.stats();
  EXPECT_EQ(after.operations - before.operations, static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_LE(after.transactions - before.transactions, after.operations - before.operations);
}

// Starts `n` blocking calls on their own threads and returns once all of them
// are queued in front of the paused writer.
template <class F>
std::vector<std::thread> queue_calls(sqlite_database& db, std::size_t n, F call) {
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < n; ++i) threads.emplace_back(call, i);
  db.wait_until_queued(n);
  return threads;
}

TEST_F(store_test, queued_writes_commit_together_in_one_transaction) {
  auto& db = open();
  const auto before = db.stats();
  db.pause_writer();
  std::vector<result<append_outcome>> outcomes(6, make_error(errc::internal, "not run"));
  auto threads = queue_calls(db, 6, [&](std::size_t i) {
    outcomes[i] = db.append_event(event("batched-" + std::to_string(i)));
  });
  db.resume_writer();
  for (auto& t : threads) t.join();

  for (const auto& o : outcomes) EXPECT_TRUE(o) << o.error().message;
  const auto after = db.stats();
  EXPECT_EQ(after.transactions - before.transactions, 1u);
  EXPECT_EQ(after.operations - before.operations, 6u);
  EXPECT_GE(after.largest_batch, 6u);
  EXPECT_LT(after.transactions - before.transactions, after.operations - before.operations);
}

// Appends of one event each skip their savepoint and share one numbering
// query per transaction: within a transaction they still number in a row,
// a duplicate takes no number, and a transaction that fails to commit hands
// none of its numbers to the next one.
TEST_F(store_test,
       single_event_appends_in_one_transaction_number_in_a_row_and_a_failed_one_keeps_none) {
  auto& db = open();
  ASSERT_TRUE(db.append_event(event("first")));
  db.pause_writer();
  std::vector<result<append_outcome>> outcomes(5, make_error(errc::internal, "not run"));
  const std::vector<std::string> ids = {"p-0", "p-1", "first", "p-1", "p-2"};
  auto threads = queue_calls(db, ids.size(),
                             [&](std::size_t i) { outcomes[i] = db.append_event(event(ids[i])); });
  const auto before = db.stats();
  db.resume_writer();
  for (auto& t : threads) t.join();
  EXPECT_EQ(db.stats().transactions - before.transactions, 1u);
  std::vector<std::int64_t> fresh;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(outcomes[i]) << outcomes[i].error().message;
    if (!outcomes[i]->duplicate) fresh.push_back(outcomes[i]->sequence);
  }
  std::sort(fresh.begin(), fresh.end());
  EXPECT_EQ(fresh, (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(outcomes[2]->sequence, 1);

  db.fail_next_commit();
  db.pause_writer();
  std::vector<result<append_outcome>> lost(2, make_error(errc::internal, "not run"));
  threads = queue_calls(
      db, 2, [&](std::size_t i) { lost[i] = db.append_event(event("lost-" + std::to_string(i))); });
  db.resume_writer();
  for (auto& t : threads) t.join();
  for (const auto& o : lost) EXPECT_FALSE(o);
  auto next = db.append_event(event("after-failure"));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->sequence, 5) << "numbers of a rolled-back transaction were skipped";
  auto events = db.read_events(0, 0);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 5u);
  for (std::size_t i = 0; i < events->size(); ++i)
    EXPECT_EQ((*events)[i].sequence, static_cast<std::int64_t>(i + 1));
}

TEST_F(store_test, async_appends_are_called_back_after_their_shared_commit) {
  auto& db = open();
  const auto before = db.stats();
  db.pause_writer();
  callback_log<std::pair<std::string, result<std::vector<append_outcome>>>> log;
  const auto caller = std::this_thread::get_id();
  std::atomic<bool> on_caller_thread{false};
  for (const char* id : {"a1", "a2", "a1"}) {
    db.append_events_async({event(id)}, [&, id = std::string(id)](auto r) {
      if (std::this_thread::get_id() == caller) on_caller_thread = true;
      log.add({id, std::move(r)});
    });
  }
  EXPECT_TRUE(log.heard().empty()) << "nothing is answered before it is committed";
  db.resume_writer();
  ASSERT_TRUE(log.wait_for(3));
  const auto heard = log.heard();
  ASSERT_EQ(heard.size(), 3u);
  EXPECT_FALSE(on_caller_thread.load());
  for (const auto& [id, r] : heard) ASSERT_TRUE(r) << id << ": " << r.error().message;
  EXPECT_FALSE(heard[0].second->front().duplicate);
  EXPECT_FALSE(heard[1].second->front().duplicate);
  EXPECT_TRUE(heard[2].second->front().duplicate);
  EXPECT_EQ(heard[2].second->front().sequence, heard[0].second->front().sequence);
  EXPECT_EQ(db.stats().transactions - before.transactions, 1u);
  auto all = db.read_events(0, 0);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(store_test, async_append_refuses_a_bad_event_at_once_and_commits_a_queued_one_at_close) {
  auto& db = open();
  // Queued before the close: committed while the store drains its queue.
  db.pause_writer();
  std::optional<result<std::vector<append_outcome>>> queued;
  db.append_events_async({event("queued")}, [&](auto r) { queued = std::move(r); });
  std::optional<result<std::vector<append_outcome>>> invalid;
  db.append_events_async({event("")}, [&](auto r) { invalid = std::move(r); });
  ASSERT_TRUE(invalid.has_value());  // refused on the caller's thread
  EXPECT_FALSE(*invalid);
  db.resume_writer();
  close();
  ASSERT_TRUE(queued.has_value());
  EXPECT_TRUE(*queued) << queued->error().message;
}

TEST_F(store_test, batches_are_bounded_by_max_batch) {
  settings_.max_batch = 2;
  auto& db = open();
  const auto before = db.stats();
  db.pause_writer();
  auto threads = queue_calls(db, 5, [&](std::size_t i) {
    EXPECT_TRUE(db.put_state("cron", "default", numbered("c", static_cast<int>(i)), {{"i", i}}));
  });
  db.resume_writer();
  for (auto& t : threads) t.join();
  const auto after = db.stats();
  EXPECT_EQ(after.operations - before.operations, 5u);
  EXPECT_EQ(after.transactions - before.transactions, 3u);
  EXPECT_LE(after.largest_batch, 2u);
}

TEST_F(store_test, a_failing_operation_in_a_batch_does_not_fail_the_others) {
  auto& db = open();
  const auto before = db.stats();
  db.pause_writer();
  std::vector<result<resource_record>> creates(3, make_error(errc::internal, "not run"));
  result<append_outcome> appended = make_error(errc::internal, "not run");
  auto threads = queue_calls(db, 4, [&](std::size_t i) {
    if (i == 3) {
      appended = db.append_event(event("beside-a-failure"));
    } else {
      // Calls 0 and 1 clash on the same name; call 2 is unrelated.
      creates[i] = db.create_resource(template_record("default", i < 2 ? "same" : "other"));
    }
  });
  db.resume_writer();
  for (auto& t : threads) t.join();

  const int same_ok = (creates[0].ok() ? 1 : 0) + (creates[1].ok() ? 1 : 0);
  EXPECT_EQ(same_ok, 1);
  const auto& loser = creates[0].ok() ? creates[1] : creates[0];
  const auto& winner = creates[0].ok() ? creates[0] : creates[1];
  ASSERT_FALSE(loser);
  EXPECT_EQ(loser.error().code, errc::already_exists);
  EXPECT_EQ(loser.error().message, "WorkflowTemplate default/same already exists");
  EXPECT_TRUE(creates[2]) << creates[2].error().message;
  EXPECT_TRUE(appended) << appended.error().message;

  const auto after = db.stats();
  EXPECT_EQ(after.transactions - before.transactions, 1u);
  auto same = db.get_resource("WorkflowTemplate", "default", "same");
  ASSERT_TRUE(same);
  EXPECT_EQ(same->uid, winner->uid);
  EXPECT_TRUE(db.get_resource("WorkflowTemplate", "default", "other"));
  auto events = db.read_events(0, 0);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 1u);
}

TEST_F(store_test, a_failed_commit_fails_every_operation_in_the_batch) {
  auto& db = open();
  db.fail_next_commit();
  db.pause_writer();
  std::vector<result<void>> outcomes(3, result<void>());
  auto threads = queue_calls(db, 3, [&](std::size_t i) {
    outcomes[i] = db.put_state("sensor", "default", numbered("s", static_cast<int>(i)), {{"i", i}});
  });
  db.resume_writer();
  for (auto& t : threads) t.join();

  for (const auto& o : outcomes) {
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code, errc::unavailable);
  }
  EXPECT_EQ(db.stats().failed_transactions, 1u);
  for (int i = 0; i < 3; ++i) {
    auto got = db.get_state("sensor", "default", "s" + std::to_string(i));
    ASSERT_TRUE(got);
    EXPECT_FALSE(got->has_value());
  }
  // The store recovers: the next write commits.
  EXPECT_TRUE(db.put_state("sensor", "default", "s0", {{"i", 0}}));
  auto got = db.get_state("sensor", "default", "s0");
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->has_value());
}

TEST_F(store_test, closing_drains_queued_writes) {
  auto& db = open();
  db.pause_writer();
  std::vector<result<append_outcome>> outcomes(3, make_error(errc::internal, "not run"));
  auto threads = queue_calls(db, 3, [&](std::size_t i) {
    outcomes[i] = db.append_event(event("drained-" + std::to_string(i)));
  });
  close();  // still paused: closing must resume and drain
  for (auto& t : threads) t.join();
  for (const auto& o : outcomes) EXPECT_TRUE(o) << o.error().message;

  auto& reopened = open();
  auto events = reopened.read_events(0, 0);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 3u);
}

TEST_F(store_test, commit_window_still_commits_every_write) {
  settings_.commit_window = std::chrono::microseconds(200);
  auto& db = open();
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        EXPECT_TRUE(db.append_event(event(numbered("w", t, i))));
      }
    });
  }
  for (auto& w : workers) w.join();
  auto events = db.read_events(0, 0);
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 80u);
}

// ---- prepared statements ---------------------------------------------------------

// Runs `sql` on a second connection, beside the store.
void exec_beside(const fs::path& data_dir, const std::string& sql) {
  SQLite::Database raw((data_dir / "kairos.db").string(), SQLite::OPEN_READWRITE, 5000);
  raw.exec(sql);
}

TEST_F(store_test, repeated_reads_reuse_their_prepared_statements) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("default", "a", "one")));
  ASSERT_TRUE(db.create_resource(template_record("default", "b", "two")));
  ASSERT_TRUE(db.get_resource("WorkflowTemplate", "default", "a"));
  const auto prepared = db.reader_statements_prepared();
  EXPECT_GE(prepared, 1u);
  for (int i = 0; i < 5; ++i) {
    auto a = db.get_resource("WorkflowTemplate", "default", "a");
    auto b = db.get_resource("WorkflowTemplate", "default", "b");
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    // Bindings of one use never leak into the next.
    EXPECT_EQ(a->body["spec"]["image"], "one");
    EXPECT_EQ(b->body["spec"]["image"], "two");
  }
  auto missing = db.get_resource("WorkflowTemplate", "default", "c");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, errc::not_found);
  EXPECT_EQ(db.reader_statements_prepared(), prepared);
}

TEST_F(store_test, a_cached_statement_is_reused_after_a_read_that_failed) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("default", "a")));
  ASSERT_TRUE(db.create_resource(template_record("default", "b")));
  ASSERT_TRUE(db.list_resources("WorkflowTemplate", "default"));
  ASSERT_TRUE(db.get_resource("WorkflowTemplate", "default", "a"));
  const auto prepared = db.reader_statements_prepared();

  // A body that is not JSON makes both reads fail part way, the listing
  // with its statement still on a row.
  exec_beside(settings_.data_dir, "UPDATE resources SET body = 'not json' WHERE name = 'a'");
  auto broken = db.get_resource("WorkflowTemplate", "default", "a");
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error().code, errc::internal);
  ASSERT_FALSE(db.list_resources("WorkflowTemplate", "default"));

  // The statements were reset: the repair below is visible (no snapshot was
  // held open) and nothing was prepared again.
  exec_beside(settings_.data_dir,
              R"(UPDATE resources SET body = '{"spec":{"image":"fixed"}}' WHERE name = 'a')");
  auto fixed = db.get_resource("WorkflowTemplate", "default", "a");
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->body["spec"]["image"], "fixed");
  auto listed = db.list_resources("WorkflowTemplate", "default");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(db.reader_statements_prepared(), prepared);
}

TEST_F(store_test, a_cached_statement_still_works_after_the_schema_changes) {
  auto& db = open();
  ASSERT_TRUE(db.create_resource(template_record("default", "a", "before")));
  ASSERT_TRUE(db.get_resource("WorkflowTemplate", "default", "a"));
  ASSERT_TRUE(db.put_state("cron", "default", "a", {{"n", 1}}));

  exec_beside(settings_.data_dir,
              "ALTER TABLE resources ADD COLUMN note TEXT; "
              "CREATE INDEX resources_note ON resources (note)");
  ASSERT_TRUE(db.apply_resource(template_record("default", "a", "after")));
  ASSERT_TRUE(db.put_state("cron", "default", "a", {{"n", 2}}));
  auto got = db.get_resource("WorkflowTemplate", "default", "a");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->body["spec"]["image"], "after");
  auto state = db.get_state("cron", "default", "a");
  ASSERT_TRUE(state);
  ASSERT_TRUE(state->has_value());
  EXPECT_EQ((**state)["n"], 2);
}

TEST_F(store_test, concurrent_readers_each_get_their_own_rows) {
  auto& db = open();
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(
        db.create_resource(template_record("default", numbered("t", i), numbered("image-", i))));
  std::atomic<int> wrong{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&db, &wrong, t] {
      for (int round = 0; round < 50; ++round) {
        const int i = (round * 7 + t) % 20;
        auto r = db.get_resource("WorkflowTemplate", "default", numbered("t", i));
        if (!r || r->body["spec"]["image"] != numbered("image-", i)) ++wrong;
      }
    });
  }
  for (auto& r : readers) r.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST_F(store_test, open_fails_cleanly_when_the_data_dir_is_a_file) {
  fs::create_directories(dir_);
  { std::ofstream(dir_ / "file") << "x"; }
  settings_.data_dir = dir_ / "file";
  auto opened = database::open(settings_);
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code, errc::unavailable);
}

}  // namespace
}  // namespace kairos::store
