// The engine runtime alone: an O(1) stand-in operator and an executor that
// completes every node at once, so what is measured is the runtime's own
// cost per node (strand hops, the store write before each launch, timers).
// Compare with bench/ninja_dag.sh, where each node is a real process.
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include <benchmark/benchmark.h>

#include "kairos/core/clock.hpp"
#include "kairos/core/text.hpp"
#include "kairos/engine/runtime.hpp"
#include "kairos/spec/loader.hpp"
#include "kairos/store/store.hpp"

namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace kairos;
using namespace kairos::engine;

class counting_operator final : public workflow_operator {
 public:
  counting_operator(json wf, std::size_t nodes, std::size_t width)
      : wf_(std::move(wf)), nodes_(nodes), width_(width) {}
  void recover(clock::time_point) override {}
  operate_outcome operate(clock::time_point) override {
    operate_outcome out;
    if (!started_) {
      started_ = true;
      wf_["status"]["phase"] = "Running";
      out.status_changed = true;
    }
    while (running_ < width_ && next_ < nodes_) {
      task t;
      t.workflow_uid = wf_["metadata"].value("uid", "");
      t.node_id = "n" + std::to_string(next_++);
      changed_.insert(t.node_id);
      out.launches.push_back(std::move(t));
      ++running_;
    }
    if (done_ == nodes_ && !finished_) {
      finished_ = true;
      wf_["status"]["phase"] = "Succeeded";
      out.status_changed = true;
    }
    out.completed = finished_;
    out.changed_nodes.assign(changed_.begin(), changed_.end());
    changed_.clear();
    return out;
  }
  bool report_progress(const std::string&, const std::string&) override { return false; }
  void complete_node(const std::string& id, const outcome&, clock::time_point) override {
    --running_;
    ++done_;
    changed_.insert(id);
  }
  result<void> suspend() override { return {}; }
  result<void> resume(clock::time_point) override { return {}; }
  result<void> stop(clock::time_point) override { return {}; }
  result<void> terminate(clock::time_point) override { return {}; }
  result<void> retry(clock::time_point) override { return {}; }
  std::string phase() const override { return wf_["status"].value("phase", ""); }
  json workflow_json() const override { return wf_; }
  json workflow_json_without_nodes() const override { return wf_; }
  json node_json(const std::string& id) const override {
    return {{"id", id}, {"type", "Pod"}, {"phase", "Succeeded"}};
  }

 private:
  json wf_;
  std::size_t nodes_, width_, next_ = 0, running_ = 0, done_ = 0;
  bool started_ = false, finished_ = false;
  std::set<std::string> changed_;
};

class instant_executor final : public executor {
 public:
  executor_capabilities capabilities() const override { return {}; }
  void start(task, completion done) override {
    outcome o;
    o.what = outcome::kind::exited;
    o.exit_code = 0;
    done(o);
  }
  void kill(const std::string&, const std::string&) override {}
  fs::path log_path(const std::string&, const std::string&) const override { return {}; }
};

void BM_runtime_nodes(benchmark::State& state) {
  const auto nodes = static_cast<std::size_t>(state.range(0));
  const auto width = static_cast<std::size_t>(state.range(1));
  const auto dir = fs::temp_directory_path() / ("kairos-runtime-bench-" + random_suffix(8));
  store::settings ss;
  ss.data_dir = dir;
  auto db = store::database::open(ss);
  if (!db) {
    state.SkipWithError(db.error().message.c_str());
    return;
  }
  instant_executor exec;
  runtime_settings rs;
  rs.data_dir = dir;
  runtime rt(rs, **db, exec, system_clock::instance(),
             [&](json wf, operator_environment) -> result<std::unique_ptr<workflow_operator>> {
               return std::unique_ptr<workflow_operator>(
                   std::make_unique<counting_operator>(std::move(wf), nodes, width));
             });
  auto loaded = spec::load_text(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: bench-}
spec:
  entrypoint: t
  templates:
  - name: t
    container: {image: x, command: ["true"]}
)",
                                "bench.yaml");
  for (auto _ : state) {
    auto rec = rt.submit(loaded.resources.at(0), {});
    if (!rec) {
      state.SkipWithError(rec.error().message.c_str());
      break;
    }
    auto done = rt.wait(rec->namespace_, rec->name, std::chrono::minutes(5));
    if (!done) state.SkipWithError(done.error().message.c_str());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * nodes));
  rt.stop();
  db->reset();
  fs::remove_all(dir);
}

BENCHMARK(BM_runtime_nodes)
    ->Args({2000, 2})
    ->Args({2000, 8})
    ->Args({20000, 8})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
