#include "kairos/sensors/manager.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "kairos/sensors/runner.hpp"
#include "kairos/sensors/trigger.hpp"
#include "kairos/spec/loader.hpp"
#include "metrics.hpp"

namespace kairos::sensors {
namespace {

using pool_strand = boost::asio::strand<boost::asio::thread_pool::executor_type>;

struct sensor_entry {
  std::string namespace_;
  std::string name;
  std::int64_t resource_version = -1;
  pool_strand strand;
  // Touched only on `strand`.
  std::shared_ptr<sensor_runner> runner;
  // The runner's last handled journal sequence, readable off the strand
  // (back-pressure for event sources); -1 until the runner is loaded.
  std::atomic<std::int64_t> handled{-1};
  // Coalesces notify() calls: one journal read queued at a time.
  std::atomic<bool> journal_queued{false};

  explicit sensor_entry(pool_strand s) : strand(std::move(s)) {}
};

// Lets the poll timer's handler, which may run on an I/O thread after
// stop(), find out that the manager is gone.
struct liveness {
  std::mutex mutex;
  bool alive = true;
};

}  // namespace

struct manager::impl {
  manager_settings settings;
  store::database& db;
  engine::workflow_service& workflows;
  const kairos::clock& clock;
  boost::asio::any_io_executor io;
  boost::asio::thread_pool pool;
  pool_strand control;  // resync runs here, one at a time
  std::shared_ptr<sensor_metrics> metrics;
  std::shared_ptr<http_sender> http;

  mutable std::mutex mutex;
  std::map<std::string, std::shared_ptr<sensor_entry>> sensors;  // "ns/name"

  std::mutex idle_mutex;
  std::condition_variable idle_cv;
  std::size_t outstanding = 0;

  std::shared_ptr<liveness> live = std::make_shared<liveness>();
  std::shared_ptr<boost::asio::steady_timer> timer;
  bool stopped = false;

  impl(manager_settings s, store::database& d, engine::workflow_service& w, const kairos::clock& c,
       boost::asio::any_io_executor e)
      : settings(std::move(s)),
        db(d),
        workflows(w),
        clock(c),
        io(std::move(e)),
        pool(std::max<std::size_t>(settings.worker_threads, 1)),
        control(boost::asio::make_strand(pool.get_executor())) {
    if (settings.metrics) metrics = sensor_metrics::create(*settings.metrics);
    http = settings.http ? settings.http : default_http_sender();
  }

  template <class Executor, class F>
  void post(const Executor& ex, F f) {
    {
      std::lock_guard lock(idle_mutex);
      ++outstanding;
    }
    boost::asio::post(ex, [this, f = std::move(f)]() mutable {
      try {
        f();
      } catch (const std::exception& e) {
        spdlog::error("sensors: unexpected exception: {}", e.what());
      }
      std::lock_guard lock(idle_mutex);
      if (--outstanding == 0) idle_cv.notify_all();
    });
  }

  std::vector<std::shared_ptr<sensor_entry>> entries() const {
    std::lock_guard lock(mutex);
    std::vector<std::shared_ptr<sensor_entry>> out;
    for (const auto& [k, e] : sensors) out.push_back(e);
    return out;
  }

  trigger_services services() const {
    trigger_services s;
    s.workflows = &workflows;
    s.http = http;
    s.data_dir = settings.data_dir;
    s.clock = &clock;
    return s;
  }

  // On the entry's strand.
  void work(sensor_entry& e, bool journal) {
    if (!e.runner) return;
    if (journal) {
      e.journal_queued = false;
      if (auto r = e.runner->process_journal([&e](std::int64_t seq) { e.handled = seq; }); !r)
        spdlog::error("sensor {}/{}: reading the journal failed: {}", e.namespace_, e.name,
                      r.error().message);
      e.handled = e.runner->last_sequence();
    }
    e.runner->check_resets();
    e.runner->run_due();
  }

  void queue_journal(const std::shared_ptr<sensor_entry>& e) {
    if (e->journal_queued.exchange(true)) return;
    post(e->strand, [this, e] { work(*e, true); });
  }

  // On the control strand: makes the running set match the stored Sensors.
  void resync_now() {
    auto records = db.list_resources("Sensor", "");
    if (!records) {
      spdlog::error("sensors: cannot list Sensors: {}", records.error().message);
      return;
    }
    std::set<std::string> seen;
    for (const auto& rec : *records) {
      const std::string key = rec.namespace_ + "/" + rec.name;
      seen.insert(key);
      std::shared_ptr<sensor_entry> entry;
      {
        std::lock_guard lock(mutex);
        auto it = sensors.find(key);
        if (it != sensors.end() && it->second->resource_version == rec.resource_version) continue;
        if (it == sensors.end()) {
          entry = std::make_shared<sensor_entry>(boost::asio::make_strand(pool.get_executor()));
          entry->namespace_ = rec.namespace_;
          entry->name = rec.name;
          sensors.emplace(key, entry);
        } else {
          entry = it->second;
        }
        entry->resource_version = rec.resource_version;
      }
      auto loaded = spec::load_json(rec.body, fmt::format("Sensor {}", key));
      const spec::sensor_spec* sp = nullptr;
      if (loaded.ok() && loaded.resources.size() == 1)
        sp = std::get_if<spec::sensor_spec>(&loaded.resources.front().spec);
      if (!sp) {
        spdlog::error("sensor {}: not loaded: {}", key, spec::to_string(loaded.diagnostics));
        post(entry->strand, [entry] { entry->runner.reset(); });
        continue;
      }
      runner_settings rs;
      rs.namespace_ = rec.namespace_;
      rs.name = rec.name;
      rs.batch = settings.batch;
      rs.consumed_history = settings.consumed_history;
      auto runner = sensor_runner::create(rs, *sp, db, services(), metrics);
      if (!runner) {
        spdlog::error("sensor {}: not loaded: {}", key, runner.error().message);
        post(entry->strand, [entry] { entry->runner.reset(); });
        continue;
      }
      std::shared_ptr<sensor_runner> fresh(std::move(*runner));
      post(entry->strand, [this, entry, fresh]() mutable {
        // The runner it replaces may still have saves on their way.
        if (entry->runner) entry->runner->flush();
        auto r = fresh->load();
        if (!r) {
          spdlog::error("sensor {}/{}: cannot load its progress: {}", entry->namespace_,
                        entry->name, r.error().message);
          entry->runner.reset();
          return;
        }
        entry->runner = std::move(fresh);
        spdlog::info("sensor {}/{}: running from journal sequence {}", entry->namespace_,
                     entry->name, entry->runner->last_sequence());
        work(*entry, true);
      });
    }
    std::vector<std::shared_ptr<sensor_entry>> removed;
    {
      std::lock_guard lock(mutex);
      for (auto it = sensors.begin(); it != sensors.end();) {
        if (seen.count(it->first)) {
          ++it;
          continue;
        }
        removed.push_back(it->second);
        it = sensors.erase(it);
      }
    }
    for (auto& e : removed) {
      post(e->strand, [this, e] {
        e->runner.reset();
        for (const char* scope : {"sensor", sensor_history_scope})
          if (auto r = db.delete_state(scope, e->namespace_, e->name); !r)
            spdlog::warn("sensor {}/{}: cannot delete its state: {}", e->namespace_, e->name,
                         r.error().message);
        spdlog::info("sensor {}/{}: removed", e->namespace_, e->name);
      });
    }
  }

  void arm_timer() {
    if (!timer) return;
    timer->expires_after(settings.poll_period);
    auto live_ref = live;
    auto t = timer;
    timer->async_wait([this, live_ref, t](const boost::system::error_code& ec) {
      if (ec) return;
      std::lock_guard lock(live_ref->mutex);
      if (!live_ref->alive) return;
      tick();
      arm_timer();
    });
  }

  void tick() {
    for (const auto& e : entries()) {
      queue_journal(e);
    }
  }
};

manager::manager(manager_settings settings, store::database& db,
                 engine::workflow_service& workflows, const kairos::clock& clock,
                 boost::asio::any_io_executor io)
    : impl_(std::make_unique<impl>(std::move(settings), db, workflows, clock, std::move(io))) {}

manager::~manager() {
  stop();
}

result<void> manager::start() {
  auto& s = *impl_;
  std::promise<result<void>> done;
  auto fut = done.get_future();
  s.post(s.control, [&s, &done] {
    auto probe = s.db.list_resources("Sensor", "");
    if (!probe) {
      done.set_value(std::move(probe).error());
      return;
    }
    s.resync_now();
    done.set_value(result<void>());
  });
  auto r = fut.get();
  if (!r) return r;
  if (s.io && s.settings.poll_period.count() > 0) {
    s.timer = std::make_shared<boost::asio::steady_timer>(s.io);
    s.arm_timer();
  }
  return {};
}

void manager::stop() {
  auto& s = *impl_;
  {
    std::lock_guard lock(s.live->mutex);
    if (s.stopped) return;
    s.stopped = true;
    s.live->alive = false;
  }
  if (s.timer) {
    auto t = s.timer;
    boost::asio::post(s.io, [t] { t->cancel(); });
  }
  wait_idle();
  s.pool.join();
}

void manager::resync() {
  auto& s = *impl_;
  s.post(s.control, [&s] { s.resync_now(); });
}

void manager::notify() {
  for (const auto& e : impl_->entries()) impl_->queue_journal(e);
}

void manager::check_timers() {
  auto& s = *impl_;
  for (const auto& e : s.entries()) s.post(e->strand, [&s, e] { s.work(*e, false); });
}

void manager::wait_idle() {
  auto& s = *impl_;
  const auto idle = [&s] {
    std::unique_lock lock(s.idle_mutex);
    s.idle_cv.wait(lock, [&] { return s.outstanding == 0; });
  };
  idle();
  // And what the work saved is committed: whoever waits reads it next.
  for (const auto& e : s.entries())
    s.post(e->strand, [e] {
      if (e->runner) e->runner->flush();
    });
  idle();
}

std::optional<std::int64_t> manager::slowest_sequence() const {
  std::optional<std::int64_t> slowest;
  for (const auto& e : impl_->entries()) {
    const auto h = e->handled.load();
    if (h >= 0 && (!slowest || h < *slowest)) slowest = h;
  }
  return slowest;
}

std::vector<std::string> manager::sensors() const {
  std::vector<std::string> out;
  std::lock_guard lock(impl_->mutex);
  for (const auto& [k, e] : impl_->sensors) out.push_back(k);
  return out;
}

result<std::vector<event_summary>> recent_events(store::database& db, std::size_t limit) {
  auto newest = db.read_newest_events(limit);
  if (!newest) return std::move(newest).error();
  std::map<std::string, std::vector<std::string>> by_event;
  auto sensors = db.list_resources("Sensor", "");
  if (!sensors) return std::move(sensors).error();
  for (const auto& rec : *sensors) {
    auto state = db.get_state(sensor_history_scope, rec.namespace_, rec.name);
    if (!state || !*state || !(*state)->is_object()) continue;
    const auto& st = **state;
    const auto c = st.find("consumed");
    if (c == st.end() || !c->is_array()) continue;
    for (const auto& entry : *c) {
      if (!entry.is_object()) continue;
      const auto who =
          fmt::format("{}/{}:{}", rec.namespace_, rec.name, entry.value("trigger", std::string()));
      auto& list = by_event[entry.value("event", std::string())];
      if (std::find(list.begin(), list.end(), who) == list.end()) list.push_back(who);
    }
  }
  std::vector<event_summary> out;
  for (const auto& r : *newest) {
    event_summary e;
    e.sequence = r.sequence;
    e.id = r.id;
    e.namespace_ = r.namespace_;
    e.source = r.source;
    e.subject = r.subject;
    e.type = r.type;
    e.time = r.time;
    if (auto it = by_event.find(r.id); it != by_event.end()) e.consumed_by = it->second;
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace kairos::sensors
