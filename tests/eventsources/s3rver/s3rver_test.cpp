// s3rver (npm) as a real S3 implementation: objects put with the AWS SDK
// must arrive as events through the minio source (signed ListObjectsV2),
// and s3rver's own event records, posted to a plain webhook source, through
// the push path. Needs `node` and `npm ci --prefix tests/s3rver`.

#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "kairos/core/json_path.hpp"
#include "manager_fixture.hpp"

namespace {

const std::filesystem::path dir = KAIROS_S3RVER_DIR;

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buffer[4096];
  while (std::fgets(buffer, sizeof buffer, p)) out += buffer;
  pclose(p);
  return out;
}

class s3rver : public kairos::testing::manager_fixture {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(dir / "node_modules" / "s3rver") ||
        !std::filesystem::exists(dir / "node_modules" / "@aws-sdk" / "client-s3"))
      GTEST_SKIP() << "s3rver is not installed: run `npm ci --prefix tests/s3rver`";
    if (run("command -v node").empty()) GTEST_SKIP() << "node is not installed";
    manager_fixture::SetUp();
    // s3rver refuses signatures more than 15 minutes off its own clock.
    clock_.set(std::chrono::system_clock::now());
  }
  void TearDown() override {
    if (pid_ > 0) kill(pid_, SIGTERM);
    if (server_) pclose(server_);
    manager_fixture::TearDown();
  }

  void start_s3rver(const std::string& webhook_url) {
    server_ = popen(
        ("cd '" + dir.string() + "' && exec node server.js '" + webhook_url + "'").c_str(), "r");
    ASSERT_NE(server_, nullptr);
    char line[256] = {};
    ASSERT_NE(std::fgets(line, sizeof line, server_), nullptr) << "s3rver did not start";
    const auto started = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(started.is_object()) << line;
    s3_port_ = started["port"].get<int>();
    pid_ = started["pid"].get<int>();
  }

  std::string put(const std::string& key, const std::string& body) {
    const auto out = nlohmann::json::parse(
        run("cd '" + dir.string() + "' && node put.js " + std::to_string(s3_port_) + " uploads '" +
            key + "' '" + body + "'"),
        nullptr, false);
    EXPECT_TRUE(out.is_object()) << "put " << key << " failed";
    return out.is_object() ? out.value("etag", "") : "";
  }

  std::vector<nlohmann::json> events_of(const std::string& source) {
    std::vector<nlohmann::json> out;
    for (const auto& e : store_.events()) {
      auto doc = e.body;
      if (doc["context"]["source"] == source) out.push_back(std::move(doc));
    }
    return out;
  }

  // s3rver posts its records asynchronously after answering the put; this
  // waits for that I/O (bounded), not for time to pass.
  std::vector<nlohmann::json> await_events(const std::string& source, std::size_t n) {
    for (int i = 0; i < 500; ++i) {
      auto events = events_of(source);
      if (events.size() >= n) return events;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return events_of(source);
  }

  FILE* server_ = nullptr;
  int pid_ = 0;
  int s3_port_ = 0;
};

TEST_F(s3rver, sdk_puts_arrive_through_the_minio_source_and_the_webhook_push_path) {
  start();
  apply(
      "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata:\n  name: s3-push\n"
      "  namespace: ns\nspec:\n  webhook:\n    put:\n      endpoint: /minio\n"
      "      port: \"12000\"\n      method: POST\n");
  start_s3rver("http://127.0.0.1:" + std::to_string(port(12000)) + "/minio");
  ASSERT_GT(s3_port_, 0);

  const std::string seed_etag = put("seed.txt", "present before the source");
  ASSERT_FALSE(seed_etag.empty());
  store_.write_secret("s3rver", "access", "S3RVER");
  store_.write_secret("s3rver", "secret", "S3RVER");
  apply(
      "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata:\n  name: s3-poll\n"
      "  namespace: ns\nspec:\n  minio:\n    uploads:\n      endpoint: 127.0.0.1:" +
      std::to_string(s3_port_) +
      "\n      insecure: true\n      bucket: {name: uploads}\n"
      "      accessKey: {name: s3rver, key: access}\n"
      "      secretKey: {name: s3rver, key: secret}\n"
      "      events: [\"s3:ObjectCreated:*\"]\n      filter: {prefix: in/}\n"
      "      pollInterval: 10s\n");
  ASSERT_TRUE(manager_->errors().empty()) << manager_->errors()[0];

  const std::string a_etag = put("in/a.csv", "alpha");
  const std::string b_etag = put("in/b.csv", "beta");
  clock_.advance(std::chrono::seconds(10));
  manager_->check_timers();

  const auto polled = events_of("s3-poll");
  ASSERT_EQ(polled.size(), 2u);
  std::map<std::string, std::string> etags;
  for (const auto& e : polled) {
    const auto& object = e["data"]["notification"][0]["s3"]["object"];
    etags[object["key"].get<std::string>()] = object["eTag"].get<std::string>();
    EXPECT_EQ(e["data"]["notification"][0]["eventName"], "s3:ObjectCreated:Put");
  }
  EXPECT_EQ("\"" + etags["in%2Fa.csv"] + "\"", a_etag);
  EXPECT_EQ("\"" + etags["in%2Fb.csv"] + "\"", b_etag);

  // Nothing changed: the next listing emits nothing.
  clock_.advance(std::chrono::seconds(10));
  manager_->check_timers();
  EXPECT_EQ(events_of("s3-poll").size(), 2u);

  // Push path: s3rver's record for each put, as MinIO's webhook target posts it.
  const auto pushed = await_events("s3-push", 3);
  ASSERT_EQ(pushed.size(), 3u);
  std::set<std::string> keys;
  for (const auto& e : pushed)
    keys.insert(kairos::json_path::get_string(e["data"], "body.Records.0.s3.object.key"));
  EXPECT_TRUE(keys.count("in/a.csv")) << *keys.begin();
  EXPECT_TRUE(keys.count("seed.txt"));
}

}  // namespace
