#include "kairos/cron/controller.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <date/tz.h>
#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "kairos/core/expr.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/placeholders.hpp"
#include "kairos/core/text.hpp"
#include "kairos/cron/schedule.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"

namespace kairos::cron {

namespace asio = boost::asio;
using json = nlohmann::json;
using time_point = kairos::clock::time_point;

namespace {

constexpr const char* cron_kind = "CronWorkflow";
constexpr const char* state_scope = "cron";

enum class policy : std::uint8_t { allow, forbid, replace };

// A run made ahead of its due time `at` from manifest version `version`,
// whose text copy was current at resource generation `generation`.
struct made_run {
  time_point at;
  std::int64_t version = -1;
  std::uint64_t generation = 0;
  std::string name;
  spec::resource workflow;
};

// What the controller keeps per CronWorkflow: its schedule, status and
// whether its runs validate; the manifest itself is read from the store when
// a run is due.
struct cron_entry {
  std::string ns;
  std::string name;
  std::int64_t resource_version = -1;
  std::string schedule_key;  // schedules and zone as written, to notice a change
  std::vector<schedule> schedules;
  std::string spec_error;  // set: not scheduled
  std::string when;
  std::string stop_expression;
  std::optional<std::int64_t> deadline_seconds;
  int successful_limit = 3;
  int failed_limit = 1;
  policy concurrency = policy::allow;
  bool suspend = false;

  bool stopped = false;
  std::optional<time_point> last_scheduled;
  // The last due time handled (run, skipped or missed), or the moment a
  // schedule change or resume took effect; missed times are counted after it.
  std::optional<time_point> last_evaluated;
  std::vector<std::string> active;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::string condition_type;
  std::string condition_message;
  std::optional<time_point> due;  // the entry's key in the queue
  // Whether the runs of resource version `checked_version` are valid
  // Workflows, found once by loading a run with a placeholder name and
  // scheduled time. Runs of a valid version skip the loader: only their name
  // and scheduled time differ. Only the answer is kept, not the loaded
  // Workflow, so 10,000 crons stay small. An invalid version's runs take the
  // full path, whose messages name the run.
  std::int64_t checked_version = -1;
  bool runs_valid = false;
  // The manifest of version `body_version` as text, current as of the
  // store's resource generation `body_generation` (0: not known current). A
  // due time parses it rather than reading the store while no resource has
  // changed; text, not a parsed document, keeps 10,000 crons small.
  std::string body_text;
  std::int64_t body_version = -1;
  std::uint64_t body_generation = 0;
  // Set (under the controller's mutex) while a thread handles a due time of
  // this entry without the mutex: nothing else touches the entry then, and
  // it is not in the queue, so its next due time waits for this one.
  bool firing = false;
  // The run for due time `due`, made ahead (see controller_settings::
  // prepare_ahead); set under the mutex, taken by the thread firing it.
  std::unique_ptr<made_run> made;
  // The run just submitted, freed after the burst it belongs to (see
  // make_ahead).
  std::unique_ptr<made_run> spent;
};

struct queue_less {
  bool operator()(const std::pair<time_point, cron_entry*>& a,
                  const std::pair<time_point, cron_entry*>& b) const {
    if (a.first != b.first) return a.first < b.first;
    return std::less<cron_entry*>()(a.second, b.second);
  }
};

std::string key_of(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

const json& member(const json& j, const char* key) {
  static const json null_json;
  if (!j.is_object()) return null_json;
  auto it = j.find(key);
  return it == j.end() ? null_json : *it;
}

std::string string_member(const json& j, const char* key) {
  const auto& v = member(j, key);
  return v.is_string() ? v.get<std::string>() : std::string();
}

std::optional<std::int64_t> int_member(const json& j, const char* key) {
  const auto& v = member(j, key);
  if (v.is_number_integer()) return v.get<std::int64_t>();
  if (v.is_number_unsigned()) return static_cast<std::int64_t>(v.get<std::uint64_t>());
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::int64_t out = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec == std::errc() && end == s.data() + s.size()) return out;
  }
  return std::nullopt;
}

std::optional<time_point> time_member(const json& j, const char* key) {
  const auto& v = member(j, key);
  if (!v.is_string()) return std::nullopt;
  return parse_rfc3339(v.get_ref<const std::string&>());
}

bool finished_phase(const std::string& phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Error";
}

std::int64_t unix_seconds(time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Reads the scheduling fields of a stored (already validated) CronWorkflow.
// Returns whether the schedule or zone changed.
bool apply_spec(cron_entry& e, const json& body, const std::string& default_zone) {
  const auto& spec = member(body, "spec");
  std::vector<std::string> texts;
  if (auto one = string_member(spec, "schedule"); !one.empty()) texts.push_back(std::move(one));
  if (const auto& many = member(spec, "schedules"); many.is_array()) {
    for (const auto& s : many)
      if (s.is_string()) texts.push_back(s.get<std::string>());
  }
  std::string zone = string_member(spec, "timezone");
  if (zone.empty()) zone = default_zone;
  std::string key;
  for (const auto& t : texts) key += t + "\n";
  key += "@" + zone;
  const bool changed = key != e.schedule_key;

  e.spec_error.clear();
  if (changed) {
    e.schedule_key = std::move(key);
    e.schedules.clear();
    for (const auto& t : texts) {
      auto parsed = schedule::parse(t, zone);
      if (!parsed) {
        e.spec_error = "schedule \"" + t + "\": " + parsed.error().message;
        e.schedules.clear();
        break;
      }
      e.schedules.push_back(std::move(*parsed));
    }
    if (texts.empty()) e.spec_error = "spec.schedule: required field is missing";
    e.schedules.shrink_to_fit();
  } else if (e.schedules.empty()) {
    // The same text failed before; keep reporting it.
    for (const auto& t : texts) {
      auto parsed = schedule::parse(t, zone);
      if (!parsed) {
        e.spec_error = "schedule \"" + t + "\": " + parsed.error().message;
        break;
      }
    }
    if (texts.empty()) e.spec_error = "spec.schedule: required field is missing";
  }

  const auto policy_text = string_member(spec, "concurrencyPolicy");
  e.concurrency = policy_text == "Forbid"    ? policy::forbid
                  : policy_text == "Replace" ? policy::replace
                                             : policy::allow;
  e.deadline_seconds = int_member(spec, "startingDeadlineSeconds");
  e.successful_limit = static_cast<int>(int_member(spec, "successfulJobsHistoryLimit").value_or(3));
  e.failed_limit = static_cast<int>(int_member(spec, "failedJobsHistoryLimit").value_or(1));
  const auto& suspend = member(spec, "suspend");
  e.suspend = suspend.is_boolean() && suspend.get<bool>();
  e.when = string_member(spec, "when");
  e.stop_expression = string_member(member(spec, "stopStrategy"), "expression");
  return changed;
}

std::optional<time_point> next_fire(const cron_entry& e, time_point after) {
  std::optional<time_point> best;
  for (const auto& s : e.schedules) {
    auto t = s.next(after);
    if (t && (!best || *t < *best)) best = t;
  }
  return best;
}

struct missed_scan {
  time_point latest;
  std::size_t count = 0;  // fire times in [first, now], at most cap + 1
  bool capped = false;
};

// The latest fire time in [lower, now], where `lower` is itself a fire time.
// Gallops back from now so that a schedule with millions of missed times is
// never walked.
time_point latest_fire_at_or_before(const cron_entry& e, time_point lower, time_point now) {
  for (auto w = std::chrono::seconds(1);; w *= 2) {
    time_point from = now - w;
    if (from <= lower) from = lower;
    auto t = next_fire(e, from);
    if (t && *t <= now) {
      // (now - w/2, now] held no fire time, so this walk is short.
      for (int i = 0; i < 100000; ++i) {
        auto n = next_fire(e, *t);
        if (!n || *n > now) break;
        t = n;
      }
      return *t;
    }
    if (from == lower) return lower;
  }
}

// Counts the fire times from `first` (a fire time <= now) up to now, capped.
missed_scan scan_missed(const cron_entry& e, time_point first, time_point now, std::size_t cap) {
  missed_scan out{first, 1, false};
  time_point t = first;
  while (out.count <= cap) {
    auto n = next_fire(e, t);
    if (!n || *n > now) return out;
    t = *n;
    out.latest = t;
    ++out.count;
  }
  out.capped = true;
  out.latest = latest_fire_at_or_before(e, t, now);
  return out;
}

std::string machine_zone() {
  try {
    if (const auto* z = date::current_zone()) return std::string(z->name());
  } catch (const std::exception&) {
  }
  return "UTC";
}

// A run name has a fixed shape, `<cron>-<unix seconds>`, and the loader's
// checks depend only on its characters and length; every time from 2001 to
// 2286 has 10 digits, so a template loaded for one of them validates like
// the run itself. Other times take the full path.
constexpr std::int64_t template_seconds = 1'000'000'000;
bool stampable(time_point at) {
  const auto s = unix_seconds(at);
  return s >= 1'000'000'000 && s <= 9'999'999'999;
}

std::chrono::nanoseconds thread_cpu() {
  timespec ts{};
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0) return {};
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

namespace {

// `movable_spec`: spec.workflowSpec of `cron`, to be moved from; null: copied.
result<json> manifest_for(const json& cron, json* movable_spec, const std::string& ns,
                          const std::string& name, std::optional<time_point> scheduled_time) {
  const auto& spec = member(cron, "spec");
  const auto& workflow_spec = member(spec, "workflowSpec");
  if (!workflow_spec.is_object()) {
    return make_error(errc::failed_precondition,
                      "CronWorkflow " + ns + "/" + name + " has no spec.workflowSpec");
  }
  json meta = {{"namespace", ns}};
  const auto& wm = member(spec, "workflowMetadata");
  for (const char* key : {"labels", "annotations"}) {
    if (const auto& m = member(wm, key); m.is_object()) meta[key] = m;
  }
  meta["labels"][std::string(cron_workflow_label)] = name;
  if (scheduled_time) {
    meta["name"] = name + "-" + std::to_string(unix_seconds(*scheduled_time));
    meta["annotations"][std::string(scheduled_time_annotation)] = format_rfc3339(*scheduled_time);
  } else {
    meta["generateName"] = name + "-";
  }
  json out = json::object();
  out["apiVersion"] = std::string(spec::api_version);
  out["kind"] = "Workflow";
  out["metadata"] = std::move(meta);
  out["spec"] = movable_spec ? std::move(*movable_spec) : workflow_spec;
  return out;
}

}  // namespace

result<json> workflow_manifest_for(const json& cron, const std::string& ns, const std::string& name,
                                   std::optional<time_point> scheduled_time) {
  return manifest_for(cron, nullptr, ns, name, scheduled_time);
}

result<json> workflow_manifest_for(json&& cron, const std::string& ns, const std::string& name,
                                   std::optional<time_point> scheduled_time) {
  json* movable = nullptr;
  if (auto s = cron.find("spec"); s != cron.end() && s->is_object())
    if (auto w = s->find("workflowSpec"); w != s->end()) movable = &*w;
  return manifest_for(cron, movable, ns, name, scheduled_time);
}

// Threads kept waiting to help with a burst of due crons. A thread started
// for the burst would first queue behind its creator on the same CPU for
// milliseconds; a waiting one is woken onto an idle one.
class crew {
 public:
  explicit crew(std::size_t helpers) {
    for (std::size_t i = 0; i < helpers; ++i) {
      try {
        threads_.emplace_back([this, slot = i + 1] { serve(slot); });
      } catch (const std::system_error&) {
        break;  // fewer helpers; run() does their share itself
      }
    }
  }
  ~crew() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
  }
  crew(const crew&) = delete;
  crew& operator=(const crew&) = delete;

  // Runs fn(0..n-1): fn(0) on the calling thread, the others on helpers
  // (or here, when the helpers are busy with another call or too few);
  // returns when all are done.
  template <class F>
  void run(std::size_t n, F&& fn) {
    std::unique_lock busy(run_mutex_, std::try_to_lock);
    const std::size_t helped = busy ? std::min(n - 1, threads_.size()) : 0;
    std::function<void(std::size_t)> job = [&fn](std::size_t slot) { fn(slot); };
    if (helped > 0) {
      std::lock_guard lock(mutex_);
      job_ = &job;
      wanted_ = helped;
      pending_ = helped;
      ++round_;
    }
    if (helped > 0) wake_.notify_all();
    fn(0);
    if (helped > 0) {
      std::unique_lock lock(mutex_);
      done_.wait(lock, [&] { return pending_ == 0; });
      job_ = nullptr;
    }
    for (std::size_t slot = helped + 1; slot < n; ++slot) fn(slot);
  }

 private:
  void serve(std::size_t slot) {
    std::uint64_t seen = 0;
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [&] { return stopping_ || round_ != seen; });
      if (stopping_) return;
      seen = round_;
      if (slot > wanted_) continue;
      auto* job = job_;
      lock.unlock();
      (*job)(slot);
      lock.lock();
      if (--pending_ == 0) done_.notify_all();
    }
  }

  std::mutex run_mutex_;  // one run() at a time uses the helpers
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::function<void(std::size_t)>* job_ = nullptr;
  std::size_t wanted_ = 0;
  std::size_t pending_ = 0;
  std::uint64_t round_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class controller::impl {
 public:
  impl(controller_settings settings, store::database& db, engine::workflow_service& workflows,
       const kairos::clock& clock, asio::any_io_executor io)
      : settings_(std::move(settings)),
        db_(db),
        workflows_(workflows),
        clock_(clock),
        timers_(std::make_shared<timer_core>(std::move(io))),
        pool_(std::max<std::size_t>(1, settings_.worker_threads)),
        crew_(std::max<std::size_t>(1, settings_.fire_threads) - 1) {
    default_zone_ =
        settings_.default_timezone.empty() ? machine_zone() : settings_.default_timezone;
    writer_ = std::thread([this] { writer_loop(); });
    if (!settings_.evaluate_bool) {
      settings_.evaluate_bool = [](std::string_view source, const json& env) {
        return expr::evaluate_bool(source, env);
      };
    }
  }

  ~impl() { stop(); }

  result<void> start() {
    if (running_.exchange(true)) return {};
    // The first states (one per cron) are written while the timers already
    // run: waiting for them first would make the runs due meanwhile late.
    if (auto first = resync_impl(false); !first) {
      running_ = false;
      return first;
    }
    check_timers(false);
    {
      std::lock_guard lock(timers_->mutex);
      timers_->owner = this;
      timers_->running = true;
    }
    asio::post(timers_->strand, [core = timers_] {
      arm_due(core);
      arm_resync(core);
    });
    make_ahead();
    flush_states();
    return {};
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    running_ = false;
    bool armed = false;
    {
      std::lock_guard lock(timers_->mutex);
      armed = timers_->running;
      timers_->running = false;
      timers_->owner = nullptr;
    }
    if (armed) {
      asio::post(timers_->strand, [core = timers_] {
        core->due.cancel();
        core->resync.cancel();
      });
    }
    pool_.join();
    stop_writers();
  }

  void resync(bool wait = true) {
    if (auto r = resync_impl(wait); !r) {
      spdlog::warn("cron: cannot read CronWorkflows: {}", r.error().message);
    }
  }

  void check_timers(bool wait = true) {
    // Due entries are taken from the queue a few at a time by each thread
    // that fires them, so that the first runs start at once and taking a
    // burst out of the queue is shared like the firing is.
    constexpr std::size_t chunk = 16;
    // The lists the due entries are taken into are kept from burst to burst:
    // growing one while a burst is taken is an allocation, and the allocator
    // is at its slowest then, full of what the last burst freed.
    std::unique_lock own_lists(taken_mutex_, std::try_to_lock);
    std::vector<std::vector<taken_due>> spare_lists;
    auto& taken = own_lists ? taken_ : spare_lists;
    taken.resize(std::max<std::size_t>(1, settings_.fire_threads));
    for (auto& t : taken) t.clear();
    std::unique_lock lock(mutex_);
    const auto now = clock_.now();
    take_due(taken[0], now, chunk);
    const bool more = taken[0].size() == chunk && !queue_.empty() && queue_.begin()->first <= now;
    lock.unlock();
    if (taken[0].empty()) {
      if (wait) flush_states();
      return;
    }
    // The store reads and submissions of distinct crons run in parallel,
    // without the mutex; each entry is handled by one thread.
    crew_.run(more ? taken.size() : 1, [&](std::size_t slot) {
      const auto cpu_before = thread_cpu();
      auto& mine = taken[slot];
      for (std::size_t from = 0;;) {
        for (auto i = from; i < mine.size(); ++i)
          mine[i].keep = process_due(*mine[i].e, mine[i].due, now);
        from = mine.size();
        std::lock_guard relock(mutex_);
        if (take_due(mine, now, chunk) == 0) break;
      }
      stats_.due_cpu_ns += (thread_cpu() - cpu_before).count();
    });
    std::vector<taken_due> due_now;
    for (const auto& t : taken) due_now.insert(due_now.end(), t.begin(), t.end());
    own_lists = {};
    stats_.due_handled += due_now.size();

    // The next due time and the state to save are worked out without the
    // mutex too, so that the part under the lock is only queue updates, and
    // only once every run of the burst is submitted: nothing else delays
    // the last submission.
    struct outcome {
      std::optional<time_point> next;
      json state;
    };
    std::vector<outcome> outcomes(due_now.size());
    for_each_parallel(
        due_now.size(),
        [&](std::size_t i) {
          auto& e = *due_now[i].e;
          auto& out = outcomes[i];
          if (due_now[i].keep) {
            if (schedulable(e)) out.next = next_fire(e, now);
            out.state = state_of(e, out.next);
          }
        },
        &stats_.due_cpu_ns);

    state_writes writes;
    writes.reserve(due_now.size());
    std::vector<std::string> removed;
    lock.lock();
    for (std::size_t i = 0; i < due_now.size(); ++i) {
      auto* e = due_now[i].e;
      auto& out = outcomes[i];
      if (e->spent) retired_.push_back(std::move(e->spent));
      e->firing = false;
      if (!due_now[i].keep) {
        removed.push_back(key_of(e->ns, e->name));
        erase_entry(*e);
        continue;
      }
      enqueue(*e, out.next);
      writes.emplace_back(e->ns, e->name, std::move(out.state));
    }
    publish_earliest();
    write_states(std::move(lock), std::move(writes), removed, wait);
  }

  // As the timer does: runs what is due, then makes the runs due soon.
  void check_then_make() {
    check_timers();
    make_ahead();
  }

  void make_ahead() { make_ahead(clock_.now()); }

  std::optional<time_point> next_due() const {
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return std::nullopt;
    return queue_.begin()->first;
  }

  std::size_t cron_count() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

  controller_stats stats() const {
    controller_stats out;
    out.submitted = stats_.submitted;
    out.skipped = stats_.skipped;
    out.missed = stats_.missed;
    out.caught_up = stats_.caught_up;
    out.submit_errors = stats_.submit_errors;
    out.due_cpu = std::chrono::nanoseconds(stats_.due_cpu_ns.load());
    out.due_handled = stats_.due_handled;
    out.made_ahead = stats_.made_ahead;
    return out;
  }

 private:
  using state_writes = std::vector<std::tuple<std::string, std::string, json>>;

  // Counted by threads handling due times in parallel.
  struct atomic_stats {
    std::atomic<std::uint64_t> submitted{0};
    std::atomic<std::uint64_t> skipped{0};
    std::atomic<std::uint64_t> missed{0};
    std::atomic<std::uint64_t> caught_up{0};
    std::atomic<std::uint64_t> submit_errors{0};
    std::atomic<std::int64_t> due_cpu_ns{0};
    std::atomic<std::uint64_t> due_handled{0};
    std::atomic<std::uint64_t> made_ahead{0};
  };

  struct taken_due {
    time_point due;
    cron_entry* e;
    bool keep = true;  // false: the CronWorkflow is gone
  };

  // With mutex_ held: moves up to `most` entries due by `now` from the queue
  // to `into`, marked firing. Returns how many.
  std::size_t take_due(std::vector<taken_due>& into, time_point now, std::size_t most) {
    std::size_t n = 0;
    while (n < most && !queue_.empty() && queue_.begin()->first <= now) {
      auto [due, e] = *queue_.begin();
      queue_.erase(queue_.begin());
      e->due.reset();
      e->firing = true;
      into.push_back({due, e});
      ++n;
    }
    return n;
  }

  // Runs fn(0..n-1) on the calling thread and, for a burst, on up to
  // worker_threads - 1 more; returns when all are done. Threads are started
  // per burst rather than borrowed from pool_, whose threads may all be
  // here already waiting.
  // With `cpu_ns`, adds the CPU time the threads spent on fn (measured per
  // thread, not per call: the clock is a system call).
  template <class F>
  void for_each_parallel(std::size_t n, F&& fn, std::atomic<std::int64_t>* cpu_ns = nullptr) {
    constexpr std::size_t per_thread = 8;  // smaller bursts are not worth a thread
    const std::size_t extra = std::min(settings_.worker_threads, n / per_thread);
    std::atomic<std::size_t> next{0};
    auto work = [&] {
      const auto before = cpu_ns ? thread_cpu() : std::chrono::nanoseconds::zero();
      for (std::size_t i; (i = next.fetch_add(1)) < n;) fn(i);
      if (cpu_ns) *cpu_ns += (thread_cpu() - before).count();
    };
    std::vector<std::thread> helpers;
    for (std::size_t t = 1; t < extra; ++t) {
      try {
        helpers.emplace_back(work);
      } catch (const std::system_error&) {
        break;  // no thread to be had: the caller does the rest
      }
    }
    work();
    for (auto& h : helpers) h.join();
  }

  // ---- scheduling --------------------------------------------------------

  static bool schedulable(const cron_entry& e) {
    return e.spec_error.empty() && !e.suspend && !e.stopped && !e.schedules.empty();
  }

  void enqueue(cron_entry& e, std::optional<time_point> at) {
    if (e.made && (!at || e.made->at != *at)) e.made.reset();
    if (e.due) queue_.erase({*e.due, &e});
    e.due = at;
    if (at) queue_.insert({*at, &e});
  }

  void erase_entry(cron_entry& e) {
    if (e.due) queue_.erase({*e.due, &e});
    entries_.erase(key_of(e.ns, e.name));
  }

  void publish_earliest() {
    earliest_ns_ = queue_.empty() ? no_due : queue_.begin()->first.time_since_epoch().count();
  }

  // Handles one due time. Returns false when the CronWorkflow is gone.
  bool process_due(cron_entry& e, time_point due, time_point now) {
    auto scan = scan_missed(e, due, now, settings_.max_missed_warn);
    if (scan.count == 1) {
      return fire(e, due);
    }
    // Several due times passed while nothing ran them (the process was
    // blocked or the machine asleep): treat it as downtime.
    return handle_missed(e, scan, now);
  }

  // After downtime: one run for the most recent missed time, and only
  // within startingDeadlineSeconds.
  bool handle_missed(cron_entry& e, const missed_scan& scan, time_point now) {
    const auto how_many = scan.capped ? "more than " + std::to_string(settings_.max_missed_warn)
                                      : std::to_string(scan.count);
    if (scan.capped) {
      spdlog::warn(
          "cron: CronWorkflow {}/{} missed {} scheduled times; only the most recent "
          "one is considered",
          e.ns, e.name, how_many);
    }
    const bool within = e.deadline_seconds && *e.deadline_seconds > 0 &&
                        now - scan.latest <= std::chrono::seconds(*e.deadline_seconds);
    if (within) {
      stats_.missed += scan.count - 1;
      ++stats_.caught_up;
      spdlog::info(
          "cron: CronWorkflow {}/{} missed {} scheduled times; running the most recent "
          "({}) within startingDeadlineSeconds",
          e.ns, e.name, how_many, format_rfc3339(scan.latest));
      return fire(e, scan.latest);
    }
    stats_.missed += scan.count;
    spdlog::info("cron: CronWorkflow {}/{} missed {} scheduled times (latest {}); not run: {}",
                 e.ns, e.name, how_many, format_rfc3339(scan.latest),
                 e.deadline_seconds && *e.deadline_seconds > 0 ? "startingDeadlineSeconds exceeded"
                                                               : "no startingDeadlineSeconds");
    e.last_evaluated = scan.latest;
    return true;
  }

  // Runs (or skips) the due time `at`. Returns false when the CronWorkflow
  // is gone.
  bool fire(cron_entry& e, time_point at) {
    e.last_evaluated = at;
    auto made = std::move(e.made);
    if (made && !(made->at == at && made_current(e, *made))) made.reset();
    // Under Allow, with neither `when` nor a stopStrategy, nothing this due
    // time decides depends on whether earlier runs have finished: the resync
    // counts them, and the store read per active run is saved. Nor is the
    // manifest needed when the run was made ahead.
    const bool decides =
        e.concurrency != policy::allow || !e.when.empty() || !e.stop_expression.empty();
    std::optional<store::resource_record> found;
    if (!made || decides) {
      auto current = current_manifest(e);
      if (!current) {
        if (current.error().code == errc::not_found) return false;
        set_condition(e, "SubmissionError",
                      "cannot read the CronWorkflow: " + current.error().message);
        ++stats_.submit_errors;
        return true;
      }
      found = std::move(*current);
      if (made && found->resource_version != made->version) made.reset();
    }
    if (decides) {
      const json& body = found->body;
      refresh_active(e, body);
      if (!schedulable(e)) return true;
      if (!e.when.empty()) {
        auto go = evaluate(e, e.when, body, "when");
        if (!go) {
          set_condition(e, "SpecError", go.error().message);
          ++stats_.skipped;
          return true;
        }
        if (!*go) {
          ++stats_.skipped;
          spdlog::debug("cron: {}/{} at {}: when is false, skipped", e.ns, e.name,
                        format_rfc3339(at));
          return true;
        }
      }
      if (!e.active.empty() && e.concurrency == policy::forbid) {
        ++stats_.skipped;
        spdlog::info(
            "cron: CronWorkflow {}/{} skipped {}: concurrencyPolicy Forbid and {} is "
            "still running",
            e.ns, e.name, format_rfc3339(at), e.active.front());
        return true;
      }
      if (!e.active.empty() && e.concurrency == policy::replace) {
        for (const auto& name : e.active) {
          auto stopped = workflows_.act(e.ns, name, engine::workflow_action::terminate);
          if (!stopped && stopped.error().code != errc::not_found) {
            spdlog::warn("cron: CronWorkflow {}/{}: cannot terminate {} to replace it: {}", e.ns,
                         e.name, name, stopped.error().message);
          }
        }
        // A terminated run that already finished leaves `active` now.
        refresh_active(e, body);
        if (!schedulable(e)) return true;
      }
    }

    if (made) {
      ++stats_.made_ahead;
    } else {
      made = make_run_of(e, std::move(*found), at);
      if (!made) return true;
    }
    // Freed after the burst: freeing a manifest costs about what making it
    // does, and would delay the runs of the burst still to come.
    e.spent = std::move(made);
    const auto& run_name = e.spent->name;
    auto submitted = workflows_.submit(e.spent->workflow, {});
    if (!submitted && submitted.error().code != errc::already_exists) {
      set_condition(e, "SubmissionError",
                    "cannot submit " + run_name + ": " + submitted.error().message);
      ++stats_.submit_errors;
      spdlog::warn("cron: CronWorkflow {}/{}: cannot submit {}: {}", e.ns, e.name, run_name,
                   submitted.error().message);
      return true;
    }
    ++stats_.submitted;
    // The name moves, not copies: no allocation while a burst is submitted.
    if (std::find(e.active.begin(), e.active.end(), run_name) == e.active.end())
      e.active.push_back(std::move(e.spent->name));
    e.last_scheduled = at;
    clear_condition(e);
    return true;
  }

  // The run of manifest `body` (of a version whose runs validate) for due
  // time `at`, stamped without the loader; null when the manifest has no
  // workflowSpec to make one from.
  static std::unique_ptr<made_run> stamped_run(json&& body, const std::string& ns,
                                               const std::string& name, time_point at,
                                               std::int64_t version) {
    auto manifest = workflow_manifest_for(std::move(body), ns, name, at);
    if (!manifest) return nullptr;
    auto run = std::make_unique<made_run>();
    run->at = at;
    run->version = version;
    run->name = (*manifest)["metadata"]["name"].get<std::string>();
    run->workflow = validated_run(std::move(*manifest));
    return run;
  }

  // The run of `found` (the CronWorkflow as stored) for due time `at`: its
  // name and Workflow; null, with the entry's condition set, when the
  // manifest does not make a valid Workflow.
  std::unique_ptr<made_run> make_run_of(cron_entry& e, store::resource_record found,
                                        time_point at) {
    json& body = found.body;
    if (e.checked_version != found.resource_version) {
      e.runs_valid = runs_validate(body, e.ns, e.name);
      e.checked_version = found.resource_version;
    }
    if (e.runs_valid && stampable(at)) {
      // The body is not needed after a manifest is made from it.
      if (auto run = stamped_run(std::move(body), e.ns, e.name, at, found.resource_version))
        return run;
      // Failed before anything was moved: the full path gives the message.
    }
    auto manifest = workflow_manifest_for(body, e.ns, e.name, at);
    if (!manifest) {
      set_condition(e, "SpecError", manifest.error().message);
      ++stats_.submit_errors;
      return nullptr;
    }
    auto run_name = (*manifest)["metadata"]["name"].get<std::string>();
    auto loaded = spec::load_json(*manifest, "CronWorkflow " + e.ns + "/" + e.name);
    if (!loaded.ok() || loaded.resources.size() != 1) {
      set_condition(
          e, "SpecError",
          "the Workflow for " + run_name + " is invalid: " + spec::to_string(loaded.diagnostics));
      ++stats_.submit_errors;
      return nullptr;
    }
    auto run = std::make_unique<made_run>();
    run->at = at;
    run->version = found.resource_version;
    run->name = std::move(run_name);
    run->workflow = std::move(loaded.resources.front());
    return run;
  }

  // Whether the run made ahead is still what the stored manifest makes: no
  // resource was written since the entry's copy, from which it was made.
  bool made_current(const cron_entry& e, const made_run& made) const {
    if (made.version != e.body_version || made.generation != e.body_generation) return false;
    const auto generation = db_.resource_generation();
    return generation && *generation == made.generation;
  }

  // Makes the runs due within prepare_ahead of `now` that are not made yet,
  // earliest first, from the entries' manifest copies. Stops early when the
  // earliest due time comes close, leaving the rest to the next call: the
  // runs made are an optimisation, and the due time must not wait for them.
  void make_ahead(time_point now) {
    // The runs of the last burst are freed here, where most runs are made:
    // the allocator then reuses their memory at once, where freeing them on
    // another thread leaves it to be sorted out later, slowly.
    std::vector<std::unique_ptr<made_run>> retired;
    {
      std::lock_guard lock(mutex_);
      retired.swap(retired_);
    }
    retired.clear();
    if (settings_.prepare_ahead <= std::chrono::milliseconds::zero() ||
        settings_.prepare_limit == 0)
      return;
    if (making_.exchange(true)) return;  // another thread is making runs
    // Counted with the due times' CPU: making a run is part of firing it.
    const auto cpu_before = thread_cpu();
    struct job {
      std::string ns;
      std::string name;
      time_point at;
      std::int64_t version;
      std::uint64_t generation;
      std::string text;
    };
    std::vector<job> jobs;
    const auto generation = db_.resource_generation();
    const auto horizon = now + settings_.prepare_ahead;
    bool whole = true;  // every run due by `horizon` is made (or cannot be)
    {
      std::lock_guard lock(mutex_);
      std::size_t counted = 0;
      for (const auto& [at, e] : queue_) {
        if (at > horizon) break;
        if (counted++ >= settings_.prepare_limit) break;
        if (e->firing || (e->made && e->made->at == at)) continue;
        if (!generation || e->body_generation != *generation || e->body_text.empty() ||
            !e->runs_valid || e->checked_version != e->body_version || !stampable(at))
          continue;  // made at its due time, by the full path
        jobs.push_back({e->ns, e->name, at, e->body_version, e->body_generation, e->body_text});
      }
    }
    std::vector<std::unique_ptr<made_run>> made(jobs.size());
    std::size_t done = 0;
    for (; done < jobs.size(); ++done) {
      if (done % 32 == 0 && imminent()) {
        whole = false;
        break;
      }
      auto& j = jobs[done];
      auto body = json::parse(j.text, nullptr, false);
      if (body.is_discarded()) continue;
      made[done] = stamped_run(std::move(body), j.ns, j.name, j.at, j.version);
      if (made[done]) made[done]->generation = j.generation;
    }
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < done; ++i) {
        if (!made[i]) continue;
        auto it = entries_.find(key_of(jobs[i].ns, jobs[i].name));
        if (it == entries_.end()) continue;
        auto& e = *it->second;
        // Changed, rescheduled or firing since it was picked: not its run.
        if (e.firing || e.due != jobs[i].at || e.body_version != jobs[i].version) continue;
        e.made = std::move(made[i]);
      }
    }
    if (whole) made_through_ns_ = horizon.time_since_epoch().count();
    stats_.due_cpu_ns += (thread_cpu() - cpu_before).count();
    making_ = false;
  }

  // Whether the earliest due time is too close to go on making runs.
  bool imminent() const {
    const auto earliest = earliest_ns_.load();
    if (earliest == no_due) return false;
    const time_point at{time_point::duration(earliest)};
    return at - clock_.now() < std::chrono::milliseconds(2);
  }

  // The CronWorkflow as stored now: the entry's copy while the store
  // reports no resource change since it was known current, else a read,
  // which becomes the copy.
  result<store::resource_record> current_manifest(cron_entry& e) {
    const auto generation = db_.resource_generation();
    if (generation && *generation == e.body_generation && !e.body_text.empty()) {
      auto body = json::parse(e.body_text, nullptr, false);
      if (!body.is_discarded()) {
        store::resource_record r;
        r.kind = cron_kind;
        r.namespace_ = e.ns;
        r.name = e.name;
        r.resource_version = e.body_version;
        r.body = std::move(body);
        return r;
      }
    }
    auto found = db_.get_resource(cron_kind, e.ns, e.name);
    if (found) remember_manifest(e, *found, generation);
    return found;
  }

  // `generation`: the store's resource generation read before `r` was.
  // A record without its manifest (null body) only confirms a copy of the
  // same version.
  static void remember_manifest(cron_entry& e, const store::resource_record& r,
                                std::optional<std::uint64_t> generation) {
    if (r.body.is_null()) {
      if (e.body_version == r.resource_version) e.body_generation = generation.value_or(0);
      return;
    }
    if (e.body_version != r.resource_version || e.body_text.empty()) {
      e.body_text = dump_json_replacing(r.body);
      e.body_version = r.resource_version;
    }
    e.body_generation = generation.value_or(0);
  }

  // Loads a run of the CronWorkflow `body`, named for the placeholder time,
  // to learn whether its runs are valid Workflows.
  static bool runs_validate(const json& body, const std::string& ns, const std::string& name) {
    const time_point placeholder{std::chrono::seconds(template_seconds)};
    auto manifest = workflow_manifest_for(body, ns, name, placeholder);
    if (!manifest) return false;
    auto loaded = spec::load_json(*manifest, "CronWorkflow " + ns + "/" + name);
    return loaded.ok() && loaded.resources.size() == 1;
  }

  // A run of a validated version as the workflow service takes it: the
  // manifest and its metadata. The typed spec is left empty; the engine
  // builds its own from the manifest.
  static spec::resource validated_run(json manifest) {
    spec::resource w;
    w.kind = spec::kind::workflow;
    const auto& meta = manifest["metadata"];
    w.metadata.name = meta.value("name", std::string());
    w.metadata.namespace_ = meta.value("namespace", std::string());
    for (const char* key : {"labels", "annotations"}) {
      const auto& m = member(meta, key);
      if (!m.is_object()) continue;
      auto& into = std::string_view(key) == "labels" ? w.metadata.labels : w.metadata.annotations;
      for (const auto& [k, v] : m.items())
        if (v.is_string()) into[k] = v.get<std::string>();
    }
    w.manifest = std::move(manifest);
    return w;
  }

  // ---- active runs, history, stopStrategy ----------------------------------

  struct observed_phase {
    std::string name;
    std::optional<std::string> phase;  // nullopt: the workflow is gone
  };

  // The stored phases of the named runs, absent ones left out; nullopt when
  // the store cannot be read.
  using phase_map = std::unordered_map<std::string, std::string>;
  std::optional<phase_map> stored_phases(const std::string& ns,
                                         const std::vector<std::string>& names) {
    auto found = db_.workflow_phases(ns, names);
    if (!found) return std::nullopt;
    return phase_map(found->begin(), found->end());
  }

  // What is known of each of `names`; nothing at all (every run stays
  // active) when the phases could not be read.
  static std::vector<observed_phase> observe(const std::vector<std::string>& names,
                                             const std::optional<phase_map>& phases) {
    std::vector<observed_phase> out;
    if (!phases) return out;
    for (const auto& name : names) {
      auto it = phases->find(name);
      out.push_back({name, it == phases->end() ? std::nullopt : std::optional(it->second)});
    }
    return out;
  }

  void refresh_active(cron_entry& e, const json& body) {
    if (e.active.empty()) return;
    apply_phases(e, observe(e.active, stored_phases(e.ns, e.active)), &body);
  }

  // Moves finished runs out of `active`, counting them, then trims the
  // history and evaluates stopStrategy.
  // `body`: the manifest, or null to parse the entry's copy if needed.
  void apply_phases(cron_entry& e, const std::vector<observed_phase>& phases, const json* body) {
    bool completed = false;
    for (const auto& p : phases) {
      auto it = std::find(e.active.begin(), e.active.end(), p.name);
      if (it == e.active.end()) continue;
      if (!p.phase) {
        e.active.erase(it);
        continue;
      }
      if (!finished_phase(*p.phase)) continue;
      e.active.erase(it);
      completed = true;
      if (*p.phase == "Succeeded")
        ++e.succeeded;
      else
        ++e.failed;
    }
    if (!completed) return;
    trim_history(e);
    if (!e.stop_expression.empty() && !e.stopped) {
      json parsed;
      if (!body) {
        parsed = json::parse(e.body_text, nullptr, false);
        body = &parsed;
      }
      auto stop = evaluate(e, e.stop_expression, *body, "stopStrategy.expression");
      if (!stop) {
        set_condition(e, "SpecError", stop.error().message);
      } else if (*stop) {
        stop_cron(e);
      }
    }
  }

  // Argo 3.6 marks a CronWorkflow whose stopStrategy matched as Stopped and
  // suspends it, so that resume is how it starts again.
  void stop_cron(cron_entry& e) {
    e.stopped = true;
    enqueue(e, std::nullopt);
    spdlog::info(
        "cron: CronWorkflow {}/{} stopped: stopStrategy.expression is true "
        "(succeeded {}, failed {})",
        e.ns, e.name, e.succeeded, e.failed);
    auto found = db_.get_resource(cron_kind, e.ns, e.name);
    if (!found) return;
    auto record = std::move(*found);
    const auto version = record.resource_version;
    auto& spec = record.body["spec"];
    if (!spec.is_object()) return;
    spec["suspend"] = true;
    auto updated = db_.update_resource(std::move(record), version);
    if (updated) {
      e.resource_version = updated->resource_version;
      e.suspend = true;
    }
  }

  void trim_history(cron_entry& e) {
    auto listed = db_.list_workflows(e.ns);
    if (!listed) return;
    int succeeded = 0;
    int failed = 0;
    // Newest first, so the first `limit` of each kind are kept.
    for (const auto& w : *listed) {
      if (!finished_phase(w.phase)) continue;
      const auto& labels = member(member(w.body, "metadata"), "labels");
      if (string_member(labels, std::string(cron_workflow_label).c_str()) != e.name) continue;
      const bool ok = w.phase == "Succeeded";
      const int kept = ok ? succeeded++ : failed++;
      if (kept < (ok ? e.successful_limit : e.failed_limit)) continue;
      if (auto gone = db_.delete_workflow(e.ns, w.name);
          !gone && gone.error().code != errc::not_found)
        spdlog::warn("cron: cannot delete old run {}/{}: {}", e.ns, w.name, gone.error().message);
    }
  }

  // ---- expressions ---------------------------------------------------------

  json expression_env(const cron_entry& e, const json& body) const {
    const auto& meta = member(body, "metadata");
    const auto& labels = member(meta, "labels");
    const auto& annotations = member(meta, "annotations");
    return json{{"cronworkflow",
                 {{"name", e.name},
                  {"namespace", e.ns},
                  {"labels", labels.is_object() ? labels : json::object()},
                  {"annotations", annotations.is_object() ? annotations : json::object()},
                  {"lastScheduledTime",
                   e.last_scheduled ? json(format_rfc3339(*e.last_scheduled)) : json()},
                  {"failed", e.failed},
                  {"succeeded", e.succeeded}}}};
  }

  // Argo substitutes {{cronworkflow.*}} (and {{= expr}}) first, then
  // evaluates the text as expr-lang.
  result<bool> evaluate(const cron_entry& e, const std::string& source, const json& body,
                        std::string_view what) {
    const json env = expression_env(e, body);
    std::string text = source;
    if (text.find("{{") != std::string::npos) {
      const auto& vars = env["cronworkflow"];
      auto lookup = [&vars](std::string_view name) -> std::optional<std::string> {
        constexpr std::string_view prefix = "cronworkflow.";
        if (name.substr(0, prefix.size()) != prefix) return std::nullopt;
        auto rest = std::string(name.substr(prefix.size()));
        auto dot = rest.find('.');
        const json* v = nullptr;
        if (dot == std::string::npos) {
          auto it = vars.find(rest);
          if (it != vars.end()) v = &*it;
        } else {
          auto group = vars.find(rest.substr(0, dot));
          if (group != vars.end() && group->is_object()) {
            auto it = group->find(rest.substr(dot + 1));
            if (it != group->end()) v = &*it;
          }
        }
        if (!v) return std::nullopt;
        if (v->is_string()) return v->get<std::string>();
        if (v->is_null()) return std::string();
        return dump_json_replacing(*v);
      };
      auto substituted = placeholders::substitute(text, lookup, env);
      if (!substituted)
        return make_error(errc::invalid_argument,
                          std::string(what) + ": " + substituted.error().message);
      text = std::move(*substituted);
    }
    auto value = settings_.evaluate_bool(text, env);
    if (!value)
      return make_error(errc::invalid_argument, std::string(what) + ": " + value.error().message);
    return *value;
  }

  // ---- status ---------------------------------------------------------------

  static void set_condition(cron_entry& e, std::string type, std::string message) {
    e.condition_type = std::move(type);
    e.condition_message = std::move(message);
  }
  static void clear_condition(cron_entry& e) {
    e.condition_type.clear();
    e.condition_message.clear();
  }

  json state_of(const cron_entry& e) const { return state_of(e, e.due); }

  // The state with `due` as the next scheduled time.
  json state_of(const cron_entry& e, const std::optional<time_point>& due) const {
    json active = json::array();
    for (const auto& name : e.active)
      active.push_back({{"apiVersion", std::string(spec::api_version)},
                        {"kind", "Workflow"},
                        {"namespace", e.ns},
                        {"name", name}});
    json s = {{"active", std::move(active)},
              {"succeeded", e.succeeded},
              {"failed", e.failed},
              {"phase", e.stopped ? "Stopped" : "Active"},
              {"observedSchedule", e.schedule_key}};
    if (e.last_scheduled) s["lastScheduledTime"] = format_rfc3339(*e.last_scheduled);
    if (e.last_evaluated) s["lastEvaluatedTime"] = format_rfc3339(*e.last_evaluated);
    if (due) s["nextScheduledTime"] = format_rfc3339(*due);
    json conditions = json::array();
    if (!e.spec_error.empty()) {
      conditions.push_back({{"type", "SpecError"}, {"status", "True"}, {"message", e.spec_error}});
    } else if (!e.condition_type.empty()) {
      conditions.push_back(
          {{"type", e.condition_type}, {"status", "True"}, {"message", e.condition_message}});
    }
    if (!conditions.empty()) s["conditions"] = std::move(conditions);
    return s;
  }

  static void restore(cron_entry& e, const json& s) {
    e.last_scheduled = time_member(s, "lastScheduledTime");
    e.last_evaluated = time_member(s, "lastEvaluatedTime");
    e.succeeded = int_member(s, "succeeded").value_or(0);
    e.failed = int_member(s, "failed").value_or(0);
    e.stopped = string_member(s, "phase") == "Stopped";
    if (const auto& active = member(s, "active"); active.is_array()) {
      for (const auto& a : active) {
        auto name = a.is_string() ? a.get<std::string>() : string_member(a, "name");
        if (!name.empty()) e.active.push_back(std::move(name));
      }
    }
  }

  // Called with mutex_ held. Hands the states to the writer threads (the
  // newest state of a cron replaces one not yet written) and releases the
  // lock; with `wait`, returns once they are in the store.
  void write_states(std::unique_lock<std::mutex> lock, state_writes writes,
                    const std::vector<std::string>& removed, bool wait) {
    {
      std::lock_guard queue_lock(writer_mutex_);
      for (auto& [ns, name, state] : writes) queue_write(key_of(ns, name), std::move(state));
      for (const auto& key : removed) queue_write(key, std::nullopt);
    }
    writer_cv_.notify_all();
    lock.unlock();
    if (wait) flush_states();
  }

  // With writer_mutex_ held.
  void queue_write(const std::string& key, std::optional<json> state) {
    auto [it, inserted] = pending_writes_.insert_or_assign(key, std::move(state));
    (void)it;
    if (inserted) write_order_.push_back(key);
  }

  void flush_states() {
    std::unique_lock lock(writer_mutex_);
    writer_idle_cv_.wait(lock, [this] { return pending_writes_.empty() && !writing_; });
  }

  // One thread saves every state queued since its last commit in one
  // transaction, so a burst of due crons costs a few commits, not one each.
  // Only the newest state of a cron is saved.
  void writer_loop() {
    std::unique_lock lock(writer_mutex_);
    for (;;) {
      writer_cv_.wait(lock, [&] { return !write_order_.empty() || writers_stop_; });
      if (write_order_.empty()) return;
      std::vector<store::database::state_change> batch;
      const auto n = std::min(write_order_.size(), std::max<std::size_t>(1, settings_.state_batch));
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        auto node = pending_writes_.extract(write_order_.front());
        write_order_.pop_front();
        const auto& key = node.key();
        const auto slash = key.find('/');
        batch.push_back({key.substr(0, slash), key.substr(slash + 1), std::move(node.mapped())});
      }
      writing_ = true;
      lock.unlock();
      if (auto saved = db_.change_states(state_scope, batch); !saved)
        spdlog::warn("cron: cannot save the state of {} CronWorkflow(s), {}/{} first: {}",
                     batch.size(), batch.front().ns, batch.front().name, saved.error().message);
      lock.lock();
      writing_ = false;
      if (pending_writes_.empty()) writer_idle_cv_.notify_all();
    }
  }

  void stop_writers() {
    flush_states();
    {
      std::lock_guard lock(writer_mutex_);
      writers_stop_ = true;
    }
    writer_cv_.notify_all();
    if (writer_.joinable()) writer_.join();
  }

  // ---- resync ---------------------------------------------------------------

  result<void> resync_impl(bool wait) {
    const auto generation = db_.resource_generation();
    auto listed = db_.list_resource_versions(cron_kind, "");
    if (!listed) return std::move(listed).error();

    // Only new and changed versions are read whole: an unchanged one is
    // neither parsed nor copied. Many of them (the first resync) are read in
    // one listing.
    std::vector<std::size_t> changed;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < listed->size(); ++i) {
        const auto& r = (*listed)[i];
        auto it = entries_.find(key_of(r.namespace_, r.name));
        if (it == entries_.end() || it->second->resource_version != r.resource_version ||
            it->second->checked_version != r.resource_version)
          changed.push_back(i);
      }
    }
    if (changed.size() > listed->size() / 8) {
      auto whole = db_.list_resources(cron_kind, "");
      if (!whole) return std::move(whole).error();
      return resync_listed(std::move(*whole), generation, wait);
    }
    std::vector<char> gone(listed->size(), 0);
    for (auto i : changed) {
      auto& r = (*listed)[i];
      auto found = db_.get_resource(cron_kind, r.namespace_, r.name);
      if (found)
        r = std::move(*found);
      else if (found.error().code == errc::not_found)
        gone[i] = 1;  // deleted since the listing: treated as not listed
      else
        return std::move(found).error();
    }
    std::vector<store::resource_record> kept;
    kept.reserve(listed->size());
    for (std::size_t i = 0; i < listed->size(); ++i)
      if (!gone[i]) kept.push_back(std::move((*listed)[i]));
    return resync_listed(std::move(kept), generation, wait);
  }

  // `listed`: every CronWorkflow, with the manifest of each one new or
  // changed since the last resync; `generation`: the store's resource
  // generation read before the listing.
  result<void> resync_listed(std::vector<store::resource_record> listed,
                             std::optional<std::uint64_t> generation, bool wait) {
    // New or changed versions have their runs validated first, without the
    // lock, so that a due time only stamps a name and a time, and so that
    // what is scheduled below is scheduled from after this work.
    std::vector<std::size_t> to_validate;
    {
      std::lock_guard lock(mutex_);
      for (std::size_t i = 0; i < listed.size(); ++i) {
        const auto& r = listed[i];
        if (r.body.is_null()) continue;
        auto it = entries_.find(key_of(r.namespace_, r.name));
        if (it == entries_.end() || it->second->checked_version != r.resource_version)
          to_validate.push_back(i);
      }
    }
    std::vector<signed char> valid(listed.size(), -1);  // -1: not validated here
    for_each_parallel(to_validate.size(), [&](std::size_t i) {
      const auto& r = listed[to_validate[i]];
      valid[to_validate[i]] = runs_validate(r.body, r.namespace_, r.name) ? 1 : 0;
    });

    state_writes writes;
    std::vector<std::string> removed;
    struct pending_refresh {
      std::string key;
      std::string ns;
      std::vector<std::string> names;
      const json* body;
    };
    std::vector<pending_refresh> refresh;
    {
      std::unique_lock lock(mutex_);
      const auto now = clock_.now();
      std::unordered_set<std::string> seen;
      seen.reserve(listed.size());
      for (std::size_t i = 0; i < listed.size(); ++i) {
        const auto& r = listed[i];
        auto key = key_of(r.namespace_, r.name);
        seen.insert(key);
        auto it = entries_.find(key);
        if (it != entries_.end() && it->second->firing) {
          // Being fired without the lock: its change (or removal) is left
          // to the next resync, which still sees a different version.
          continue;
        }
        if (r.body.is_null() &&
            (it == entries_.end() || it->second->resource_version != r.resource_version)) {
          // Changed by a concurrent resync since this one listed it: its
          // manifest was not read, so the next resync handles it.
          continue;
        }
        if (it == entries_.end()) {
          auto e = std::make_unique<cron_entry>();
          e->ns = r.namespace_;
          e->name = r.name;
          auto* raw = e.get();
          entries_.emplace(key, std::move(e));
          note_validity(*raw, r, valid[i]);
          load_entry(*raw, r, now);
          writes.emplace_back(raw->ns, raw->name, state_of(*raw));
        } else if (it->second->resource_version != r.resource_version) {
          note_validity(*it->second, r, valid[i]);
          update_entry(*it->second, r, now);
          writes.emplace_back(r.namespace_, r.name, state_of(*it->second));
        }
        auto& e = *entries_.at(key);
        remember_manifest(e, r, generation);
        if (!e.active.empty())
          refresh.push_back({key, e.ns, e.active, r.body.is_null() ? nullptr : &r.body});
      }
      for (auto it = entries_.begin(); it != entries_.end();) {
        if (seen.count(it->first) || it->second->firing) {
          ++it;
          continue;
        }
        if (it->second->due) queue_.erase({*it->second->due, it->second.get()});
        removed.push_back(it->first);
        it = entries_.erase(it);
      }
      publish_earliest();
      write_states(std::move(lock), std::move(writes), removed, false);
    }

    // Workflow phases are read without the lock so due runs are not held up.
    writes.clear();
    removed.clear();
    // One snapshot read per namespace for the runs of every cron.
    std::map<std::string, std::vector<std::string>> names_by_ns;
    for (const auto& p : refresh) {
      auto& names = names_by_ns[p.ns];
      names.insert(names.end(), p.names.begin(), p.names.end());
    }
    std::map<std::string, std::optional<phase_map>> phases_by_ns;
    for (const auto& [ns, names] : names_by_ns) phases_by_ns[ns] = stored_phases(ns, names);
    std::vector<std::vector<observed_phase>> phases;
    phases.reserve(refresh.size());
    for (const auto& p : refresh) phases.push_back(observe(p.names, phases_by_ns[p.ns]));
    std::unique_lock lock(mutex_);
    for (std::size_t i = 0; i < refresh.size(); ++i) {
      auto it = entries_.find(refresh[i].key);
      if (it == entries_.end() || it->second->firing) continue;
      auto& e = *it->second;
      const auto before = e.active.size();
      const bool was_stopped = e.stopped;
      apply_phases(e, phases[i], refresh[i].body);
      if (e.active.size() != before || e.stopped != was_stopped)
        writes.emplace_back(e.ns, e.name, state_of(e));
    }
    publish_earliest();
    write_states(std::move(lock), std::move(writes), removed, wait);
    return {};
  }

  static void note_validity(cron_entry& e, const store::resource_record& r, signed char valid) {
    if (valid < 0) return;
    e.runs_valid = valid != 0;
    e.checked_version = r.resource_version;
  }

  // A CronWorkflow this controller has not seen: restore its stored state
  // and handle the times missed while no controller ran.
  void load_entry(cron_entry& e, const store::resource_record& r, time_point now) {
    e.resource_version = r.resource_version;
    apply_spec(e, r.body, default_zone_);
    auto state = db_.get_state(state_scope, e.ns, e.name);
    std::optional<json> stored;
    if (state && *state) stored = std::move(**state);
    if (stored) restore(e, *stored);
    if (e.stopped && !e.suspend) e.stopped = false;  // resumed while we were down
    if (!schedulable(e)) return;
    const bool same_schedule =
        stored && string_member(*stored, "observedSchedule") == e.schedule_key;
    std::optional<time_point> base = e.last_evaluated;
    if (e.last_scheduled && (!base || *e.last_scheduled > *base)) base = e.last_scheduled;
    if (same_schedule && base) {
      auto first = next_fire(e, *base);
      if (first && *first <= now) {
        auto scan = scan_missed(e, *first, now, settings_.max_missed_warn);
        if (!handle_missed(e, scan, now)) {
          // Deleted between the listing and now; the next resync drops it.
          return;
        }
      }
    }
    enqueue(e, next_fire(e, now));
  }

  void update_entry(cron_entry& e, const store::resource_record& r, time_point now) {
    e.made.reset();  // made from the version before
    const bool was_suspended = e.suspend || e.stopped;
    e.resource_version = r.resource_version;
    const bool schedule_changed = apply_spec(e, r.body, default_zone_);
    if (e.stopped && !e.suspend) e.stopped = false;
    if (!schedulable(e)) {
      enqueue(e, std::nullopt);
      return;
    }
    if (schedule_changed || was_suspended || !e.due) {
      // Takes effect from now: neither a new schedule nor a resume catches
      // up on times before it.
      e.last_evaluated = now;
      enqueue(e, next_fire(e, now));
    }
  }

  // ---- timers ---------------------------------------------------------------

  static constexpr std::int64_t no_due = INT64_MAX;

  // The timers outlive the controller as long as a handler holds them;
  // `running` (under `mutex`) says whether the controller may still be
  // called, and stop() clears it before the controller goes away.
  struct timer_core {
    explicit timer_core(asio::any_io_executor io)
        : strand(asio::make_strand(io)), due(strand), resync(strand) {}
    asio::strand<asio::any_io_executor> strand;
    asio::steady_timer due;
    asio::steady_timer resync;
    std::mutex mutex;
    bool running = false;
    impl* owner = nullptr;
  };

  // On the strand: wait (in steady time) for the earliest due time as the
  // injected clock sees it; at most a resync period, since a manual clock
  // does not move on its own.
  static void arm_due(const std::shared_ptr<timer_core>& core) {
    std::lock_guard lock(core->mutex);
    if (!core->running) return;
    impl& self = *core->owner;
    auto wait = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        self.settings_.resync_period);
    if (const auto earliest = self.earliest_ns_.load(); earliest != no_due) {
      const time_point at{time_point::duration(earliest)};
      auto until = at - self.clock_.now();
      // A due time beyond the window of runs made ahead, and not made:
      // wake when it enters the window, to make its runs first.
      const auto ahead = self.settings_.prepare_ahead;
      if (ahead > std::chrono::milliseconds::zero() && self.settings_.prepare_limit > 0 &&
          self.made_through_ns_.load() < earliest && until > ahead)
        until -= ahead;
      wait = std::clamp(std::chrono::duration_cast<std::chrono::steady_clock::duration>(until),
                        std::chrono::steady_clock::duration::zero(), wait);
    }
    core->due.expires_after(wait);
    core->due.async_wait(asio::bind_executor(core->strand, [core](boost::system::error_code ec) {
      if (ec) return;
      std::lock_guard lock(core->mutex);
      if (!core->running) return;
      impl& self = *core->owner;
      if (self.check_pending_.exchange(true)) return;
      asio::post(self.pool_, [&self, core] {
        self.check_pending_ = false;
        if (!self.running_) return;
        self.check_timers(false);
        asio::post(core->strand, [core] { arm_due(core); });
        self.make_ahead();
      });
    }));
  }

  // A resync reads every CronWorkflow's version and holds the mutex while it
  // compares them: tens of milliseconds over 10,000 crons. Due within this
  // long, a burst would compete with it, so the resync waits until the burst
  // is handled. Twice the last resync's duration, within bounds.
  std::chrono::steady_clock::duration resync_guard() const {
    const auto period =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(settings_.resync_period);
    // The floor gives way to the ceiling for a period under 80 ms: clamp
    // needs its bounds in order.
    const auto most = std::max(period / 4, std::chrono::steady_clock::duration(1));
    const auto least =
        std::min(std::chrono::steady_clock::duration(std::chrono::milliseconds(20)), most);
    return std::clamp(2 * std::chrono::steady_clock::duration(last_resync_ns_.load()), least, most);
  }

  // How long to hold the resync back so that it misses the next due burst;
  // zero to run it now. It is held back at most half a period in all.
  std::chrono::steady_clock::duration resync_delay(std::chrono::steady_clock::duration held) const {
    const auto earliest = earliest_ns_.load();
    if (earliest == no_due) return {};
    const auto guard = resync_guard();
    const auto until = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        time_point(time_point::duration(earliest)) - clock_.now());
    if (until >= guard) return {};
    const auto delay = std::max(until, std::chrono::steady_clock::duration::zero()) + guard;
    if (held + delay >
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(settings_.resync_period) /
            2)
      return {};
    return delay;
  }

  static void arm_resync(const std::shared_ptr<timer_core>& core,
                         std::optional<std::chrono::steady_clock::duration> after = std::nullopt,
                         std::chrono::steady_clock::duration held = {}) {
    std::lock_guard lock(core->mutex);
    if (!core->running) return;
    core->resync.expires_after(
        after ? *after : std::chrono::steady_clock::duration(core->owner->settings_.resync_period));
    core->resync.async_wait(
        asio::bind_executor(core->strand, [core, held](boost::system::error_code ec) {
          if (ec) return;
          std::chrono::steady_clock::duration delay{};
          {
            std::lock_guard lock(core->mutex);
            if (!core->running) return;
            impl& self = *core->owner;
            delay = self.resync_delay(held);
            if (delay == std::chrono::steady_clock::duration::zero() &&
                !self.resync_pending_.exchange(true)) {
              asio::post(self.pool_, [&self, core] {
                if (self.running_) {
                  const auto began = std::chrono::steady_clock::now();
                  self.resync(false);
                  self.last_resync_ns_ = (std::chrono::steady_clock::now() - began).count();
                  self.check_timers(false);
                  asio::post(core->strand, [core] { arm_due(core); });
                  self.make_ahead();
                }
                self.resync_pending_ = false;
              });
            }
          }
          if (delay > std::chrono::steady_clock::duration::zero())
            arm_resync(core, delay, held + delay);
          else
            arm_resync(core);
        }));
  }

  controller_settings settings_;
  store::database& db_;
  engine::workflow_service& workflows_;
  const kairos::clock& clock_;
  std::string default_zone_;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::unique_ptr<cron_entry>> entries_;
  std::set<std::pair<time_point, cron_entry*>, queue_less> queue_;
  atomic_stats stats_;
  std::atomic<std::int64_t> earliest_ns_{no_due};
  // Runs due by this time (clock nanoseconds) were made ahead; see arm_due.
  std::atomic<std::int64_t> made_through_ns_{INT64_MIN};
  std::atomic<bool> making_{false};
  // Runs submitted, to be freed by the next make_ahead (under mutex_).
  std::vector<std::unique_ptr<made_run>> retired_;
  std::atomic<std::int64_t> last_resync_ns_{0};  // steady-clock duration

  std::mutex writer_mutex_;
  std::condition_variable writer_cv_;
  std::condition_variable writer_idle_cv_;
  std::unordered_map<std::string, std::optional<json>> pending_writes_;
  std::deque<std::string> write_order_;
  bool writing_ = false;
  bool writers_stop_ = false;
  std::thread writer_;

  std::shared_ptr<timer_core> timers_;
  asio::thread_pool pool_;
  crew crew_;
  std::mutex taken_mutex_;  // guards taken_, kept by check_timers between bursts
  std::vector<std::vector<taken_due>> taken_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> check_pending_{false};
  std::atomic<bool> resync_pending_{false};
};

controller::controller(controller_settings settings, store::database& db,
                       engine::workflow_service& workflows, const kairos::clock& clock,
                       boost::asio::any_io_executor io)
    : impl_(std::make_unique<impl>(std::move(settings), db, workflows, clock, std::move(io))) {}

controller::~controller() = default;

result<void> controller::start() {
  return impl_->start();
}
void controller::stop() {
  impl_->stop();
}
void controller::resync() {
  impl_->resync();
}
void controller::check_timers() {
  impl_->check_then_make();
}
std::optional<kairos::clock::time_point> controller::next_due() const {
  return impl_->next_due();
}
std::size_t controller::cron_count() const {
  return impl_->cron_count();
}
controller_stats controller::stats() const {
  return impl_->stats();
}

}  // namespace kairos::cron
