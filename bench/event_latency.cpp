// Event-to-workflow-start latency (issue 5: under 10 ms at p99). The real
// pieces of `kairos serve`, wired in-process as cli/services.cpp does: a
// store, the event-source manager with a webhook EventSource, the sensor
// manager with an argoWorkflow trigger, and the engine runtime. Only the
// executor is a stand-in: it records when the first node of each workflow is
// started and completes it at once.
//
// A client on one keep-alive connection POSTs `{"seq": i}` at a steady rate;
// the sensor passes body.seq into the workflow, whose container args carry
// it to the executor. Latency is executor start - time the request was
// written. The HTTP response time (the event is committed to the journal
// before the 200) is reported alongside, and the latency is split at the
// sensor's submit() call (sensor share / engine share).
//
//   event_latency [events=2000] [rate_per_s=200]

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/text.hpp"
#include "kairos/engine/executor.hpp"
#include "kairos/engine/runtime.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/eventsources/manager.hpp"
#include "kairos/sensors/manager.hpp"
#include "kairos/spec/diagnostic.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"
#include "kairos/store/store.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using namespace std::chrono;

// The port named in the EventSource; with ephemeral_ports the manager binds
// a free one and bound_port() maps it.
constexpr std::uint16_t configured_port = 12000;

constexpr const char* manifests = R"(apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: hook
  namespace: default
spec:
  webhook:
    bench:
      endpoint: /event
      method: POST
      port: "12000"
---
apiVersion: argoproj.io/v1alpha1
kind: Sensor
metadata:
  name: latency
  namespace: default
spec:
  dependencies:
    - {name: ev, eventSourceName: hook, eventName: bench}
  triggers:
    - template:
        name: start
        argoWorkflow:
          operation: submit
          source:
            resource:
              apiVersion: argoproj.io/v1alpha1
              kind: Workflow
              metadata: {generateName: latency-}
              spec:
                entrypoint: main
                arguments:
                  parameters: [{name: seq, value: "-1"}]
                templates:
                  - name: main
                    container:
                      image: alpine
                      command: ["true"]
                      args: ["{{workflow.parameters.seq}}"]
          parameters:
            - src: {dependencyName: ev, dataKey: body.seq}
              dest: spec.arguments.parameters.0.value
)";

std::int64_t steady_ns() {
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

// Records the start of each workflow's first node against the time its
// event was sent, then reports the node as exited 0 from another thread.
class recording_executor final : public kairos::engine::executor {
 public:
  recording_executor(asio::any_io_executor io, std::vector<std::atomic<std::int64_t>>& sent,
                     std::vector<std::atomic<std::int64_t>>& submitted)
      : io_(std::move(io)), sent_(sent), submitted_(submitted) {}

  kairos::engine::executor_capabilities capabilities() const override {
    return {false, "bench executor"};
  }

  void start(kairos::engine::task t, completion done) override {
    const auto now = steady_ns();
    record(t, now);
    // Completion from another thread, as a real executor does; calling back
    // inside start() is not what the runtime expects.
    asio::post(io_, [done = std::move(done)] {
      kairos::engine::outcome o;
      o.what = kairos::engine::outcome::kind::exited;
      o.exit_code = 0;
      done(std::move(o));
    });
  }
  void kill(const std::string&, const std::string&) override {}
  fs::path log_path(const std::string& uid, const std::string& node) const override {
    return fs::path("/dev/null") / uid / node;
  }

  std::vector<std::int64_t> latencies_us() {
    std::lock_guard lock(mutex_);
    return latencies_us_;
  }
  std::vector<std::int64_t> sensor_us() {
    std::lock_guard lock(mutex_);
    return sensor_us_;
  }
  std::vector<std::int64_t> engine_us() {
    std::lock_guard lock(mutex_);
    return engine_us_;
  }
  std::size_t recorded() {
    std::lock_guard lock(mutex_);
    return latencies_us_.size();
  }
  std::size_t unmatched() {
    std::lock_guard lock(mutex_);
    return unmatched_;
  }

 private:
  void record(const kairos::engine::task& t, std::int64_t now) {
    std::lock_guard lock(mutex_);
    if (!started_.insert(t.workflow_uid).second) return;
    const auto* p = std::get_if<kairos::engine::process_task>(&t.work);
    std::int64_t seq = -1;
    if (p && !p->argv.empty()) {
      const auto& a = p->argv.back();
      std::from_chars(a.data(), a.data() + a.size(), seq);
    }
    if (seq < 0 || static_cast<std::size_t>(seq) >= sent_.size()) {
      ++unmatched_;
      return;
    }
    const auto sent = sent_[static_cast<std::size_t>(seq)].load();
    if (sent == 0) {
      ++unmatched_;
      return;
    }
    latencies_us_.push_back((now - sent) / 1000);
    const auto submitted = submitted_[static_cast<std::size_t>(seq)].load();
    if (submitted != 0) {
      sensor_us_.push_back((submitted - sent) / 1000);
      engine_us_.push_back((now - submitted) / 1000);
    }
  }

  asio::any_io_executor io_;
  std::vector<std::atomic<std::int64_t>>& sent_;
  std::vector<std::atomic<std::int64_t>>& submitted_;
  std::mutex mutex_;
  std::set<std::string> started_;
  std::vector<std::int64_t> latencies_us_;
  std::vector<std::int64_t> sensor_us_;
  std::vector<std::int64_t> engine_us_;
  std::size_t unmatched_ = 0;
};

// Forwards to the engine and notes when the sensor's submit() arrives, to
// split the latency into sensor (event -> submit) and engine (submit ->
// first node start).
class timing_service final : public kairos::engine::workflow_service {
 public:
  timing_service(kairos::engine::workflow_service& inner,
                 std::vector<std::atomic<std::int64_t>>& submitted)
      : inner_(inner), submitted_(submitted) {}

  kairos::result<kairos::store::workflow_record> submit(
      const kairos::spec::resource& workflow,
      const kairos::engine::submit_options& options) override {
    const auto now = steady_ns();
    const auto& m = workflow.manifest;
    std::int64_t seq = -1;
    if (m.contains("spec") && m["spec"].contains("arguments")) {
      const auto& params = m["spec"]["arguments"].value("parameters", nlohmann::json::array());
      if (params.is_array() && !params.empty() && params[0].is_object()) {
        const auto v = params[0].value("value", std::string());
        std::from_chars(v.data(), v.data() + v.size(), seq);
      }
    }
    if (seq >= 0 && static_cast<std::size_t>(seq) < submitted_.size())
      submitted_[static_cast<std::size_t>(seq)].store(now);
    return inner_.submit(workflow, options);
  }
  kairos::result<kairos::store::workflow_record> act(
      const std::string& ns, const std::string& name,
      kairos::engine::workflow_action action) override {
    return inner_.act(ns, name, action);
  }
  kairos::result<std::string> logs(const std::string& ns, const std::string& name,
                                   const std::string& node) override {
    return inner_.logs(ns, name, node);
  }

 private:
  kairos::engine::workflow_service& inner_;
  std::vector<std::atomic<std::int64_t>>& submitted_;
};

double percentile_ms(std::vector<std::int64_t> v, double p) {
  if (v.empty()) return 0;
  auto idx = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(idx), v.end());
  return static_cast<double>(v[idx]) / 1000.0;
}

double max_ms(const std::vector<std::int64_t>& v) {
  return v.empty() ? 0 : static_cast<double>(*std::max_element(v.begin(), v.end())) / 1000.0;
}

void print_row(const char* what, const std::vector<std::int64_t>& v) {
  std::printf("%-28s p50 %8.3f ms  p99 %8.3f ms  max %8.3f ms\n", what, percentile_ms(v, 0.50),
              percentile_ms(v, 0.99), max_ms(v));
}

// One keep-alive connection; each request waits for its response, paced to
// `rate` per second against a fixed schedule. Returns response times in us.
std::optional<std::vector<std::int64_t>> post_events(std::uint16_t port, int events, double rate,
                                                     std::vector<std::atomic<std::int64_t>>& sent,
                                                     int& failures) {
  asio::io_context ioc;
  asio::ip::tcp::socket socket(ioc);
  beast::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    std::fprintf(stderr, "cannot connect to the webhook: %s\n", ec.message().c_str());
    return std::nullopt;
  }
  socket.set_option(asio::ip::tcp::no_delay(true));
  beast::flat_buffer buffer;
  std::vector<std::int64_t> response_us;
  response_us.reserve(static_cast<std::size_t>(events));
  const auto period = duration_cast<steady_clock::duration>(duration<double>(1.0 / rate));
  const auto t0 = steady_clock::now();
  for (int i = 0; i < events; ++i) {
    std::this_thread::sleep_until(t0 + period * i);
    http::request<http::string_body> req{http::verb::post, "/event", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = "{\"seq\":" + std::to_string(i) + "}";
    req.prepare_payload();
    const auto before = steady_ns();
    sent[static_cast<std::size_t>(i)].store(before);
    http::write(socket, req, ec);
    if (ec) {
      std::fprintf(stderr, "write failed at event %d: %s\n", i, ec.message().c_str());
      return std::nullopt;
    }
    http::response<http::string_body> res;
    http::read(socket, buffer, res, ec);
    if (ec) {
      std::fprintf(stderr, "read failed at event %d: %s\n", i, ec.message().c_str());
      return std::nullopt;
    }
    response_us.push_back((steady_ns() - before) / 1000);
    if (res.result_int() != 200) ++failures;
  }
  socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  return response_us;
}

}  // namespace

int main(int argc, char** argv) {
  const int events = argc > 1 ? std::max(1, std::atoi(argv[1])) : 2000;
  const double rate = argc > 2 ? std::max(1.0, std::atof(argv[2])) : 200.0;
  // One info line per event and per submission would dominate the figures.
  spdlog::set_level(spdlog::level::warn);

  // /var/tmp: the store's fsyncs should hit a disk, not a tmpfs.
  const fs::path dir = fs::path("/var/tmp") / ("kairos-event-latency-" + kairos::random_suffix(8));
  struct cleanup {
    fs::path dir;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } remove_after{dir};

  kairos::store::settings ss;
  ss.data_dir = dir;
  auto db = kairos::store::database::open(ss);
  if (!db) {
    std::fprintf(stderr, "cannot open the store: %s\n", db.error().message.c_str());
    return 1;
  }
  auto loaded = kairos::spec::load_text(manifests, "event_latency.yaml");
  if (!loaded.ok()) {
    std::fprintf(stderr, "bad manifests: %s\n",
                 kairos::spec::to_string(loaded.diagnostics).c_str());
    return 1;
  }
  for (const auto& r : loaded.resources) {
    kairos::store::resource_record record;
    record.kind = std::string(kairos::spec::kind_name(r.kind));
    record.namespace_ = r.metadata.namespace_;
    record.name = r.metadata.name;
    record.body = r.manifest;
    if (auto ok = (*db)->apply_resource(std::move(record)); !ok) {
      std::fprintf(stderr, "cannot store %s: %s\n", r.metadata.name.c_str(),
                   ok.error().message.c_str());
      return 1;
    }
  }

  std::vector<std::atomic<std::int64_t>> sent(static_cast<std::size_t>(events));
  std::vector<std::atomic<std::int64_t>> submitted(static_cast<std::size_t>(events));
  for (auto& s : sent) s.store(0);
  for (auto& s : submitted) s.store(0);

  // Two I/O threads, as serve's default. Declared before the components so
  // that an early return stops the components first, then the threads.
  struct io_runner {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
    std::vector<std::thread> threads;
    io_runner() {
      for (int i = 0; i < 2; ++i) threads.emplace_back([this] { io.run(); });
    }
    ~io_runner() {
      guard.reset();
      io.stop();
      for (auto& t : threads) t.join();
    }
  } runner;
  auto& io = runner.io;

  recording_executor exec(io.get_executor(), sent, submitted);
  const auto& clock = kairos::system_clock::instance();
  kairos::engine::runtime_settings rs;
  rs.data_dir = dir;
  auto engine = std::make_unique<kairos::engine::runtime>(rs, **db, exec, clock);
  if (auto resumed = engine->recover(); !resumed) {
    std::fprintf(stderr, "engine: %s\n", resumed.error().message.c_str());
    return 1;
  }

  timing_service timed(*engine, submitted);

  kairos::sensors::manager_settings sensor_settings;
  sensor_settings.data_dir = dir;
  auto sensors = std::make_unique<kairos::sensors::manager>(sensor_settings, **db, timed, clock,
                                                            io.get_executor());
  if (auto started = sensors->start(); !started) {
    std::fprintf(stderr, "sensors: %s\n", started.error().message.c_str());
    return 1;
  }

  kairos::eventsources::manager_settings source_settings;
  source_settings.data_dir = dir.string();
  source_settings.ephemeral_ports = true;
  auto sources = std::make_unique<kairos::eventsources::manager>(source_settings, **db, clock,
                                                                 io.get_executor());
  sources->on_committed = [s = sensors.get()] { s->notify(); };
  if (auto started = sources->start(); !started) {
    std::fprintf(stderr, "event sources: %s\n", started.error().message.c_str());
    return 1;
  }
  for (const auto& e : sources->errors()) std::fprintf(stderr, "event source %s\n", e.c_str());
  const auto port = sources->bound_port(configured_port);
  if (!port) {
    std::fprintf(stderr, "the webhook EventSource is not listening\n");
    return 1;
  }

  std::printf("events %d at %.0f/s on one keep-alive connection, store in %s\n", events, rate,
              dir.c_str());
  int failures = 0;
  const auto started_at = steady_clock::now();
  auto responses = post_events(*port, events, rate, sent, failures);
  const auto sent_for = duration_cast<milliseconds>(steady_clock::now() - started_at);
  // Workflows still on their way get a few seconds after the last event.
  const auto deadline = steady_clock::now() + seconds(10);
  while (exec.recorded() + exec.unmatched() < static_cast<std::size_t>(events) &&
         steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }

  sources->stop();
  sensors->stop();
  engine->stop();
  sources.reset();
  sensors.reset();
  engine.reset();

  if (!responses) return 1;
  const auto latencies = exec.latencies_us();
  std::printf("sent in %.2f s (%.0f/s), non-200 responses %d\n", sent_for.count() / 1000.0,
              events / (sent_for.count() / 1000.0), failures);
  std::printf("workflows started %zu of %d (unmatched %zu)\n", latencies.size(), events,
              exec.unmatched());
  print_row("http response", *responses);
  print_row("event -> workflow start", latencies);
  print_row("  of which event -> submit", exec.sensor_us());
  print_row("  of which submit -> start", exec.engine_us());
  db->reset();
  return 0;
}
