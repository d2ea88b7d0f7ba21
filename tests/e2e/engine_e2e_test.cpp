// End to end for the engine: every example under manifests/examples runs
// through `kairos run -o json` and is checked against its own
// kairos.dev/expected-* annotations; a server killed with SIGKILL mid-run
// resumes its workflow; bad input is rejected or fails a node, and the
// server stays up.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <SQLiteCpp/SQLiteCpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_support.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

const fs::path examples_dir = KAIROS_EXAMPLES_DIR;

using namespace kairos::e2e;

// Parts of the engine that land separately; until they are in the build the
// engine says so and these tests have nothing to check.
bool engine_missing(const cli_result& r) {
  return r.err.find("not part of this build") != std::string::npos ||
         r.err.find("no local executor in this build") != std::string::npos ||
         r.out.find("no local executor in this build") != std::string::npos;
}

// Serves one fixed JSON body to every request, for the http template.
class tiny_http_server {
 public:
  tiny_http_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~tiny_http_server() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/health"; }

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[4096];
      while (request.find("\r\n\r\n") == std::string::npos) {
        auto n = ::recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      const std::string body = R"({"status":"green"})";
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Content-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      ::close(c);
    }
  }
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::map<std::string, const json*> nodes_by_display_name(const json& wf) {
  std::map<std::string, const json*> out;
  const auto& nodes = wf["status"]["nodes"];
  if (!nodes.is_object()) return out;
  for (const auto& [id, n] : nodes.items()) out[n.value("displayName", id)] = &n;
  return out;
}

json annotation(const json& wf, const std::string& key) {
  const auto& ann = wf["metadata"]["annotations"];
  if (!ann.is_object() || !ann.contains(key)) return json();
  return json::parse(ann[key].get<std::string>(), nullptr, false);
}

std::vector<std::string> example_files() {
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(examples_dir)) {
    if (e.path().extension() != ".yaml") continue;
    if (read_file(e.path()).find("kairos.dev/expected-phase") == std::string::npos) continue;
    files.push_back(e.path().filename().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

class engine_example : public ::testing::TestWithParam<std::string> {};

TEST_P(engine_example, runs_to_the_phase_nodes_and_outputs_it_declares) {
  temp_dir dir;
  const auto file = examples_dir / GetParam();
  std::vector<std::string> args{"run",  file.string(), "-o",
                                "json", "--data-dir",  (dir.path / "data").string()};
  std::optional<tiny_http_server> http;
  if (read_file(file).find("kairos.dev/needs: http-server") != std::string::npos) {
    http.emplace();
    args.insert(args.end(), {"-p", "url=" + http->url()});
  }
  auto r = run_cli(dir.path, args);
  if (engine_missing(r)) GTEST_SKIP() << r.err;
  auto wf = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(wf.is_object()) << "stdout: " << r.out << "\nstderr: " << r.err;
  const std::string message = wf["status"].value("message", "");
  if (read_file(file).find("kairos.dev/needs: private-mounts") != std::string::npos &&
      message.find("mount") != std::string::npos)
    GTEST_SKIP() << "no private mounts here: " << message;

  const auto& ann = wf["metadata"]["annotations"];
  const std::string expected_phase = ann.value("kairos.dev/expected-phase", "");
  EXPECT_EQ(wf["status"].value("phase", ""), expected_phase) << message << "\n" << r.err;
  EXPECT_EQ(r.code, expected_phase == "Succeeded" ? 0 : 1);

  auto nodes = nodes_by_display_name(wf);
  auto expected_nodes = annotation(wf, "kairos.dev/expected-nodes");
  for (const auto& [name, phase] : expected_nodes.items()) {
    ASSERT_TRUE(nodes.count(name)) << "no node " << name << " in " << wf["status"]["nodes"].dump();
    EXPECT_EQ(nodes[name]->value("phase", ""), phase.get<std::string>()) << "node " << name;
  }
  auto expected_outputs = annotation(wf, "kairos.dev/expected-outputs");
  for (const auto& [name, outputs] : expected_outputs.items()) {
    ASSERT_TRUE(nodes.count(name)) << "no node " << name;
    const auto& actual = (*nodes[name])["outputs"];
    if (outputs.contains("result")) {
      EXPECT_EQ(actual.value("result", ""), outputs["result"].get<std::string>()) << name;
    }
  }
  auto expected_globals = annotation(wf, "kairos.dev/expected-global-outputs");
  for (const auto& [name, value] : expected_globals.items()) {
    std::string actual;
    for (const auto& p : wf["status"]["outputs"]["parameters"])
      if (p.value("name", "") == name) actual = p.value("value", "");
    EXPECT_EQ(actual, value.get<std::string>()) << "workflow.outputs.parameters." << name;
  }
}

INSTANTIATE_TEST_SUITE_P(examples, engine_example, ::testing::ValuesIn(example_files()),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.find('.'));
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

std::size_t count_lines(const std::string& text, const std::string& line) {
  std::size_t n = 0;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (l == line) ++n;
  return n;
}

// Reads the marker file the nodes append to until `reached` holds for its
// text or `limit` passes; says which.
bool wait_for_markers(const fs::path& marker,
                      const std::function<bool(const std::string&)>& reached,
                      std::chrono::steady_clock::duration limit = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!reached(read_file(marker))) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

bool has_start(const std::string& text) {
  return count_lines(text, "start") > 0;
}

TEST(engine_e2e, a_server_killed_mid_run_resumes_and_reruns_no_succeeded_node) {
  // The nodes write markers the test reads, so the directory must not be
  // under /tmp (each node gets a private /tmp of its own; the checkout and
  // build may well be under /tmp too).
  temp_dir dir("kairos-engine-crash", "/var/tmp");
  const auto marker = dir.path / "markers.txt";
  write_file(dir.path / "crash.yaml",
             R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: crash-me
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: first, template: mark, arguments: {parameters: [{name: id, value: first}, {name: nap, value: "0"}]}}
          - {name: s1, depends: first, template: mark, arguments: {parameters: [{name: id, value: s1}, {name: nap, value: "2"}]}}
          - {name: s2, depends: first, template: mark, arguments: {parameters: [{name: id, value: s2}, {name: nap, value: "2"}]}}
          - {name: s3, depends: first, template: mark, arguments: {parameters: [{name: id, value: s3}, {name: nap, value: "2"}]}}
    - name: mark
      retryStrategy: {limit: "2", retryPolicy: Always}
      inputs:
        parameters: [{name: id}, {name: nap}]
      container:
        image: debian:12
        command: [sh, -c, "echo start {{inputs.parameters.id}} >> )" +
                 marker.string() +
                 R"(; sleep {{inputs.parameters.nap}}; echo done {{inputs.parameters.id}} >> )" +
                 marker.string() + R"("]
)");
  server s(dir.path);
  ASSERT_TRUE(s.running());
  auto submitted = s.cli({"submit", (dir.path / "crash.yaml").string()});
  if (engine_missing(submitted)) GTEST_SKIP() << submitted.err;
  ASSERT_EQ(submitted.code, 0) << submitted.err;
  // Kill once the three sleepers have started (and so `first` succeeded).
  wait_for_markers(marker, [](const std::string& text) {
    return count_lines(text, "start s1") + count_lines(text, "start s2") +
               count_lines(text, "start s3") ==
           3;
  });
  ASSERT_EQ(count_lines(read_file(marker), "done first"), 1u);
  s.kill();
  s.start();
  ASSERT_TRUE(s.running());
  auto waited = s.cli({"wait", "crash-me"}, 60s);
  EXPECT_EQ(waited.code, 0) << waited.out << waited.err;
  auto got = s.cli({"get", "crash-me", "-o", "json"});
  auto wf = json::parse(got.out, nullptr, false);
  ASSERT_TRUE(wf.is_object()) << got.out << got.err;
  EXPECT_EQ(wf["status"].value("phase", ""), "Succeeded");
  const auto text = read_file(marker);
  EXPECT_EQ(count_lines(text, "start first"), 1u) << text;
  for (const char* id : {"s1", "s2", "s3"})
    EXPECT_GE(count_lines(text, std::string("done ") + id), 1u) << text;
}

// `kairos run` opens its store and engine while it reads the manifest; a
// manifest that turns out invalid must still leave the data directory's
// unfinished workflows alone (they are resumed only by a run that goes on).
TEST(engine_e2e, run_of_an_invalid_manifest_names_the_place_and_resumes_nothing) {
  temp_dir dir("kairos-engine-bad-run", "/var/tmp");
  const auto marker = dir.path / "markers.txt";
  const auto data = dir.path / "data";
  write_file(dir.path / "long.yaml",
             R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: interrupted
spec:
  entrypoint: nap
  templates:
    - name: nap
      retryStrategy: {limit: "2", retryPolicy: Always}
      container:
        image: debian:12
        command: [sh, -c, "echo start >> )" +
                 marker.string() + R"(; sleep 30"]
)");
  write_file(dir.path / "bad.yaml", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: never
spec:
  entrypoint: main
  templatez: []
)");
  const pid_t first = spawn({"run", (dir.path / "long.yaml").string(), "--data-dir", data.string()},
                            dir.path / "first.out", dir.path / "first.err");
  wait_for_markers(marker, has_start);
  ::kill(first, SIGKILL);
  wait_exit(first, 10s);
  if (!has_start(read_file(marker))) {
    auto err = read_file(dir.path / "first.err");
    if (err.find("not part of this build") != std::string::npos) GTEST_SKIP() << err;
    FAIL() << "the node never started: " << err;
  }

  auto r =
      run_cli(dir.path, {"run", (dir.path / "bad.yaml").string(), "--data-dir", data.string()});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("bad.yaml:7:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("templatez"), std::string::npos) << r.err;

  // Resumed, the node would have been marked Error and retried at once.
  SQLite::Database db((data / "kairos.db").string(), SQLite::OPEN_READONLY);
  SQLite::Statement nodes(db, "SELECT phase FROM nodes WHERE body LIKE '%\"type\":\"Pod\"%'");
  std::vector<std::string> phases;
  while (nodes.executeStep()) phases.push_back(nodes.getColumn(0).getString());
  EXPECT_EQ(phases, std::vector<std::string>{"Running"});
  EXPECT_EQ(db.execAndGet("SELECT phase FROM workflows WHERE name = 'interrupted'").getString(),
            "Running");
  EXPECT_EQ(count_lines(read_file(marker), "start"), 1u);
}

// Two engines over one store would each take the other's running nodes for
// orphans of a crash and run them again: while one `kairos run` works in a
// data directory, a second run and a server there are refused before they
// touch it, and the first finishes as if alone.
TEST(engine_e2e, a_data_directory_in_use_is_refused_to_a_second_run_and_a_server) {
  temp_dir dir("kairos-engine-busy", "/var/tmp");
  const auto marker = dir.path / "markers.txt";
  const auto go = dir.path / "go";
  const auto data = dir.path / "data";
  fs::create_directories(dir.path / "manifests");
  write_file(dir.path / "long.yaml",
             R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: holder
spec:
  entrypoint: hold
  templates:
    - name: hold
      container:
        image: debian:12
        command: [sh, -c, "echo start >> )" +
                 marker.string() + R"(; while [ ! -e )" + go.string() +
                 R"( ]; do sleep 0.05; done; echo done >> )" + marker.string() + R"("]
)");
  write_file(dir.path / "other.yaml", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  name: intruder
spec:
  entrypoint: main
  templates:
    - name: main
      container:
        image: debian:12
        command: [sh, -c, "echo other >> )" +
                                          marker.string() + R"("]
)");
  const pid_t first =
      spawn({"run", (dir.path / "long.yaml").string(), "--data-dir", data.string(), "-o", "json"},
            dir.path / "first.out", dir.path / "first.err");
  if (!wait_for_markers(marker, has_start)) {
    write_file(go, "");
    wait_exit_or_kill(first, 10s);
    auto err = read_file(dir.path / "first.err");
    if (err.find("not part of this build") != std::string::npos) GTEST_SKIP() << err;
    FAIL() << "the node never started: " << err;
  }
  const std::string refusal =
      "in use by another kairos process (pid " + std::to_string(first) + ")";

  auto run = run_cli(dir.path,
                     {"run", (dir.path / "other.yaml").string(), "--data-dir", data.string()}, 30s);
  EXPECT_EQ(run.code, 1) << run.out << run.err;
  EXPECT_NE(run.err.find(refusal), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(data.string()), std::string::npos) << run.err;

  auto serve =
      run_cli(dir.path,
              {"serve", "--listen", "127.0.0.1:0", "--webhook-address", "127.0.0.1", "--data-dir",
               data.string(), "--manifests", (dir.path / "manifests").string()},
              30s);
  EXPECT_EQ(serve.code, 1) << serve.out << serve.err;
  EXPECT_NE(serve.err.find(refusal), std::string::npos) << serve.err;

  write_file(go, "");
  EXPECT_EQ(wait_exit_or_kill(first, 60s), 0) << read_file(dir.path / "first.err");
  auto wf = json::parse(read_file(dir.path / "first.out"), nullptr, false);
  ASSERT_TRUE(wf.is_object()) << read_file(dir.path / "first.out");
  EXPECT_EQ(wf["status"].value("phase", ""), "Succeeded");
  const auto text = read_file(marker);
  EXPECT_EQ(count_lines(text, "start"), 1u) << text;
  EXPECT_EQ(count_lines(text, "done"), 1u) << text;
  EXPECT_EQ(count_lines(text, "other"), 0u) << text;

  // The lock went with its holder: the directory takes the next run.
  auto after =
      run_cli(dir.path, {"run", (dir.path / "other.yaml").string(), "--data-dir", data.string()});
  EXPECT_EQ(after.code, 0) << after.out << after.err;
  EXPECT_EQ(count_lines(read_file(marker), "other"), 1u);
}

struct bad_case {
  const char* name;
  const char* manifest;
  const char* expected_text;  // in the submit error or in a node's message
};

TEST(engine_e2e, bad_input_is_rejected_or_fails_its_node_and_the_server_stays_up) {
  temp_dir dir;
  server s(dir.path);
  ASSERT_TRUE(s.running());
  const bad_case cases[] = {
      {"cycle", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad-cycle}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t, dependencies: [b]}
          - {name: b, template: t, dependencies: [a]}
    - name: t
      container: {image: debian:12, command: ["true"]}
)",
       "cycle"},
      {"missing-template", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad-missing-template}
spec:
  entrypoint: main
  templates:
    - name: main
      steps:
        - - {name: a, template: nowhere}
)",
       "nowhere"},
      {"unknown-dependency", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad-unknown-dependency}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: a, template: t, dependencies: [ghost]}
    - name: t
      container: {image: debian:12, command: ["true"]}
)",
       "ghost"},
      {"undefined-parameter", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad-undefined-parameter}
spec:
  entrypoint: t
  templates:
    - name: t
      container: {image: debian:12, command: [echo, "{{workflow.parameters.nope}}"]}
)",
       "workflow.parameters.nope"},
      {"non-json-with-param", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad-with-param}
spec:
  entrypoint: main
  templates:
    - name: main
      dag:
        tasks:
          - {name: gen, template: gen}
          - {name: each, depends: gen, template: t, withParam: "{{tasks.gen.outputs.result}}"}
    - name: gen
      container: {image: debian:12, command: [echo, "not json"]}
    - name: t
      container: {image: debian:12, command: ["true"]}
)",
       "withParam"},
      {"invalid-expression", R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: bad-expression}
spec:
  entrypoint: t
  templates:
    - name: t
      container: {image: debian:12, command: [echo, "{{=1 +* 2}}"]}
)",
       "expression"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto file = dir.path / (std::string(c.name) + ".yaml");
    write_file(file, c.manifest);
    auto r = s.cli({"submit", file.string(), "--wait"}, 60s);
    if (engine_missing(r)) GTEST_SKIP() << r.err;
    if (r.code != 0 && r.out.empty()) {
      // Rejected at submit.
      EXPECT_NE(r.err.find(c.expected_text), std::string::npos) << r.err;
    } else {
      std::string name =
          std::string("bad-") + (std::string(c.name) == "non-json-with-param"  ? "with-param"
                                 : std::string(c.name) == "invalid-expression" ? "expression"
                                                                               : c.name);
      auto got = s.cli({"get", name, "-o", "json"});
      auto wf = json::parse(got.out, nullptr, false);
      ASSERT_TRUE(wf.is_object()) << got.out << got.err;
      EXPECT_NE(wf["status"].value("phase", ""), "Succeeded");
      bool found = wf["status"].value("message", "").find(c.expected_text) != std::string::npos;
      for (const auto& [id, n] : wf["status"]["nodes"].items())
        if (n.value("message", "").find(c.expected_text) != std::string::npos) found = true;
      EXPECT_TRUE(found) << wf["status"].dump();
    }
    EXPECT_TRUE(s.running());
  }
  EXPECT_EQ(s.cli({"list"}).code, 0);
}

// Before: a node printing Latin-1 made the engine's JSON printing throw
// when the fan-out's results were gathered, and the server aborted; a stray
// ',' after a manifest's top-level node made yaml-cpp loop without end.
TEST(engine_e2e, bytes_that_are_not_utf8_and_stray_tokens_fail_nothing_but_themselves) {
  temp_dir dir;
  server s(dir.path);
  ASSERT_TRUE(s.running());
  const auto fan = dir.path / "latin1.yaml";
  write_file(fan, R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: latin1}
spec:
  entrypoint: main
  templates:
    - name: emit
      container: {image: debian:12, command: [printf, "caf\\351"]}
    - name: show
      inputs: {parameters: [{name: v}]}
      container: {image: debian:12, command: [echo, "{{inputs.parameters.v}}"]}
    - name: main
      dag:
        tasks:
          - {name: fan, template: emit, withItems: [1, 2]}
          - name: after
            template: show
            depends: fan
            arguments: {parameters: [{name: v, value: "{{tasks.fan.outputs.result}}"}]}
)");
  auto r = s.cli({"submit", fan.string(), "--wait"}, 60s);
  if (engine_missing(r)) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  ASSERT_TRUE(s.running());
  auto got = s.cli({"get", "latin1", "-o", "json"});
  auto wf = json::parse(got.out, nullptr, false);
  ASSERT_TRUE(wf.is_object()) << got.out << got.err;
  EXPECT_EQ(wf["status"].value("phase", ""), "Succeeded") << wf["status"].dump();
  const std::string cafe = "caf\xEF\xBF\xBD";
  int fanned = 0;
  for (const auto& [id, n] : wf["status"]["nodes"].items()) {
    if (n.value("displayName", "") == "after")
      EXPECT_EQ(n["outputs"].value("result", ""), "[\"" + cafe + "\",\"" + cafe + "\"]");
    if (n.value("displayName", "").rfind("fan(", 0) == 0) {
      EXPECT_EQ(n["outputs"].value("result", ""), cafe);
      ++fanned;
    }
  }
  EXPECT_EQ(fanned, 2) << wf["status"].dump();

  const auto stray = dir.path / "stray.yaml";
  write_file(stray, "- a\n,\n");
  auto rejected = s.cli({"submit", stray.string()}, 30s);
  EXPECT_EQ(rejected.code, 1);
  EXPECT_NE(rejected.err.find("stray.yaml:2:1: invalid YAML: unexpected ','"), std::string::npos)
      << rejected.err;
  EXPECT_TRUE(s.running());
}

// Before: the list API leaves out nodes, and `list -o wide` counted pods
// from them, so P/R/C read 0/0/0 for every workflow.
TEST(engine_e2e, list_wide_counts_pods_by_phase_and_get_shows_argo_progress) {
  temp_dir dir;
  server s(dir.path);
  ASSERT_TRUE(s.running());
  const auto file = dir.path / "tolerant.yaml";
  write_file(file, R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: tolerant}
spec:
  entrypoint: main
  templates:
    - name: ok
      container: {image: debian:12, command: ["true"]}
    - name: broken
      container: {image: debian:12, command: ["false"]}
    - name: main
      dag:
        tasks:
          - {name: a, template: ok}
          - {name: b, template: broken, continueOn: {failed: true}}
)");
  auto r = s.cli({"submit", file.string(), "--wait"}, 60s);
  if (engine_missing(r)) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.code, 0) << r.out << r.err;

  auto wide = s.cli({"list", "-o", "wide"});
  ASSERT_EQ(wide.code, 0) << wide.err;
  const auto row = wide.out.substr(wide.out.find("tolerant"));
  EXPECT_NE(row.substr(0, row.find('\n')).find(" 0/0/2"), std::string::npos) << wide.out;
  // A failed pod has completed, but Argo's progress counts only finished work.
  auto get = s.cli({"get", "tolerant"});
  EXPECT_NE(get.out.find("Progress:            1/2\n"), std::string::npos) << get.out;
  auto json_out = s.cli({"get", "tolerant", "-o", "json"});
  auto wf = json::parse(json_out.out, nullptr, false);
  ASSERT_TRUE(wf.is_object()) << json_out.out;
  EXPECT_EQ(wf["status"].value("progress", ""), "1/2");
  // The list has no nodes, yet carries the same progress.
  auto listed = s.cli({"list", "-o", "json"});
  auto items = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(items.is_array() && items.size() == 1) << listed.out;
  EXPECT_EQ(items[0]["status"].value("progress", ""), "1/2");
  EXPECT_FALSE(items[0]["status"].contains("nodes"));
}

TEST(engine_e2e, a_pod_reports_its_progress_through_argo_progress_file_into_get_and_list) {
  temp_dir dir;
  server s(dir.path);
  ASSERT_TRUE(s.running());
  const auto file = dir.path / "reporting.yaml";
  write_file(file, R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: reporting}
spec:
  entrypoint: main
  templates:
    - name: report
      inputs: {parameters: [{name: figure}, {name: code}]}
      container:
        image: debian:12
        command: [sh, -c, 'echo "$0" > "$ARGO_PROGRESS_FILE"; exit "$1"']
        args: ["{{inputs.parameters.figure}}", "{{inputs.parameters.code}}"]
    - name: main
      dag:
        tasks:
          - name: stuck
            template: report
            continueOn: {failed: true}
            arguments: {parameters: [{name: figure, value: 3/10}, {name: code, value: "1"}]}
          - name: done
            template: report
            arguments: {parameters: [{name: figure, value: 2/5}, {name: code, value: "0"}]}
          - name: garbled
            template: report
            arguments: {parameters: [{name: figure, value: 7/2}, {name: code, value: "0"}]}
)");
  auto r = s.cli({"submit", file.string(), "--wait"}, 60s);
  if (engine_missing(r)) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.code, 0) << r.out << r.err;

  // A failed pod keeps the figure it last reported; a succeeded one is made
  // whole; one that reported nonsense counts as a plain pod.
  auto json_out = s.cli({"get", "reporting", "-o", "json"});
  auto wf = json::parse(json_out.out, nullptr, false);
  ASSERT_TRUE(wf.is_object()) << json_out.out;
  const auto nodes = nodes_by_display_name(wf);
  ASSERT_EQ(nodes.count("stuck"), 1u) << json_out.out;
  EXPECT_EQ(nodes.at("stuck")->value("phase", ""), "Failed");
  EXPECT_EQ(nodes.at("stuck")->value("progress", ""), "3/10");
  EXPECT_EQ(nodes.at("done")->value("progress", ""), "5/5");
  EXPECT_EQ(nodes.at("garbled")->value("progress", ""), "1/1");
  EXPECT_EQ(wf["status"].value("progress", ""), "9/16");
  auto listed = s.cli({"list", "-o", "json"});
  auto items = json::parse(listed.out, nullptr, false);
  ASSERT_TRUE(items.is_array() && items.size() == 1) << listed.out;
  EXPECT_EQ(items[0]["status"].value("progress", ""), "9/16");
}

TEST(engine_e2e, a_running_pod_reports_progress_that_get_and_list_show_before_it_ends) {
  temp_dir dir;
  server s(dir.path);
  ASSERT_TRUE(s.running());
  const auto file = dir.path / "long.yaml";
  write_file(file, R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: long}
spec:
  entrypoint: work
  templates:
    - name: work
      container:
        image: debian:12
        command: [sh, -c, 'echo 1/4 > "$ARGO_PROGRESS_FILE"; exec sleep 100']
)");
  auto r = s.cli({"submit", file.string()});
  if (engine_missing(r)) GTEST_SKIP() << r.err;
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  // The executor reads the file every 3 s; the figure is stored and shown
  // while the node still runs.
  json wf;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  for (;;) {
    wf = json::parse(s.cli({"get", "long", "-o", "json"}).out, nullptr, false);
    if (wf.is_object() && wf["status"].value("progress", "") == "1/4") break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << wf.dump();
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(wf["status"].value("phase", ""), "Running");
  auto listed = json::parse(s.cli({"list", "-o", "json"}).out, nullptr, false);
  ASSERT_TRUE(listed.is_array() && listed.size() == 1) << listed.dump();
  EXPECT_EQ(listed[0]["status"].value("progress", ""), "1/4");
  // Terminated, it fails with the figure it last reported.
  EXPECT_EQ(s.cli({"terminate", "long"}).code, 0);
  s.cli({"wait", "long"}, 60s);  // its exit code says Failed
  wf = json::parse(s.cli({"get", "long", "-o", "json"}).out, nullptr, false);
  ASSERT_TRUE(wf.is_object());
  EXPECT_EQ(wf["status"].value("phase", ""), "Failed");
  EXPECT_EQ(wf["status"].value("progress", ""), "1/4");
}

}  // namespace
