// GET of a workflow returns the node records the engine keeps apart from the
// workflow under status.nodes, as Argo shapes it.
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_test_client.hpp"
#include "kairos/api/server.hpp"
#include "kairos/core/clock.hpp"
#include "kairos/core/text.hpp"
#include "kairos/engine/pending_workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace kairos::api {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using verb = boost::beast::http::verb;

TEST(api_workflow_nodes, get_merges_stored_node_records_into_status_nodes) {
  const auto dir = fs::temp_directory_path() / ("kairos-api-nodes-" + random_suffix(10));
  store::settings ss;
  ss.data_dir = dir;
  auto db = store::database::open(ss);
  ASSERT_TRUE(db) << db.error().message;
  store::workflow_record w;
  w.namespace_ = "default";
  w.name = "with-nodes";
  w.uid = "uid-1";
  w.phase = "Running";
  w.body = {{"metadata", {{"name", "with-nodes"}, {"namespace", "default"}}},
            {"spec", {{"entrypoint", "main"}}},
            {"status", {{"phase", "Running"}}}};
  ASSERT_TRUE((*db)->create_workflow(w));
  ASSERT_TRUE((*db)->put_nodes({{"uid-1", "with-nodes", "with-nodes", "Running",
                                 json{{"id", "with-nodes"}, {"type", "DAG"}, {"phase", "Running"}}},
                                {"uid-1", "with-nodes-1", "with-nodes.a", "Succeeded",
                                 json{{"id", "with-nodes-1"}, {"phase", "Succeeded"}}}}));

  manual_clock clock;
  engine::pending_workflow_service workflows(**db, clock);
  server_settings settings;
  settings.port = 0;
  settings.handle_signals = false;
  server srv(settings, **db, workflows, clock);
  ASSERT_TRUE(srv.start());
  auto r = testing::send_once(srv.port(), verb::get, "/api/v1/workflows/default/with-nodes");
  srv.request_stop();
  srv.wait();
  auto body = r.json();
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_EQ(body["status"]["phase"], "Running");
  ASSERT_EQ(body["status"]["nodes"].size(), 2u);
  EXPECT_EQ(body["status"]["nodes"]["with-nodes-1"]["phase"], "Succeeded");
  EXPECT_EQ(body["status"]["nodes"]["with-nodes"]["type"], "DAG");
  db->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kairos::api
