#pragma once

// The CronWorkflow controller: starts a Workflow for every due time of every
// stored CronWorkflow, with Argo's rules (concurrencyPolicy,
// startingDeadlineSeconds, history limits, suspend, when, stopStrategy) and
// kairos's stricter ones:
//  - a run is named `<cron-name>-<scheduled unix seconds>`; a second
//    submission under that name is a no-op, so restarts and two controllers
//    never duplicate a run;
//  - after downtime only the most recent missed time runs, once, and only
//    when startingDeadlineSeconds is set (> 0) and not yet exceeded; missed
//    times are counted with a bounded search (more than max_missed_warn is
//    one warning, never a loop);
//  - a changed schedule or timezone, and a resume, take effect at the next
//    resync and never cause a catch-up by themselves.
//
// State (Argo's CronWorkflowStatus plus nextScheduledTime) is kept in
// store::database::put_state("cron", ns, name); the API returns it as the
// object's `status`.
//
// Threads: one timer (on `io`) for the earliest due time across all crons
// and one for the resync period; the blocking work (store, submit) runs on
// the controller's own worker threads, never on `io`, and the crons due at
// one instant are handled in parallel. resync() and
// check_timers() are also callable directly: tests drive the controller with
// a manual clock and never call start().

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <nlohmann/json.hpp>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"

namespace kairos::cron {

// Evaluates an expr-lang boolean over `env` (kairos::expr::evaluate_bool
// when not set).
using bool_evaluator =
    std::function<result<bool>(std::string_view expression, const nlohmann::json& env)>;

struct controller_settings {
  // How often the stored CronWorkflows are re-read (new, changed, deleted)
  // and active runs are checked for completion.
  std::chrono::milliseconds resync_period{2000};
  // More missed times than this after downtime is logged as one warning;
  // the search for them stops there.
  std::size_t max_missed_warn = 100;
  // Zone of a CronWorkflow without spec.timezone; empty means the machine's
  // zone, and UTC when that cannot be determined.
  std::string default_timezone;
  // Worker threads for the due checks and the resync, which run side by
  // side; the states and next times of a burst's crons are worked out by up
  // to this many threads at once (each cron by one thread at a time).
  std::size_t worker_threads = 2;
  // Threads that submit the runs due at one instant. One is the default:
  // on two cores, one thread submits a 4,000-run burst sooner than two
  // (bench/cron_lateness: p99 6-7 ms against 7.5-16 ms), the second costing
  // more in contention for the queue and the caches than it gives.
  std::size_t fire_threads = 1;
  // Most cron states saved in one transaction; the states of a burst of due
  // crons are saved together, in as few commits as this allows.
  std::size_t state_batch = 1024;
  // Runs due within this long are made ahead of time (manifest parsed, run
  // named and stamped), after a due check and before the earliest due time,
  // so that a due instant only submits. A run made ahead is used only if no
  // resource changed since. At most prepare_limit runs are held made; zero
  // turns this off.
  std::chrono::milliseconds prepare_ahead{1000};
  std::size_t prepare_limit = 4096;
  bool_evaluator evaluate_bool;
};

// Counters since construction (for metrics, tests and the bench).
struct controller_stats {
  std::uint64_t submitted = 0;      // runs submitted (including already-existing names)
  std::uint64_t skipped = 0;        // due times skipped (suspend, Forbid, when false)
  std::uint64_t missed = 0;         // due times not run after downtime
  std::uint64_t caught_up = 0;      // catch-up runs after downtime
  std::uint64_t submit_errors = 0;  // submissions that failed
  // CPU time of the threads handling due times (store reads, the Workflow
  // made ahead or at the due time, submission, the state), for the per-fire
  // cost.
  std::chrono::nanoseconds due_cpu{0};
  std::uint64_t due_handled = 0;  // due times handled (run, skipped or missed)
  std::uint64_t made_ahead = 0;   // runs submitted as made ahead of their due time
};

class controller {
 public:
  controller(controller_settings settings, store::database& db, engine::workflow_service& workflows,
             const kairos::clock& clock, boost::asio::any_io_executor io);
  ~controller();
  controller(const controller&) = delete;
  controller& operator=(const controller&) = delete;

  // Loads every CronWorkflow (handling runs missed while stopped) and arms
  // the timers. Fails when the store cannot be read.
  result<void> start();
  // Cancels the timers and waits for work in progress. Idempotent.
  void stop();

  // Re-reads the stored CronWorkflows and active runs. Synchronous.
  void resync();
  // Starts every run due by clock.now(), then makes the runs due within
  // prepare_ahead. Synchronous; the timer does the same for a real clock,
  // tests call it after moving a manual clock.
  void check_timers();

  // The earliest due time across all crons.
  std::optional<kairos::clock::time_point> next_due() const;
  // CronWorkflows currently held (scheduled, suspended or stopped).
  std::size_t cron_count() const;
  controller_stats stats() const;

 private:
  class impl;
  std::unique_ptr<impl> impl_;
};

// The Workflow manifest Argo creates for a run of a CronWorkflow (`cron` is
// the stored manifest): spec.workflowSpec as spec, workflowMetadata labels
// and annotations plus the label workflows.argoproj.io/cron-workflow=<name>.
// With `scheduled_time` the run is named `<name>-<unix seconds>` and
// annotated workflows.argoproj.io/scheduled-time=<RFC 3339>; without it
// (a manual submit) it gets generateName `<name>-`.
result<nlohmann::json> workflow_manifest_for(
    const nlohmann::json& cron, const std::string& ns, const std::string& name,
    std::optional<kairos::clock::time_point> scheduled_time = std::nullopt);
// The same, taking spec.workflowSpec out of `cron` rather than copying it.
result<nlohmann::json> workflow_manifest_for(
    nlohmann::json&& cron, const std::string& ns, const std::string& name,
    std::optional<kairos::clock::time_point> scheduled_time = std::nullopt);

inline constexpr std::string_view cron_workflow_label = "workflows.argoproj.io/cron-workflow";
inline constexpr std::string_view scheduled_time_annotation =
    "workflows.argoproj.io/scheduled-time";

}  // namespace kairos::cron
