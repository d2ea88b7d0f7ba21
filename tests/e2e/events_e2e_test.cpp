// End to end for events: a signed GitHub push posted to the real server's
// webhook becomes a workflow with the push's parameters that succeeds; a
// server killed with SIGKILL as soon as the 200 arrives, and again right
// after the trigger, ends with exactly one workflow.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <nlohmann/json.hpp>

#include "e2e_support.hpp"
#include "kairos/core/http_client.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;
using namespace kairos::e2e;

const std::string secret = "e2e-webhook-secret";

// A port nobody listens on right now, for the EventSource's webhook.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string hmac_sha256_hex(const std::string& key, const std::string& body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) {
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 15];
  }
  return hex;
}

void write_event_source(const fs::path& dir, int port) {
  write_file(dir / "manifests" / "github.yaml", R"(apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: github
spec:
  github:
    ci:
      webhook:
        endpoint: /push
        method: POST
        port: ")" + std::to_string(port) + R"("
      events: [push]
      webhookSecret: {name: hook, key: secret}
)");
  write_file(dir / "data" / "secrets" / "hook" / "secret", secret);
}

void write_pipeline(const fs::path& dir) {
  write_file(dir / "manifests" / "ci.yaml", R"(apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata:
  name: ci
spec:
  entrypoint: main
  arguments:
    parameters: [{name: ref, value: none}, {name: sha, value: none}]
  templates:
    - name: main
      # A kill can land after the node started; the restarted server marks
      # it Error ("the executor restarted") and this retry runs it again.
      retryStrategy: {limit: 2, retryPolicy: Always}
      container:
        image: debian:12
        command: [sh, -c, 'test -n "$SHA" && echo "built $REF at $SHA"']
        env:
          - {name: REF, value: "{{workflow.parameters.ref}}"}
          - {name: SHA, value: "{{workflow.parameters.sha}}"}
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: ci
spec:
  dependencies:
    - {name: push, eventSourceName: github, eventName: ci}
  triggers:
    - template:
        name: build
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {generateName: ci-}
              spec:
                workflowTemplateRef: {name: ci}
                arguments:
                  parameters: [{name: ref}, {name: sha}]
          parameters:
            - src: {dependencyName: push, dataKey: body.ref}
              dest: spec.arguments.parameters.0.value
            - src: {dependencyName: push, dataKey: body.after}
              dest: spec.arguments.parameters.1.value
)");
}

kairos::result<kairos::http_client::response> post_push(int port, const std::string& delivery,
                                                        const std::string& body) {
  kairos::http_client::request r;
  r.method = "POST";
  r.url = "http://127.0.0.1:" + std::to_string(port) + "/push";
  r.headers = {{"Content-Type", "application/json"},
               {"X-GitHub-Event", "push"},
               {"X-GitHub-Delivery", delivery},
               {"X-Hub-Signature-256", "sha256=" + hmac_sha256_hex(secret, body)}};
  r.body = body;
  r.timeout = 10s;
  return kairos::http_client::perform(r);
}

// The workflows the server holds, through the API.
json workflows(const server& s) {
  kairos::http_client::request r;
  r.url = s.url() + "/api/v1/workflows/default";
  auto res = kairos::http_client::perform(r);
  if (!res || res->status != 200) return json::array();
  auto body = json::parse(res->body, nullptr, false);
  if (!body.is_object() || !body["items"].is_array()) return json::array();
  return body["items"];
}

// Waits (on the server, a separate process) until `pred` holds.
template <typename Pred>
bool eventually(Pred pred, std::chrono::seconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

std::string parameter(const json& wf, const std::string& name) {
  for (const auto& p : wf["spec"]["arguments"]["parameters"])
    if (p.value("name", "") == name) return p.value("value", "");
  return "";
}

TEST(events_e2e, a_signed_github_push_runs_the_ci_workflow_with_its_ref_and_sha) {
  temp_dir dir("kairos-events-e2e");
  const int hook_port = free_port();
  write_event_source(dir.path, hook_port);
  write_pipeline(dir.path);
  server s(dir.path);
  ASSERT_TRUE(s.running()) << read_file(dir.path / "server-1.err");

  const std::string body = R"({"ref":"refs/heads/main","after":"c0ffee1","repository":{}})";
  kairos::result<kairos::http_client::response> posted =
      kairos::make_error(kairos::errc::unavailable, "not sent");
  ASSERT_TRUE(eventually([&] {
    posted = post_push(hook_port, "delivery-1", body);
    return posted.ok();
  }));
  ASSERT_EQ(posted->status, 200) << posted->body;

  json wf;
  ASSERT_TRUE(eventually([&] {
    auto items = workflows(s);
    if (items.size() != 1) return false;
    wf = items[0];
    auto phase = wf["status"].value("phase", "");
    return phase == "Succeeded" || phase == "Failed" || phase == "Error";
  })) << workflows(s).dump();
  EXPECT_EQ(wf["status"].value("phase", ""), "Succeeded") << wf.dump();
  EXPECT_EQ(parameter(wf, "ref"), "refs/heads/main");
  EXPECT_EQ(parameter(wf, "sha"), "c0ffee1");

  // A redelivery is answered 200 and starts nothing new.
  auto again = post_push(hook_port, "delivery-1", body);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
  auto bad = post_push(hook_port, "delivery-2", body + " ");
  ASSERT_TRUE(bad.ok());
  auto tampered = kairos::http_client::request{};
  tampered.method = "POST";
  tampered.url = "http://127.0.0.1:" + std::to_string(hook_port) + "/push";
  tampered.headers = {{"X-GitHub-Event", "push"},
                      {"X-GitHub-Delivery", "delivery-3"},
                      {"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}};
  tampered.body = body;
  auto rejected = kairos::http_client::perform(tampered);
  ASSERT_TRUE(rejected.ok());
  EXPECT_EQ(rejected->status, 401);
  auto events = s.cli({"events", "list"});
  EXPECT_EQ(events.code, 0) << events.err;
  EXPECT_NE(events.out.find("default/ci:build"), std::string::npos) << events.out;
  auto raw = s.cli({"events", "list", "-o", "json"});
  EXPECT_EQ(raw.code, 0) << raw.err;
  const json listed = json::parse(raw.out, nullptr, false);
  ASSERT_TRUE(listed.contains("items")) << raw.out;
  EXPECT_EQ(raw.out, listed.dump(2) + "\n") << "printed as nlohmann's dump(2)";
  EXPECT_EQ(workflows(s).size(), 2u) << "delivery-2 is a new push with a valid signature";
}

TEST(events_e2e, a_server_killed_after_the_200_and_before_the_trigger_submits_exactly_once) {
  temp_dir dir("kairos-events-crash");
  const int hook_port = free_port();
  write_event_source(dir.path, hook_port);
  write_pipeline(dir.path);
  {
    // SIGKILL the moment the 200 arrives: the event is committed, the
    // trigger has at most just begun.
    server s(dir.path);
    ASSERT_TRUE(s.running());
    const std::string body = R"({"ref":"refs/heads/release","after":"abc1234"})";
    kairos::result<kairos::http_client::response> posted =
        kairos::make_error(kairos::errc::unavailable, "not sent");
    ASSERT_TRUE(eventually([&] {
      posted = post_push(hook_port, "delivery-crash", body);
      return posted.ok();
    }));
    s.kill();
    ASSERT_EQ(posted->status, 200) << posted->body;
  }
  server s(dir.path);
  ASSERT_TRUE(s.running());
  json items;
  ASSERT_TRUE(eventually([&] {
    items = workflows(s);
    return !items.empty() && items[0]["status"].value("phase", "") == "Succeeded";
  })) << items.dump();
  // Killed again right after the trigger: the replay must not submit twice.
  s.kill();
  s.start();
  ASSERT_TRUE(s.running());
  ASSERT_TRUE(eventually([&] { return workflows(s).size() >= 1; }));
  // The restarted sensor reads the journal within its first poll; a second
  // workflow would show up within these seconds.
  EXPECT_FALSE(eventually([&] { return workflows(s).size() > 1; }, 3s));
  items = workflows(s);
  ASSERT_EQ(items.size(), 1u) << items.dump();
  EXPECT_EQ(parameter(items[0], "sha"), "abc1234");
}

}  // namespace
