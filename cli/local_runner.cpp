#include "local_runner.hpp"

#include <cassert>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "data_dir_lock.hpp"
#include "kairos/core/text.hpp"
#include "kairos/spec/kind.hpp"

#if KAIROS_HAVE_LOCAL_EXECUTOR
#include "kairos/engine/local_executor.hpp"
#endif

namespace kairos::cli {

namespace fs = std::filesystem;

namespace {

#if !KAIROS_HAVE_LOCAL_EXECUTOR
// Until the local executor is part of the build every node fails to start,
// saying why, so the rest of the engine still runs end to end.
class unavailable_executor final : public engine::executor {
 public:
  explicit unavailable_executor(fs::path logs) : logs_(std::move(logs)) {}
  engine::executor_capabilities capabilities() const override {
    return {false, "no local executor in this build"};
  }
  void start(engine::task, completion done) override {
    engine::outcome o;
    o.what = engine::outcome::kind::failed_to_start;
    o.message = "no local executor in this build";
    done(std::move(o));
  }
  void kill(const std::string&, const std::string&) override {}
  fs::path log_path(const std::string& uid, const std::string& node) const override {
    return logs_ / uid / (node + ".log");
  }

 private:
  fs::path logs_;
};
#endif

}  // namespace

struct engine_host::io {
  boost::asio::io_context context;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{
      context.get_executor()};
  std::thread thread;
};

result<std::unique_ptr<engine_host>> engine_host::start(store::database& db,
                                                        const fs::path& data_dir,
                                                        engine_layout layout) {
  std::unique_ptr<engine_host> host(new engine_host());
  host->io_ = std::make_unique<io>();
#if KAIROS_HAVE_LOCAL_EXECUTOR
  engine::local_executor_settings es;
  es.nodes_root = data_dir / "nodes";
  es.artifacts_root = data_dir / "artifacts";
  host->executor_ = std::make_unique<engine::local_executor>(host->io_->context.get_executor(), es);
#else
  host->executor_ = std::make_unique<unavailable_executor>(data_dir / "nodes");
#endif
  host->io_->thread = std::thread([h = host->io_.get()] { h->context.run(); });
  engine::runtime_settings rs;
  rs.data_dir = data_dir;
  if (layout == engine_layout::one_thread) rs.io = &host->io_->context;
  host->runtime_ =
      std::make_unique<engine::runtime>(rs, db, *host->executor_, system_clock::instance());
  return host;
}

engine_host::~engine_host() {
  if (runtime_) runtime_->stop();
  // With engine_layout::one_thread the runtime's handlers run on this
  // context: it stops before the runtime goes.
  if (io_) {
    io_->work.reset();
    io_->context.stop();
    if (io_->thread.joinable()) io_->thread.join();
  }
  runtime_.reset();
  executor_.reset();
}

engine::executor_capabilities engine_host::capabilities() const {
  return executor_->capabilities();
}

struct local_run::state {
  local_run_settings settings;
  fs::path dir;
  bool temporary = false;
  // Declared before the store and engine, so that it is released after
  // both have stopped.
  std::optional<data_dir_lock> lock;
  std::unique_ptr<store::database> db;
  std::unique_ptr<engine_host> host;
  // Set by the opening thread; read after `opening` is joined.
  std::optional<error> failed;
  std::thread opening;
  // The submitted workflow's namespace and name; its record (with the
  // whole manifest) is not kept while it runs.
  std::optional<std::pair<std::string, std::string>> submitted;

  void open() {
    auto locked = data_dir_lock::acquire(dir);
    if (!locked) {
      failed = std::move(locked).error();
      return;
    }
    lock.emplace(std::move(locked).value());
    store::settings ss;
    ss.data_dir = dir;
    auto opened = store::database::open(ss);
    if (!opened) {
      failed = make_error(opened.error().code, "cannot open the store in " + dir.string() + ": " +
                                                   opened.error().message);
      return;
    }
    db = std::move(opened).value();
    auto started = engine_host::start(*db, dir, engine_layout::one_thread);
    if (!started) {
      failed = std::move(started).error();
      return;
    }
    host = std::move(started).value();
  }

  void join() {
    if (opening.joinable()) opening.join();
  }
};

local_run::local_run(local_run_settings settings) : state_(std::make_unique<state>()) {
  state_->settings = std::move(settings);
  state_->dir = state_->settings.data_dir;
  state_->temporary = state_->dir.empty();
  if (state_->temporary)
    state_->dir = fs::temp_directory_path() / ("kairos-run-" + random_suffix(10));
  state_->opening = std::thread([s = state_.get()] { s->open(); });
}

local_run::~local_run() {
  state_->join();
  state_->host.reset();
  state_->db.reset();
  state_->lock.reset();
  if (state_->temporary) {
    std::error_code ec;
    fs::remove_all(state_->dir, ec);
  }
}

result<void> local_run::submit(spec::resource&& workflow,
                               const std::vector<const spec::resource*>& also_store,
                               const parameter_list& parameters) {
  state_->join();
  if (state_->failed) return *state_->failed;
  for (const auto* r : also_store) {
    store::resource_record record;
    record.kind = std::string(spec::kind_name(r->kind));
    record.namespace_ = spec::is_namespaced(r->kind) ? r->metadata.namespace_ : std::string();
    record.name = r->metadata.name;
    record.body = r->manifest;
    if (auto applied = state_->db->apply_resource(std::move(record)); !applied)
      return std::move(applied).error();
  }
  auto& rt = state_->host->runtime();
  if (auto resumed = rt.recover(); !resumed) return std::move(resumed).error();
  engine::submit_options opts;
  opts.parameters = parameters;
  opts.spec_read_from_manifest = true;  // spec::load_file read both
  auto submitted = rt.submit(std::move(workflow), opts);
  if (!submitted) return std::move(submitted).error();
  state_->submitted.emplace(std::move(submitted->namespace_), std::move(submitted->name));
  return {};
}

result<nlohmann::json> local_run::wait() {
  assert(state_->submitted && "wait() after a successful submit()");
  return state_->host->runtime().wait(state_->submitted->first, state_->submitted->second,
                                      state_->settings.timeout);
}

}  // namespace kairos::cli
