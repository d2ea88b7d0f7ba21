#include "kairos/eventsources/manager.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <tuple>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "emitter.hpp"
#include "http/listener.hpp"
#include "kairos/core/text.hpp"
#include "kairos/spec/loader.hpp"
#include "kairos/spec/secret.hpp"
#include "registry.hpp"

namespace kairos::eventsources {

namespace asio = boost::asio;

class manager::impl : public std::enable_shared_from_this<manager::impl> {
 public:
  impl(manager& owner, manager_settings settings, store::database& db, const kairos::clock& clock,
       asio::any_io_executor io)
      : owner_(owner),
        settings_(std::move(settings)),
        db_(db),
        clock_(clock),
        io_(io),
        strand_(asio::make_strand(io)),
        timer_(strand_),
        pool_(std::make_shared<asio::thread_pool>(
            std::max<std::size_t>(1, settings_.blocking_threads))),
        secrets_(settings_.data_dir.empty() ? db.data_dir()
                                            : std::filesystem::path(settings_.data_dir)) {
    hub_settings hs;
    hs.address = settings_.listen_address;
    hs.default_max_payload = settings_.default_max_payload;
    hs.request_timeout = settings_.request_timeout;
    hs.max_header_bytes = settings_.max_header_bytes;
    hs.ephemeral_ports = settings_.ephemeral_ports;
    hs.connection_threads = settings_.connection_threads;
    hub_ = std::make_shared<http_hub>(hs, io_, pool_);
  }

  result<void> start() {
    if (started_.exchange(true))
      return make_error(errc::failed_precondition, "the event source manager was already started");
    auto wake = owner_.on_committed;
    emitter_ = std::make_shared<emitter>(db_, clock_, settings_.metrics, std::move(wake));
    resync();
    last_trim_ = std::chrono::steady_clock::now();
    asio::co_spawn(strand_, housekeeping(weak_from_this()), asio::detached);
    return {};
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
    hub_->stop_all();
    {
      std::lock_guard lock(mutex_);
      for (auto& [key, r] : running_)
        for (auto& s : r.sources) s->stop();
      running_.clear();
    }
    // In-flight requests finish their journal append before we return.
    pool_->join();
  }

  void resync() {
    if (stopped_ || !emitter_) return;
    std::lock_guard lock(mutex_);
    auto listed = db_.list_resources("EventSource", "");
    if (!listed) {
      spdlog::warn("event sources: cannot list EventSources: {}", listed.error().message);
      return;
    }
    std::map<std::pair<std::string, std::string>, const store::resource_record*> wanted;
    for (const auto& r : *listed) wanted[{r.namespace_, r.name}] = &r;

    for (auto it = running_.begin(); it != running_.end();) {
      auto w = wanted.find(it->first);
      if (w == wanted.end() || w->second->resource_version != it->second.version) {
        for (auto& s : it->second.sources) s->stop();
        spdlog::info("event sources: stopped {}/{}", it->first.first, it->first.second);
        it = running_.erase(it);
      } else {
        ++it;
      }
    }
    for (const auto& [key, record] : wanted) {
      if (running_.count(key)) continue;
      auto started = start_one(*record);
      if (!started) {
        auto& last = failures_[key];
        const std::string message = started.error().message;
        if (last.version != record->resource_version || last.message != message)
          spdlog::error("event sources: {}/{}: {}", key.first, key.second, message);
        last = {record->resource_version, message};
        continue;
      }
      failures_.erase(key);
      running_.emplace(key, std::move(*started));
      spdlog::info("event sources: started {}/{}", key.first, key.second);
    }
    for (auto it = failures_.begin(); it != failures_.end();)
      it = wanted.count(it->first) ? std::next(it) : failures_.erase(it);
    hub_->prune();
    poll_locked(clock_.now());
    asio::post(strand_, [self = shared_from_this()] { self->timer_.cancel(); });
  }

  void check_timers() {
    if (stopped_ || !emitter_) return;
    std::lock_guard lock(mutex_);
    poll_locked(clock_.now());
  }

  void trim_journal() {
    if (!settings_.journal_max_age) return;
    const auto before = clock_.now() - *settings_.journal_max_age;
    auto trimmed = db_.trim_events(format_rfc3339(before), settings_.journal_keep_last);
    if (!trimmed)
      spdlog::warn("event sources: journal retention failed: {}", trimmed.error().message);
    else if (*trimmed > 0)
      spdlog::info("event sources: dropped {} journal event(s) older than {}", *trimmed,
                   format_rfc3339(before));
  }

  std::optional<std::uint16_t> bound_port(std::uint16_t configured) const {
    return hub_->bound_port(configured);
  }

  std::vector<std::string> errors() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [key, f] : failures_)
      out.push_back(key.first + "/" + key.second + ": " + f.message);
    return out;
  }

 private:
  struct running {
    std::int64_t version = 0;
    std::vector<std::unique_ptr<source>> sources;
  };
  struct failure {
    std::int64_t version = 0;
    std::string message;
  };

  result<running> start_one(const store::resource_record& record) {
    const std::string where = "EventSource " + record.namespace_ + "/" + record.name;
    auto loaded = spec::load_json(record.body, where);
    if (!loaded.ok() || loaded.resources.size() != 1) {
      std::string message = "invalid manifest";
      if (!loaded.diagnostics.empty()) message += ": " + loaded.diagnostics.front().message;
      return make_error(errc::invalid_argument, message);
    }
    const auto* spec = std::get_if<spec::event_source_spec>(&loaded.resources.front().spec);
    if (!spec) return make_error(errc::invalid_argument, "not an EventSource");

    source_context ctx;
    ctx.namespace_ = record.namespace_;
    ctx.name = record.name;
    ctx.out = emitter_;
    ctx.http = hub_;
    ctx.secrets = &secrets_;
    ctx.default_max_payload = settings_.default_max_payload;
    ctx.journal_backlog = [out = emitter_, consumed = owner_.consumed_sequence]() -> std::int64_t {
      const auto position = consumed ? consumed() : std::nullopt;
      return position ? std::max<std::int64_t>(0, out->head() - *position) : 0;
    };

    running r;
    r.version = record.resource_version;
    for (const auto& entry : source_types()) {
      if (entry.count(*spec) == 0) continue;
      if (!entry.build) {
        spdlog::warn("event sources: {}: {} events are not run by this kairos build; skipped",
                     where, entry.type);
        continue;
      }
      auto built = entry.build(ctx, *spec);
      if (!built) {
        for (auto& s : r.sources) s->stop();
        return built.error();
      }
      for (auto& s : *built) {
        if (auto started = s->start(); !started) {
          for (auto& done : r.sources) done->stop();
          return started.error();
        }
        r.sources.push_back(std::move(s));
      }
    }
    return r;
  }

  void poll_locked(kairos::clock::time_point now) {
    std::optional<kairos::clock::time_point> next;
    for (auto& [key, r] : running_) {
      for (auto& s : r.sources) {
        auto due = s->poll(now);
        if (due && (!next || *due < *next)) next = due;
      }
    }
    std::lock_guard lock(due_mutex_);
    next_due_ = next;
  }

  static asio::awaitable<void> periodic_work(std::weak_ptr<impl> weak, bool resync_due,
                                             bool trim_due) {
    auto self = weak.lock();
    if (!self) co_return;
    if (resync_due)
      self->resync();
    else
      self->check_timers();
    if (trim_due) self->trim_journal();
  }

  // Holds the manager only between waits. A strong reference kept across a
  // wait would close a cycle (manager -> pool or strand -> queued step ->
  // this frame -> manager) whenever stop() wins the race against a step
  // queued on the pool after its join: nothing would ever free the manager.
  static asio::awaitable<void> housekeeping(std::weak_ptr<impl> weak) {
    constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
    auto last_resync = std::chrono::steady_clock::now();
    for (;;) {
      asio::steady_timer* timer = nullptr;
      {
        auto self = weak.lock();
        if (!self || self->stopped_) co_return;
        std::chrono::milliseconds wait = self->settings_.resync_period;
        {
          std::lock_guard lock(self->due_mutex_);
          if (self->next_due_) {
            const auto until = std::chrono::duration_cast<std::chrono::milliseconds>(
                *self->next_due_ - self->clock_.now());
            // A due time in the past means the last emit failed: retry soon,
            // not in a busy loop.
            wait = std::clamp(until, std::chrono::milliseconds(1), wait);
            if (until <= std::chrono::milliseconds(0)) wait = std::chrono::milliseconds(100);
          }
        }
        self->timer_.expires_after(wait);
        timer = &self->timer_;
      }
      // The timer's destructor cancels this wait, so the pointer is not used
      // after the manager is gone.
      co_await timer->async_wait(use_tuple);
      bool resync_due = false;
      bool trim_due = false;
      std::optional<asio::thread_pool::executor_type> pool;
      {
        auto self = weak.lock();
        if (!self || self->stopped_) co_return;
        const auto now = std::chrono::steady_clock::now();
        resync_due = now - last_resync >= self->settings_.resync_period;
        trim_due = now - self->last_trim_ >= self->settings_.trim_period;
        if (resync_due) last_resync = now;
        if (trim_due) self->last_trim_ = now;
        pool.emplace(self->pool_->get_executor());
      }
      co_await asio::co_spawn(*pool, periodic_work(weak, resync_due, trim_due), use_tuple);
    }
  }

  manager& owner_;
  manager_settings settings_;
  store::database& db_;
  const kairos::clock& clock_;
  asio::any_io_executor io_;
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer timer_;
  std::shared_ptr<asio::thread_pool> pool_;
  spec::secret_resolver secrets_;
  std::shared_ptr<http_hub> hub_;
  std::shared_ptr<emitter> emitter_;
  std::atomic<bool> started_{false};
  std::atomic<bool> stopped_{false};
  std::chrono::steady_clock::time_point last_trim_;

  mutable std::mutex mutex_;  // running_, failures_
  std::map<std::pair<std::string, std::string>, running> running_;
  std::map<std::pair<std::string, std::string>, failure> failures_;

  std::mutex due_mutex_;
  std::optional<kairos::clock::time_point> next_due_;
};

manager::manager(manager_settings settings, store::database& db, const kairos::clock& clock,
                 boost::asio::any_io_executor io)
    : impl_(std::make_shared<impl>(*this, std::move(settings), db, clock, std::move(io))) {}

manager::~manager() {
  impl_->stop();
}

result<void> manager::start() {
  return impl_->start();
}
void manager::stop() {
  impl_->stop();
}
void manager::resync() {
  impl_->resync();
}
void manager::check_timers() {
  impl_->check_timers();
}
void manager::trim_journal() {
  impl_->trim_journal();
}
std::optional<std::uint16_t> manager::bound_port(std::uint16_t configured) const {
  return impl_->bound_port(configured);
}
std::vector<std::string> manager::errors() const {
  return impl_->errors();
}

}  // namespace kairos::eventsources
