#include "kairos/sensors/runner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kairos/cron/schedule.hpp"
#include "kairos/sensors/conditions.hpp"
#include "kairos/sensors/filter.hpp"
#include "metrics.hpp"
#include "trigger_parameters.hpp"

namespace kairos::sensors {
namespace {

using time_point = std::chrono::system_clock::time_point;
using std::chrono::milliseconds;

std::int64_t to_ms(time_point t) {
  return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}
time_point from_ms(std::int64_t ms) {
  return time_point(milliseconds(ms));
}

// The runner's state writes that the store has not committed yet. The
// store's callbacks run on its writer thread and may outlive the runner,
// hence shared.
struct save_tracker {
  std::mutex mutex;
  std::condition_variable cv;
  std::uint64_t queued = 0;
  std::uint64_t finished = 0;
  bool progress_failed = false;
  bool history_failed = false;
};

struct trigger_slot {
  spec::trigger spec;
  std::unique_ptr<trigger_action> action;
  condition cond;
  std::map<std::string, event> latest;
  std::vector<cron::schedule> resets;
  std::optional<time_point> next_reset;
  // Token bucket of rateLimit (golang.org/x/time/rate with burst = rate).
  double tokens = 0;
  std::optional<time_point> refilled_at;
  std::optional<trigger_metrics> metrics;
};

struct pending_firing {
  std::string trigger;
  event_map events;
  std::string key;
  int attempt = 0;
  time_point due;
  bool durable = true;  // false once an at-most-once firing has been claimed
};

double unit_seconds(spec::rate_limit_unit u) {
  switch (u) {
    case spec::rate_limit_unit::second:
      return 1;
    case spec::rate_limit_unit::minute:
      return 60;
    case spec::rate_limit_unit::hour:
      return 3600;
  }
  return 1;
}

}  // namespace

struct sensor_runner::impl {
  runner_settings settings;
  spec::sensor_spec spec;
  store::database& db;
  trigger_services services;
  std::shared_ptr<sensor_metrics> metrics;
  std::vector<trigger_slot> triggers;
  std::deque<pending_firing> pending;
  std::int64_t last_sequence = 0;
  // The sequence the stored state was taken at; -1 before the first save.
  std::int64_t saved_sequence = -1;
  // Firings in `pending` that the stored state does not hold (yet).
  std::size_t unsaved_firings = 0;
  // Which triggers took which events, for `kairos events list`. Kept apart
  // from the progress and written at most every history_interval: it is a
  // view, and rewriting it with every page would cost more than the page.
  struct consumed_entry {
    std::string event;
    std::int64_t sequence = 0;
    std::string dependency;
    std::string trigger;
    std::string outcome;
  };
  std::deque<consumed_entry> consumed;
  bool consumed_dirty = false;
  std::optional<time_point> consumed_saved_at;
  std::mt19937_64 random{std::random_device{}()};
  std::shared_ptr<save_tracker> saves = std::make_shared<save_tracker>();

  impl(runner_settings s, spec::sensor_spec sp, store::database& d, trigger_services sv,
       std::shared_ptr<sensor_metrics> m)
      : settings(std::move(s)),
        spec(std::move(sp)),
        db(d),
        services(std::move(sv)),
        metrics(std::move(m)) {}

  const kairos::clock& clock() const { return *services.clock; }

  trigger_slot* slot(const std::string& name) {
    for (auto& t : triggers)
      if (t.spec.template_.name == name) return &t;
    return nullptr;
  }

  // ------------------------------------------------------------- state

  nlohmann::json state_json() const {
    nlohmann::json s;
    s["last_sequence"] = last_sequence;
    s["triggers"] = nlohmann::json::object();
    for (const auto& t : triggers) {
      nlohmann::json latest = nlohmann::json::object();
      for (const auto& [dep, e] : t.latest) latest[dep] = e.to_json();
      s["triggers"][t.spec.template_.name]["latest"] = std::move(latest);
    }
    s["pending"] = nlohmann::json::array();
    for (const auto& p : pending) {
      if (!p.durable) continue;
      nlohmann::json events = nlohmann::json::object();
      for (const auto& [dep, e] : p.events) events[dep] = e.to_json();
      s["pending"].push_back({{"trigger", p.trigger},
                              {"events", std::move(events)},
                              {"key", p.key},
                              {"attempt", p.attempt},
                              {"due_ms", to_ms(p.due)}});
    }
    return s;
  }

  // Waits for the commit. Only the initial state and an at-most-once
  // firing's removal need that; everything else goes through queue_save.
  result<void> save() {
    auto r = db.put_state("sensor", settings.namespace_, settings.name, state_json());
    if (r) {
      saved_sequence = last_sequence;
      unsaved_firings = 0;
    }
    save_history(false);
    return r;
  }

  // Hands the state to the store without waiting for the commit, which
  // (with the fsync) took longer than handling the page it followed: a
  // sensor waiting on every save could not keep up with a Kafka source.
  // The store commits in queue order, so anything a trigger writes later,
  // a workflow it submits above all, commits with this state or after it.
  // An HTTP call may go out before the state is committed; a crash then
  // replays the events since the last committed state, as a crash between
  // an action and the save after it always did: at least once, and the
  // derived workflow names keep submissions single.
  void queue_save() {
    track("sensor", state_json(), &save_tracker::progress_failed);
    saved_sequence = last_sequence;
    unsaved_firings = 0;
    save_history(false);
  }

  void track(const char* scope, const nlohmann::json& state, bool save_tracker::*failed) {
    {
      std::lock_guard lock(saves->mutex);
      ++saves->queued;
    }
    db.put_state_async(
        scope, settings.namespace_, settings.name, state,
        [saves = saves, failed, ns = settings.namespace_, name = settings.name](result<void> r) {
          // The messages and levels the waiting saves logged.
          if (!r && failed == &save_tracker::progress_failed)
            spdlog::error("sensor {}/{}: cannot store progress: {}", ns, name, r.error().message);
          else if (!r)
            spdlog::warn("sensor {}/{}: cannot store its event history: {}", ns, name,
                         r.error().message);
          std::lock_guard lock(saves->mutex);
          ++saves->finished;
          if (!r) (*saves).*failed = true;
          saves->cv.notify_all();
        });
  }

  // A queued save that failed is written again at the next chance; each
  // save holds the whole state, so the next one repairs any before it.
  void retry_failed_saves() {
    std::lock_guard lock(saves->mutex);
    if (std::exchange(saves->progress_failed, false)) saved_sequence = -1;
    if (std::exchange(saves->history_failed, false)) consumed_dirty = true;
  }

  void flush() {
    std::unique_lock lock(saves->mutex);
    saves->cv.wait(lock, [&] { return saves->finished == saves->queued; });
  }

  void save_history(bool force) {
    if (!consumed_dirty) return;
    const auto now = clock().now();
    if (!force && consumed_saved_at && now - *consumed_saved_at < settings.history_interval) return;
    nlohmann::json h = nlohmann::json::object();
    h["consumed"] = nlohmann::json::array();
    for (const auto& c : consumed)
      h["consumed"].push_back({{"event", c.event},
                               {"sequence", c.sequence},
                               {"dependency", c.dependency},
                               {"trigger", c.trigger},
                               {"outcome", c.outcome}});
    track(sensor_history_scope, h, &save_tracker::history_failed);
    consumed_dirty = false;
    consumed_saved_at = now;
  }

  void restore(const nlohmann::json& s) {
    last_sequence = s.value("last_sequence", std::int64_t{0});
    if (const auto ts = s.find("triggers"); ts != s.end() && ts->is_object()) {
      for (const auto& [name, t] : ts->items()) {
        auto* sl = slot(name);
        if (!sl || !t.is_object() || !t.contains("latest") || !t["latest"].is_object()) continue;
        for (const auto& [dep, e] : t["latest"].items())
          if (std::binary_search(sl->cond.names().begin(), sl->cond.names().end(), dep))
            sl->latest[dep] = event::from_json(e);
      }
    }
    if (const auto ps = s.find("pending"); ps != s.end() && ps->is_array()) {
      for (const auto& p : *ps) {
        if (!p.is_object()) continue;
        pending_firing f;
        f.trigger = p.value("trigger", std::string());
        if (!slot(f.trigger)) continue;
        if (p.contains("events") && p["events"].is_object())
          for (const auto& [dep, e] : p["events"].items()) f.events[dep] = event::from_json(e);
        f.key = p.value("key", firing_key(f.events));
        f.attempt = p.value("attempt", 0);
        f.due = from_ms(p.value("due_ms", std::int64_t{0}));
        pending.push_back(std::move(f));
      }
    }
  }

  void restore_history(const nlohmann::json& h) {
    const auto c = h.find("consumed");
    if (c == h.end() || !c->is_array()) return;
    consumed.clear();
    for (const auto& entry : *c) {
      if (!entry.is_object()) continue;
      consumed.push_back(
          {entry.value("event", std::string()), entry.value("sequence", std::int64_t{0}),
           entry.value("dependency", std::string()), entry.value("trigger", std::string()),
           entry.value("outcome", std::string())});
    }
  }

  // A sensor without progress starts at the end of the journal: events from
  // before it existed do not fire it. Found from the newest end: paging
  // through a week of journal parsed every event in it.
  result<std::int64_t> journal_end() {
    auto newest = db.read_newest_events(1);
    if (!newest) return std::move(newest).error();
    return newest->empty() ? std::int64_t{0} : newest->back().sequence;
  }

  // ------------------------------------------------------------- events

  // Whether handling an event that these dependencies take fires a trigger;
  // mirrors the updates handle() makes, without making them.
  bool would_fire(const std::vector<const spec::event_dependency*>& taken) const {
    for (const auto& t : triggers) {
      std::set<std::string> satisfied;
      for (const auto& [name, held] : t.latest) satisfied.insert(name);
      for (const auto* dep : taken) {
        if (!std::binary_search(t.cond.names().begin(), t.cond.names().end(), dep->name)) continue;
        satisfied.insert(dep->name);
        if (t.cond.evaluate(satisfied)) return true;
      }
    }
    return false;
  }

  void handle(event e) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<const spec::event_dependency*> taken;
    const std::string source = e.source(), subject = e.subject();
    for (const auto& dep : spec.dependencies) {
      if (dep.event_source_name != source || dep.event_name != subject) continue;
      const auto outcome = apply_filters(dep, e, clock());
      if (!outcome.pass) {
        spdlog::debug("sensor {}/{}: dependency {} discards event {}: {}", settings.namespace_,
                      settings.name, dep.name, e.id, outcome.reason);
        continue;
      }
      taken.push_back(&dep);
    }
    if (taken.empty()) return;
    if (unsaved_firings == 0 && saved_sequence != last_sequence && would_fire(taken)) {
      // The progress up to the previous event is stored before this one
      // fires anything. Its firings are then not stored until they have
      // run: a crash replays this event and derives them again.
      queue_save();
    }
    // Which triggers hold the event for which dependency; the last holder
    // takes the event itself, the others a copy (usually there is one).
    std::vector<std::pair<trigger_slot*, const spec::event_dependency*>> holders;
    for (const auto* dep : taken)
      for (auto& t : triggers)
        if (std::binary_search(t.cond.names().begin(), t.cond.names().end(), dep->name))
          holders.emplace_back(&t, dep);
    std::vector<trigger_slot*> touched;
    for (std::size_t i = 0; i < holders.size(); ++i) {
      auto& t = *holders[i].first;
      const auto* dep = holders[i].second;
      if (std::find(touched.begin(), touched.end(), &t) == touched.end()) touched.push_back(&t);
      if (i + 1 == holders.size())
        t.latest[dep->name] = std::move(e);
      else
        t.latest[dep->name] = e;
      std::set<std::string> satisfied;
      for (const auto& [name, held] : t.latest) satisfied.insert(name);
      if (!t.cond.evaluate(satisfied)) continue;
      pending_firing f;
      f.trigger = t.spec.template_.name;
      f.events = std::move(t.latest);
      f.key = firing_key(f.events);
      f.due = clock().now();
      pending.push_back(std::move(f));
      ++unsaved_firings;
      // Argo clears a trigger's events once its conditions fire.
      t.latest.clear();
    }
    if (metrics) {
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
              .count();
      for (const auto* t : touched)
        if (t->metrics) t->metrics->observe_processing(ms);
    }
  }

  // ------------------------------------------------------------- actions

  bool take_token(trigger_slot& t, time_point now, time_point& next) {
    if (!t.spec.rate_limit_ || t.spec.rate_limit_->requests_per_unit <= 0) return true;
    const double burst = t.spec.rate_limit_->requests_per_unit;
    const double rate = burst / unit_seconds(t.spec.rate_limit_->unit);  // tokens per second
    if (!t.refilled_at) {
      t.tokens = burst;
      t.refilled_at = now;
    }
    const double elapsed = std::chrono::duration<double>(now - *t.refilled_at).count();
    if (elapsed > 0) {
      t.tokens = std::min(burst, t.tokens + elapsed * rate);
      t.refilled_at = now;
    }
    if (t.tokens >= 1) {
      t.tokens -= 1;
      return true;
    }
    const double wait = (1 - t.tokens) / rate;
    next =
        now + std::chrono::duration_cast<time_point::duration>(std::chrono::duration<double>(wait));
    return false;
  }

  time_point::duration backoff(const trigger_slot& t, int attempt) {
    const auto& r = t.spec.retry_strategy;
    double base_ms = 1000;
    double factor = 1;
    double jitter = 0;
    if (r) {
      if (r->duration) base_ms = std::chrono::duration<double, std::milli>(*r->duration).count();
      if (r->factor && *r->factor > 0) factor = *r->factor;
      if (r->jitter && *r->jitter > 0) jitter = *r->jitter;
    }
    double ms = base_ms * std::pow(factor, std::max(0, attempt - 1));
    if (jitter > 0) ms += ms * jitter * std::uniform_real_distribution<double>(0, 1)(random);
    ms = std::clamp(ms, 0.0, 3600.0 * 1000);
    return std::chrono::duration_cast<time_point::duration>(
        std::chrono::duration<double, std::milli>(ms));
  }

  void record(const pending_firing& p, const char* outcome) {
    for (const auto& [dep, e] : p.events)
      consumed.push_back({e.id, e.sequence, dep, p.trigger, outcome});
    const std::size_t cap = std::max<std::size_t>(settings.consumed_history, 1);
    while (consumed.size() > cap) consumed.pop_front();
    consumed_dirty = true;
  }

  // Runs one firing; returns true when it is finished (success or out of
  // retries) and false when it stays pending for a retry.
  bool execute(trigger_slot& t, pending_firing& p) {
    firing f{settings.namespace_, settings.name, p.trigger, std::move(p.events), p.key};
    const auto started = std::chrono::steady_clock::now();
    result<void> r;
    if (t.spec.parameters.empty()) {
      r = t.action->execute(t.spec, f);  // nothing to rewrite: no copy of the spec
    } else {
      auto rewritten = apply_template_parameters(t.spec, f.events);
      r = rewritten ? t.action->execute(*rewritten, f) : result<void>(rewritten.error());
    }
    p.events = std::move(f.events);  // lent to the action; kept for a retry
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (r) {
      if (t.metrics) t.metrics->action_done(true, ms);
      record(p, "triggered");
      return true;
    }
    ++p.attempt;
    const int steps = t.spec.retry_strategy && t.spec.retry_strategy->steps
                          ? std::max(1, *t.spec.retry_strategy->steps)
                          : 1;
    if (p.attempt < steps) {
      p.due = clock().now() + backoff(t, p.attempt);
      spdlog::warn("sensor {}/{} trigger {}: attempt {} of {} failed: {}; retrying",
                   settings.namespace_, settings.name, p.trigger, p.attempt, steps,
                   r.error().message);
      return false;
    }
    if (t.metrics) t.metrics->action_done(false, ms);
    spdlog::error("sensor {}/{} trigger {}: failed: {}", settings.namespace_, settings.name,
                  p.trigger, r.error().message);
    record(p, "failed");
    return true;
  }

  // Waits for the commit: for what must be stored before an action.
  void persist() {
    if (auto r = save(); !r)
      spdlog::error("sensor {}/{}: cannot store progress: {}", settings.namespace_, settings.name,
                    r.error().message);
  }

  std::size_t run_due() {
    std::size_t ran = 0;
    bool changed = false;
    std::deque<pending_firing> keep;
    while (!pending.empty()) {
      pending_firing p = std::move(pending.front());
      pending.pop_front();
      const auto now = clock().now();
      trigger_slot* t = slot(p.trigger);
      if (!t) {
        changed = true;  // the trigger was removed from the sensor
        continue;
      }
      if (p.due > now) {
        keep.push_back(std::move(p));
        continue;
      }
      time_point next{};
      if (!take_token(*t, now, next)) {
        p.due = next;
        keep.push_back(std::move(p));
        continue;
      }
      if (!t->spec.at_least_once && p.durable) {
        // At most once: forget the firing durably before acting.
        p.durable = false;
        std::deque<pending_firing> rest = keep;
        for (auto& q : pending) rest.push_back(q);
        std::swap(pending, rest);
        persist();
        std::swap(pending, rest);
      }
      ++ran;
      changed = true;
      if (!execute(*t, p)) keep.push_back(std::move(p));
    }
    pending = std::move(keep);
    if (changed)
      queue_save();
    else
      save_history(false);
    return ran;
  }
};

sensor_runner::sensor_runner(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
sensor_runner::~sensor_runner() {
  // A replaced or stopped sensor leaves its latest history behind, and
  // whoever reads its state next (its successor) reads what it saved.
  if (impl_) {
    impl_->save_history(true);
    impl_->flush();
  }
}

result<std::unique_ptr<sensor_runner>> sensor_runner::create(
    runner_settings settings, spec::sensor_spec spec, store::database& db,
    trigger_services services, std::shared_ptr<sensor_metrics> metrics) {
  if (!services.clock) return make_error(errc::failed_precondition, "sensor runner needs a clock");
  auto p = std::make_unique<impl>(std::move(settings), std::move(spec), db, std::move(services),
                                  std::move(metrics));
  std::vector<std::string> dependency_names;
  for (const auto& d : p->spec.dependencies) dependency_names.push_back(d.name);
  for (const auto& t : p->spec.triggers) {
    trigger_slot slot;
    slot.spec = t;
    auto cond = condition::parse(t.template_.conditions, dependency_names);
    if (!cond)
      return make_error(cond.error().code,
                        fmt::format("trigger \"{}\": {}", t.template_.name, cond.error().message));
    slot.cond = std::move(*cond);
    auto action = make_trigger_action(t, p->services);
    if (!action) return std::move(action).error();
    slot.action = std::move(*action);
    if (p->metrics) slot.metrics = p->metrics->for_trigger(p->settings.name, t.template_.name);
    for (const auto& reset : t.template_.conditions_reset) {
      if (!reset.by_time) continue;
      auto s = cron::schedule::parse(reset.by_time->cron, reset.by_time->timezone.empty()
                                                              ? std::string_view("UTC")
                                                              : reset.by_time->timezone);
      if (!s)
        return make_error(errc::invalid_argument,
                          fmt::format("trigger \"{}\": conditionsReset.byTime.cron: {}",
                                      t.template_.name, s.error().message));
      slot.resets.push_back(std::move(*s));
    }
    p->triggers.push_back(std::move(slot));
  }
  return std::unique_ptr<sensor_runner>(new sensor_runner(std::move(p)));
}

result<void> sensor_runner::load() {
  auto& s = *impl_;
  auto stored = s.db.get_state("sensor", s.settings.namespace_, s.settings.name);
  if (!stored) return std::move(stored).error();
  if (*stored && (*stored)->is_object()) {
    s.restore(**stored);
    s.saved_sequence = s.last_sequence;
    s.restore_history(**stored);  // where earlier builds kept it
    auto history = s.db.get_state(sensor_history_scope, s.settings.namespace_, s.settings.name);
    if (history && *history && (*history)->is_object()) s.restore_history(**history);
  } else {
    std::int64_t start = 0;
    if (!s.settings.start_at_beginning) {
      auto end = s.journal_end();
      if (!end) return std::move(end).error();
      start = *end;
    }
    s.last_sequence = start;
    if (auto r = s.save(); !r) return r;
  }
  const auto now = s.clock().now();
  for (auto& t : s.triggers) {
    for (const auto& r : t.resets) {
      const auto n = r.next(now);
      if (n && (!t.next_reset || *n < *t.next_reset)) t.next_reset = n;
    }
  }
  return {};
}

result<std::size_t> sensor_runner::process_journal(
    const std::function<void(std::int64_t)>& on_page) {
  auto& s = *impl_;
  s.retry_failed_saves();
  std::size_t total = 0;
  const std::size_t batch = std::max<std::size_t>(s.settings.batch, 1);
  while (true) {
    auto page = s.db.read_events_shared(s.last_sequence, batch);
    if (!page) return std::move(page).error();
    if (page->empty()) break;
    const auto count = page->size();
    for (auto& record : *page) {
      const auto sequence = record.sequence;
      s.handle(event::from_record(std::move(record)));
      s.last_sequence = sequence;
    }
    total += count;
    // Without new firings the progress is saved now. With them it was
    // saved before the first one (see handle), and is saved again once
    // they have run: a crash in between replays their events, which derive
    // the same firings with the same keys.
    if (s.unsaved_firings == 0 && s.saved_sequence != s.last_sequence) s.queue_save();
    if (on_page) on_page(s.last_sequence);
    if (count < batch) break;
    // More pages follow: act on this one's firings first, so what a crash
    // replays stays one page large instead of growing with the backlog.
    s.run_due();
  }
  // After a failed save with nothing new to read.
  if (s.unsaved_firings == 0 && s.saved_sequence != s.last_sequence) s.queue_save();
  return total;
}

std::size_t sensor_runner::run_due() {
  impl_->retry_failed_saves();
  return impl_->run_due();
}

void sensor_runner::flush() {
  impl_->flush();
}

void sensor_runner::check_resets() {
  auto& s = *impl_;
  const auto now = s.clock().now();
  bool changed = false;
  for (auto& t : s.triggers) {
    if (!t.next_reset || *t.next_reset > now) continue;
    if (!t.latest.empty()) {
      spdlog::debug("sensor {}/{} trigger {}: conditionsReset clears {} held event(s)",
                    s.settings.namespace_, s.settings.name, t.spec.template_.name, t.latest.size());
      t.latest.clear();
      changed = true;
    }
    t.next_reset.reset();
    for (const auto& r : t.resets) {
      const auto n = r.next(now);
      if (n && (!t.next_reset || *n < *t.next_reset)) t.next_reset = n;
    }
  }
  if (changed) s.queue_save();
}

std::optional<std::chrono::system_clock::time_point> sensor_runner::next_due() const {
  std::optional<time_point> best;
  for (const auto& p : impl_->pending)
    if (!best || p.due < *best) best = p.due;
  for (const auto& t : impl_->triggers)
    if (t.next_reset && (!best || *t.next_reset < *best)) best = t.next_reset;
  return best;
}

std::int64_t sensor_runner::last_sequence() const {
  return impl_->last_sequence;
}
std::size_t sensor_runner::pending() const {
  return impl_->pending.size();
}

std::vector<std::string> sensor_runner::held(const std::string& trigger) const {
  std::vector<std::string> out;
  for (const auto& t : impl_->triggers)
    if (t.spec.template_.name == trigger)
      for (const auto& [dep, e] : t.latest) out.push_back(dep);
  return out;
}

}  // namespace kairos::sensors
