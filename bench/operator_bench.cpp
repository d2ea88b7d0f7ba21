// The workflow controller alone: a layered DAG of N no-op tasks, driven by a
// fake executor that completes every launch at once. Time per node should
// stay flat from 1k to 100k nodes (the operator's work is incremental);
// compare the items/s of the sizes, not absolute times. Time per node also
// grows with the state's size through cache misses, so the bench counts
// heap allocations per node as well: a measure of the work done that no
// cache changes, which must not grow with n either.
#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include <benchmark/benchmark.h>

#include "kairos/core/clock.hpp"
#include "kairos/engine/workflow_operator.hpp"

namespace {
// Allocations made through operator new; the bench runs on one thread.
std::size_t allocations = 0;
}  // namespace

// Not inlined: GCC would then see free() take what operator new returned.
[[gnu::noinline]] void* operator new(std::size_t size) {
  ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

using json = nlohmann::json;
using namespace kairos;
using namespace kairos::engine;

std::string task_name(int i) {
  // Appended rather than "n" + to_string(i), which GCC 12 warns about
  // (-Wrestrict, a false positive).
  std::string name = "n";
  name += std::to_string(i);
  return name;
}

// `layers` layers of `width` tasks; each task depends on the one above it
// and its left neighbour there, so every layer waits for the previous one.
json layered_dag(int nodes, int width) {
  json tasks = json::array();
  for (int i = 0; i < nodes; ++i) {
    json t = {{"name", task_name(i)}, {"template", "noop"}};
    if (i >= width) {
      json deps = json::array({task_name(i - width)});
      if (i % width != 0) deps.push_back(task_name(i - width - 1));
      t["dependencies"] = deps;
    }
    tasks.push_back(std::move(t));
  }
  return {
      {"apiVersion", "argoproj.io/v1alpha1"},
      {"kind", "Workflow"},
      {"metadata",
       {{"name", "bench"},
        {"namespace", "default"},
        {"uid", "uid-bench"},
        {"creationTimestamp", "2024-01-01T00:00:00Z"}}},
      {"spec",
       {{"entrypoint", "main"},
        {"templates",
         json::array({{{"name", "main"}, {"dag", {{"tasks", tasks}}}},
                      {{"name", "noop"},
                       {"container", {{"image", "x"}, {"command", json::array({"true"})}}}}})}}}};
}

void BM_operator_layered_dag(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  const int width = static_cast<int>(state.range(1));
  const json wf = layered_dag(nodes, width);
  manual_clock clk;
  outcome ok;
  ok.what = outcome::kind::exited;
  ok.exit_code = 0;
  std::size_t counted = 0;
  for (auto _ : state) {
    state.PauseTiming();
    json copy = wf;
    const std::size_t before = allocations;
    state.ResumeTiming();
    operator_environment env;
    env.capabilities.private_mounts = true;
    auto op = workflow_operator::create(std::move(copy), env);
    if (!op) {
      state.SkipWithError(op.error().message.c_str());
      return;
    }
    std::size_t launched = 0;
    while (true) {
      auto out = (*op)->operate(clk.now());
      if (out.completed) break;
      if (out.launches.empty()) {
        state.SkipWithError("stalled");
        return;
      }
      launched += out.launches.size();
      for (const auto& t : out.launches) (*op)->complete_node(t.node_id, ok, clk.now());
    }
    if ((*op)->phase() != "Succeeded" || launched != static_cast<std::size_t>(nodes)) {
      state.SkipWithError("workflow did not succeed");
      return;
    }
    op->reset();
    counted += allocations - before;
  }
  state.SetItemsProcessed(state.iterations() * nodes);
  state.SetComplexityN(nodes);
  state.counters["allocs_per_node"] =
      static_cast<double>(counted) / (static_cast<double>(nodes) * state.iterations());
  state.counters["ns_per_node"] =
      benchmark::Counter(static_cast<double>(nodes) * static_cast<double>(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(BM_operator_layered_dag)
    ->Args({1000, 100})
    ->Args({10000, 100})
    ->Args({20000, 100})
    ->Args({50000, 100})
    ->Args({100000, 100})
    ->Unit(benchmark::kMillisecond)
    // The claim of linear scaling, tested: the time fitted to c*n, and the
    // RMS error of that fit over the five sizes.
    ->Complexity(benchmark::oN);

}  // namespace

BENCHMARK_MAIN();
