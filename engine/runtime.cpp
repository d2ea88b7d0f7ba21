#include "kairos/engine/runtime.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "kairos/core/text.hpp"
#include "kairos/engine/local_sync_manager.hpp"
#include "kairos/engine/progress.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"
#include "kairos/spec/secret.hpp"
#include "submit_prep.hpp"

namespace kairos::engine {

namespace {

using json = nlohmann::json;
namespace asio = boost::asio;

bool is_finished(const std::string& phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Error";
}

std::string key_of(const std::string& ns, const std::string& name) {
  return ns + "/" + name;
}

std::string status_string(const json& body, const char* field) {
  auto st = body.find("status");
  if (st == body.end() || !st->is_object()) return {};
  auto f = st->find(field);
  return f != st->end() && f->is_string() ? f->get<std::string>() : std::string();
}

}  // namespace

class runtime::impl {
 public:
  struct workflow_state {
    explicit workflow_state(asio::io_context& ioc) : strand(asio::make_strand(ioc)) {}
    std::string ns, name, uid;
    asio::strand<asio::io_context::executor_type> strand;
    std::unique_ptr<workflow_operator> op;
    bool persisting = false;
    bool dirty = false;
    bool step_posted = false;
    bool done = false;
    std::set<std::string> running;
  };
  using state_ptr = std::shared_ptr<workflow_state>;
  // Cleared when the runtime stops; callbacks that outlive it check it.
  struct lifeline {
    std::mutex mutex;
    bool alive = true;
  };

  impl(runtime_settings settings, store::database& db, engine::executor& exec,
       const kairos::clock& clock, operator_factory factory)
      : settings_(std::move(settings)),
        db_(db),
        exec_(exec),
        clock_(clock),
        factory_(std::move(factory)),
        sync_(sync_settings{settings_.data_dir, settings_.semaphore_limits, 1}),
        secrets_(settings_.data_dir),
        own_ioc_(settings_.io ? nullptr : std::make_unique<asio::io_context>()),
        ioc_(settings_.io ? *settings_.io : *own_ioc_),
        work_(asio::make_work_guard(ioc_)),
        timer_(ioc_),
        timer_strand_(asio::make_strand(ioc_)) {
    sync_.set_on_available([this](const std::string& holder) { wake_holder(holder); });
    if (own_ioc_) {
      for (std::size_t i = 0; i < std::max<std::size_t>(1, settings_.threads); ++i)
        threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  ~impl() { stop(); }

  void stop() {
    {
      // Under the mutex, for the waiters that read it with cv_.
      std::lock_guard lock(mutex_);
      if (halted_.exchange(true)) return;
    }
    {
      std::lock_guard lock(life_->mutex);
      life_->alive = false;
    }
    work_.reset();
    asio::post(timer_strand_, [this] { timer_.cancel(); });
    // A context of the owner's goes on until the owner stops it; halted_
    // keeps what is queued there from operating or launching meanwhile.
    if (own_ioc_) ioc_.stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    cv_.notify_all();
  }

  operator_environment environment() {
    operator_environment env;
    env.resolve_template_ref = [this](const spec::template_ref& ref, const std::string& ns) {
      return resolve_template_ref(ref, ns);
    };
    env.read_secret = [this](const spec::secret_key_selector& sel) -> result<std::string> {
      auto v = secrets_.resolve(sel);
      if (!v) return std::move(v).error();
      return v->reveal();
    };
    env.sync = &sync_;
    env.volumes_root = settings_.data_dir / "volumes";
    env.capabilities = exec_.capabilities();
    return env;
  }

  result<spec::template_spec> resolve_template_ref(const spec::template_ref& ref,
                                                   const std::string& ns) {
    const auto kind = spec::kind_name(ref.cluster_scope ? spec::kind::cluster_workflow_template
                                                        : spec::kind::workflow_template);
    auto found =
        db_.get_resource(std::string(kind), ref.cluster_scope ? std::string() : ns, ref.name);
    if (!found) {
      return make_error(found.error().code,
                        "templateRef: " + std::string(kind) + " " +
                            (ref.cluster_scope ? ref.name : ns + "/" + ref.name) + " not found");
    }
    auto loaded = spec::load_json(found->body, std::string(kind) + "/" + ref.name);
    if (!loaded.ok() || loaded.resources.empty()) {
      std::string why = loaded.diagnostics.empty() ? std::string("no document")
                                                   : loaded.diagnostics.front().to_string();
      return make_error(errc::invalid_argument, "templateRef: " + std::string(kind) + " " +
                                                    ref.name + " is invalid: " + why);
    }
    const auto* wspec = std::get_if<spec::workflow_spec>(&loaded.resources.front().spec);
    const spec::template_spec* t = wspec ? wspec->find_template(ref.template_) : nullptr;
    if (t == nullptr) {
      return make_error(errc::not_found, "templateRef: template " + ref.template_ +
                                             " not found in " + std::string(kind) + " " + ref.name);
    }
    return *t;
  }

  // --- submit ----------------------------------------------------------------

  // `Resource` is spec::resource, const or not: a workflow passed as an
  // rvalue gives up its manifest and spec instead of having them copied.
  template <typename Resource>
  result<store::workflow_record> submit(Resource&& workflow, const submit_options& options) {
    constexpr bool owned = !std::is_reference_v<Resource> && !std::is_const_v<Resource>;
    if (workflow.kind != spec::kind::workflow) {
      return make_error(errc::invalid_argument, "cannot submit a " +
                                                    std::string(spec::kind_name(workflow.kind)) +
                                                    "; only a Workflow can be submitted");
    }
    json manifest =
        workflow.manifest.is_object() ? std::forward<Resource>(workflow).manifest : json::object();
    const std::string ns = workflow.metadata.namespace_.empty()
                               ? std::string(spec::default_namespace)
                               : workflow.metadata.namespace_;
    std::string name = workflow.metadata.name;
    if (name.empty()) {
      if (workflow.metadata.generate_name.empty())
        return make_error(errc::invalid_argument,
                          "metadata.name or metadata.generateName is required");
      name = workflow.metadata.generate_name + random_suffix(5);
    }
    // Merged templates and submit-time parameters change the spec, which is
    // then read again from the manifest.
    const auto spec_of = manifest.find("spec");
    const bool spec_changes =
        !options.parameters.empty() || (spec_of != manifest.end() && spec_of->is_object() &&
                                        spec_of->contains("workflowTemplateRef"));
    std::optional<spec::workflow_spec> parsed;
    if (auto* read = std::get_if<spec::workflow_spec>(&workflow.spec);
        read != nullptr && options.spec_read_from_manifest && !spec_changes) {
      if constexpr (owned) {
        parsed = std::move(*read);
      } else {
        parsed = *read;
      }
    }
    return submit_manifest(std::move(manifest), ns, name, options, std::move(parsed));
  }

  // `parsed`: the spec module's reading of this manifest's spec, if the
  // caller has one and neither a workflowTemplateRef nor parameters change it.
  result<store::workflow_record> submit_manifest(
      json manifest, const std::string& ns, const std::string& name, const submit_options& options,
      std::optional<spec::workflow_spec> parsed = std::nullopt) {
    auto& spec = manifest["spec"];
    if (!spec.is_object()) spec = json::object();
    if (auto ref = spec.find("workflowTemplateRef"); ref != spec.end() && ref->is_object()) {
      const std::string tname = ref->value("name", std::string());
      if (tname.empty())
        return make_error(errc::invalid_argument, "spec.workflowTemplateRef.name is required");
      const bool cluster = ref->value("clusterScope", false);
      const std::string kind(spec::kind_name(cluster ? spec::kind::cluster_workflow_template
                                                     : spec::kind::workflow_template));
      auto found = db_.get_resource(kind, cluster ? std::string() : ns, tname);
      if (!found) {
        if (found.error().code == errc::not_found)
          return make_error(errc::not_found,
                            kind + " " + (cluster ? tname : ns + "/" + tname) +
                                " referenced by spec.workflowTemplateRef not found");
        return std::move(found).error();
      }
      spec = detail::merge_template_spec(spec, found->body.value("spec", json::object()));
    }
    detail::apply_parameters(manifest, options.parameters);
    if (auto checked = detail::check_parameters_defined(manifest["spec"]); !checked)
      return std::move(checked).error();

    const std::string uid = random_uuid();
    const std::string created = format_rfc3339(clock_.now());
    auto& meta = manifest["metadata"];
    if (!meta.is_object()) meta = json::object();
    meta["name"] = name;
    meta["namespace"] = ns;
    meta["uid"] = uid;
    meta["creationTimestamp"] = created;
    meta.erase("generateName");
    for (const auto& [key, value] : options.labels) meta["labels"][key] = value;
    manifest["status"] = {{"phase", "Pending"}};

    // Specs the operator rejects never reach the store: submit fails with
    // the operator's message.
    auto env = environment();
    env.parsed_spec = std::move(parsed);
    auto op = factory_(manifest, std::move(env));
    if (!op) return std::move(op).error();

    // One name is operated by one submitter at a time, and never while a
    // workflow of that name runs: the first operate() below may take locks
    // held under the workflow's name, which a losing duplicate must be able
    // to give back without touching the winner's.
    const auto key = key_of(ns, name);
    {
      std::lock_guard lock(mutex_);
      if (active_.count(key) != 0 || !creating_.insert(key).second)
        return make_error(errc::already_exists, "Workflow " + key + " already exists");
    }
    // The workflow is stored with its first nodes in one commit, so the
    // first launch waits for one commit rather than two.
    auto first = (*op)->operate(clock_.now());
    store::workflow_record record;
    record.namespace_ = ns;
    record.name = name;
    record.uid = uid;
    record.created_at = created;
    record.body = (*op)->workflow_json_without_nodes();
    if (!record.body.is_object() || record.body.empty()) record.body = manifest;
    record.phase = status_string(record.body, "phase");
    if (record.phase.empty()) record.phase = "Pending";
    record.finished_at = status_string(record.body, "finishedAt");
    std::vector<store::node_record> nodes;
    for (const auto& id : first.changed_nodes) nodes.push_back(node_record_of(uid, **op, id));
    first.changed_nodes.clear();
    auto stored = db_.create_workflow_with_nodes(std::move(record), std::move(nodes));
    if (!stored) {
      sync_.release_all(key);
      std::lock_guard lock(mutex_);
      creating_.erase(key);
      return stored;
    }
    start(ns, name, uid, std::move(*op), std::move(first));
    {
      std::lock_guard lock(mutex_);
      creating_.erase(key);
    }
    return stored;
  }

  // `first`: the outcome of an operate() already persisted, acted on before
  // the first step.
  state_ptr start(const std::string& ns, const std::string& name, const std::string& uid,
                  std::unique_ptr<workflow_operator> op,
                  std::optional<operate_outcome> first = std::nullopt) {
    auto st = std::make_shared<workflow_state>(ioc_);
    st->ns = ns;
    st->name = name;
    st->uid = uid;
    st->op = std::move(op);
    {
      std::lock_guard lock(mutex_);
      active_[key_of(ns, name)] = st;
    }
    asio::post(st->strand, [this, st, first = std::move(first)]() mutable {
      if (first) {
        act_on(st, std::move(*first));
        // A lock freed before the workflow was active woke nobody; this
        // step looks again.
      }
      step(st);
    });
    return st;
  }

  // --- the per-workflow loop (runs on the workflow's strand) -----------------

  void step(const state_ptr& st) {
    if (st->done || halted_) return;
    if (st->persisting) {
      st->dirty = true;
      return;
    }
    auto out = st->op->operate(clock_.now());
    std::optional<store::workflow_record> wf;
    std::vector<store::node_record> nodes;
    if (out.status_changed || out.completed) {
      store::workflow_record r;
      r.namespace_ = st->ns;
      r.name = st->name;
      r.uid = st->uid;
      r.body = st->op->workflow_json_without_nodes();
      r.phase = status_string(r.body, "phase");
      r.finished_at = status_string(r.body, "finishedAt");
      wf = std::move(r);
    }
    for (const auto& id : out.changed_nodes) nodes.push_back(node_record_of(st->uid, *st->op, id));
    if (!wf && nodes.empty()) {
      act_on(st, std::move(out));
      return;
    }
    st->persisting = true;
    // Nodes and the workflow commit together (a workflow stored as finished
    // always has its final nodes); the store calls back on this thread or
    // its writer's, and either way the outcome is acted on from the strand.
    auto pending = std::make_shared<operate_outcome>(std::move(out));
    db_.put_nodes_and_workflow_async(
        std::move(nodes), std::move(wf),
        [this, life = life_, weak = std::weak_ptr(st), pending](result<void> stored) {
          if (!stored)
            spdlog::error("engine: cannot store workflow state: {}", stored.error().message);
          post_while_alive(*life, weak, [this, pending](const state_ptr& st) {
            st->persisting = false;
            act_on(st, std::move(*pending));
            if (st->dirty && !st->done) {
              st->dirty = false;
              step(st);
            }
          });
        });
  }

  // A step after a completion waits behind what is already queued on the
  // strand: nodes that ended together (two exits in one poll) are then
  // operated on and committed once, and launch their successors together.
  void post_step(const state_ptr& st) {
    if (st->step_posted) return;
    st->step_posted = true;
    asio::post(st->strand, [this, st] {
      st->step_posted = false;
      step(st);
    });
  }

  static store::node_record node_record_of(const std::string& uid, const workflow_operator& op,
                                           const std::string& id) {
    store::node_record n;
    n.workflow_uid = uid;
    n.node_id = id;
    auto text = op.node_json_text(id);
    n.name = std::move(text.name);
    n.phase = std::move(text.phase);
    n.body_text = std::move(text.body);
    return n;
  }

  // Runs `f(st)` on the workflow's strand, for a callback from the store or
  // the executor that may come after the runtime or the workflow is gone.
  template <class F>
  static void post_while_alive(lifeline& life, const std::weak_ptr<workflow_state>& weak, F f) {
    std::lock_guard lock(life.mutex);
    if (!life.alive) return;
    auto st = weak.lock();
    if (!st) return;
    asio::post(st->strand, [st, f = std::move(f)]() mutable { f(st); });
  }

  void act_on(const state_ptr& st, operate_outcome out) {
    // Stored and not acted on, as if the server had stopped just before:
    // recover() finds these nodes Running.
    if (halted_) return;
    for (const auto& id : out.kills) exec_.kill(st->uid, id);
    for (auto& t : out.launches) {
      const std::string id = t.node_id;
      st->running.insert(id);
      // The executor may outlive the runtime; a late completion is dropped
      // (the node is recovered from the store on the next start). The state
      // is held weakly: its strand must not be destroyed after the runtime's
      // io_context, which an executor dropping this callback late would do.
      auto done = [this, life = life_, weak = std::weak_ptr(st), id](outcome o) {
        post_while_alive(*life, weak, [this, id, o = std::move(o)](const state_ptr& st) {
          st->running.erase(id);
          if (st->done) return;
          st->op->complete_node(id, o, clock_.now());
          post_step(st);
        });
      };
      // A node's own progress is stored like any change of the node, at
      // the pace the executor reads it (Argo's controller waits a minute).
      auto reported = [this, life = life_, weak = std::weak_ptr(st), id](std::string text) {
        post_while_alive(*life, weak, [this, id, text = std::move(text)](const state_ptr& st) {
          if (st->done || st->running.count(id) == 0) return;
          if (st->op->report_progress(id, text)) step(st);
        });
      };
      exec_.start_reporting(std::move(t), std::move(done), std::move(reported));
    }
    if (out.completed) {
      finish(st);
      return;
    }
    if (out.requeue_at) schedule(*out.requeue_at, st);
  }

  void finish(const state_ptr& st) {
    st->done = true;
    sync_.release_all(key_of(st->ns, st->name));
    {
      std::lock_guard lock(mutex_);
      auto it = active_.find(key_of(st->ns, st->name));
      if (it != active_.end() && it->second == st) active_.erase(it);
    }
    cv_.notify_all();
  }

  void wake_holder(const std::string& holder) {
    // Holders are "<ns>/<workflow>[/...]".
    const auto first = holder.find('/');
    if (first == std::string::npos) return;
    const auto second = holder.find('/', first + 1);
    const auto key = holder.substr(0, second);
    state_ptr st;
    {
      std::lock_guard lock(mutex_);
      auto it = active_.find(key);
      if (it != active_.end()) st = it->second;
    }
    if (st) asio::post(st->strand, [this, st] { step(st); });
  }

  // --- timers ----------------------------------------------------------------

  void schedule(clock::time_point at, const state_ptr& st) {
    bool earliest = false;
    {
      std::lock_guard lock(timer_mutex_);
      for (auto [it, end] = timers_.equal_range(at); it != end; ++it)
        if (it->second.lock() == st) return;
      timers_.emplace(at, st);
      earliest = timers_.begin()->first == at;
    }
    if (earliest) asio::post(timer_strand_, [this] { arm(); });
  }

  // On the timer strand: wait (in steady time) until the earliest requeue
  // time as the injected clock sees it, then fire what is due.
  void arm() {
    std::optional<clock::time_point> next;
    {
      std::lock_guard lock(timer_mutex_);
      if (!timers_.empty()) next = timers_.begin()->first;
    }
    if (!next) return;
    auto wait =
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(*next - clock_.now());
    // A manual clock does not move on its own: re-check now and then rather
    // than sleeping for a distance the clock may never travel.
    wait = std::clamp(wait, std::chrono::steady_clock::duration::zero(),
                      std::chrono::steady_clock::duration(std::chrono::seconds(60)));
    timer_.expires_after(wait);
    timer_.async_wait(asio::bind_executor(timer_strand_, [this](boost::system::error_code ec) {
      if (ec) return;
      fire_due();
      arm();
    }));
  }

  void fire_due() {
    const auto now = clock_.now();
    std::vector<state_ptr> due;
    {
      std::lock_guard lock(timer_mutex_);
      while (!timers_.empty() && timers_.begin()->first <= now) {
        if (auto st = timers_.begin()->second.lock()) due.push_back(std::move(st));
        timers_.erase(timers_.begin());
      }
    }
    for (auto& st : due) asio::post(st->strand, [this, st] { step(st); });
  }

  void check_timers() {
    fire_due();
    asio::post(timer_strand_, [this] { arm(); });
  }

  // --- recovery ----------------------------------------------------------------

  result<json> load(const std::string& ns, const std::string& name, store::workflow_record* rec) {
    auto found = db_.get_workflow(ns, name);
    if (!found) return std::move(found).error();
    auto nodes = db_.list_nodes(found->uid);
    if (!nodes) return std::move(nodes).error();
    // Copied only for a caller that keeps the record too: the body holds the
    // whole manifest.
    json body = rec != nullptr ? found->body : std::move(found->body);
    if (!body.is_object()) body = json::object();
    auto& status = body["status"];
    if (!status.is_object()) status = json::object();
    json node_map = json::object();
    // The rows come ordered by node id, so each goes in at the end.
    auto& map = node_map.get_ref<json::object_t&>();
    for (auto& n : *nodes) map.emplace_hint(map.end(), std::move(n.node_id), std::move(n.body));
    if (!node_map.empty()) status["nodes"] = std::move(node_map);
    if (rec != nullptr) *rec = std::move(*found);
    return body;
  }

  result<std::size_t> recover() {
    auto listed = db_.list_workflows("");
    if (!listed) return std::move(listed).error();
    struct recovered {
      const store::workflow_record* listed;
      std::unique_ptr<workflow_operator> op;
    };
    std::vector<recovered> ready;
    for (const auto& w : *listed) {
      if (is_finished(w.phase)) continue;
      store::workflow_record rec;
      auto body = load(w.namespace_, w.name, &rec);
      if (!body) {
        spdlog::error("engine: cannot load workflow {}/{}: {}", w.namespace_, w.name,
                      body.error().message);
        continue;
      }
      auto op = factory_(std::move(*body), environment());
      if (!op) {
        spdlog::error("engine: cannot resume workflow {}/{}: {}", w.namespace_, w.name,
                      op.error().message);
        continue;
      }
      (*op)->recover(clock_.now());
      ready.push_back({&w, std::move(*op)});
    }
    // Started only once every unfinished workflow has re-taken the locks it
    // held: one that resumed first could otherwise take a lock that another,
    // not yet recovered, still holds.
    for (auto& r : ready)
      start(r.listed->namespace_, r.listed->name, r.listed->uid, std::move(r.op));
    return ready.size();
  }

  // --- actions -----------------------------------------------------------------

  state_ptr find_active(const std::string& ns, const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = active_.find(key_of(ns, name));
    return it == active_.end() ? nullptr : it->second;
  }

  static result<void> apply_action(workflow_operator& op, workflow_action action,
                                   clock::time_point now) {
    switch (action) {
      case workflow_action::suspend:
        return op.suspend();
      case workflow_action::resume:
        return op.resume(now);
      case workflow_action::stop:
        return op.stop(now);
      case workflow_action::terminate:
        return op.terminate(now);
      case workflow_action::retry:
        return op.retry(now);
      case workflow_action::resubmit:
        break;
    }
    return make_error(errc::internal, "unhandled action");
  }

  result<store::workflow_record> act(const std::string& ns, const std::string& name,
                                     workflow_action action) {
    if (action == workflow_action::resubmit) return resubmit(ns, name);
    {
      std::lock_guard lock(mutex_);
      if (halted_) return make_error(errc::unavailable, "the engine is stopping");
    }
    if (auto st = find_active(ns, name)) {
      std::promise<result<json>> done;
      auto fut = done.get_future();
      asio::post(st->strand, [this, st, action, &done] {
        if (st->done) {
          done.set_value(make_error(errc::failed_precondition, "workflow has just finished"));
          return;
        }
        auto r = apply_action(*st->op, action, clock_.now());
        if (!r) {
          done.set_value(std::move(r).error());
          return;
        }
        done.set_value(st->op->workflow_json());
        step(st);
      });
      auto body = fut.get();
      if (!body) return std::move(body).error();
      return record_of(ns, name, st->uid, std::move(*body));
    }
    // A finished workflow: only retry applies; the operator says so otherwise.
    store::workflow_record rec;
    auto body = load(ns, name, &rec);
    if (!body) return std::move(body).error();
    auto op = factory_(std::move(*body), environment());
    if (!op) return std::move(op).error();
    if (auto r = apply_action(**op, action, clock_.now()); !r) return std::move(r).error();
    auto result_body = (*op)->workflow_json();
    start(ns, name, rec.uid, std::move(*op));
    return record_of(ns, name, rec.uid, std::move(result_body));
  }

  static store::workflow_record record_of(const std::string& ns, const std::string& name,
                                          const std::string& uid, json body) {
    store::workflow_record r;
    r.namespace_ = ns;
    r.name = name;
    r.uid = uid;
    r.phase = status_string(body, "phase");
    r.finished_at = status_string(body, "finishedAt");
    r.body = std::move(body);
    return r;
  }

  result<store::workflow_record> resubmit(const std::string& ns, const std::string& name) {
    auto found = db_.get_workflow(ns, name);
    if (!found) return std::move(found).error();
    json manifest = found->body;
    manifest.erase("status");
    auto& meta = manifest["metadata"];
    for (const char* k : {"uid", "resourceVersion", "creationTimestamp", "name"}) meta.erase(k);
    meta["labels"]["workflows.argoproj.io/resubmitted-from-workflow"] = name;
    return submit_manifest(std::move(manifest), ns, name + "-" + random_suffix(5), {});
  }

  // --- reading -------------------------------------------------------------------

  result<json> get(const std::string& ns, const std::string& name) {
    auto body = load(ns, name, nullptr);
    if (body) set_progress(*body);
    return body;
  }

  result<json> wait(const std::string& ns, const std::string& name,
                    std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    const bool finished = cv_.wait_for(
        lock, timeout, [&] { return halted_ || active_.count(key_of(ns, name)) == 0; });
    lock.unlock();
    if (!finished)
      return make_error(errc::unavailable, "workflow " + key_of(ns, name) + " still running");
    return get(ns, name);
  }

  result<std::string> logs(const std::string& ns, const std::string& name,
                           const std::string& node) {
    auto found = db_.get_workflow(ns, name);
    if (!found) return std::move(found).error();
    auto nodes = db_.list_nodes(found->uid);
    if (!nodes) return std::move(nodes).error();
    std::vector<const store::node_record*> picked;
    for (const auto& n : *nodes) {
      if (!node.empty() && n.node_id != node && n.name != node &&
          n.body.value("displayName", std::string()) != node)
        continue;
      picked.push_back(&n);
    }
    if (!node.empty() && picked.empty())
      return make_error(errc::not_found, "workflow " + key_of(ns, name) + " has no node " + node);
    // RFC 3339 times of one clock sort as text.
    std::stable_sort(picked.begin(), picked.end(), [](const auto* a, const auto* b) {
      return a->body.value("startedAt", std::string()) < b->body.value("startedAt", std::string());
    });
    std::string text;
    for (const auto* n : picked) {
      std::ifstream in(exec_.log_path(found->uid, n->node_id), std::ios::binary);
      if (!in) continue;
      std::stringstream buf;
      buf << in.rdbuf();
      auto s = buf.str();
      if (!s.empty() && s.back() != '\n') s += '\n';
      text += s;
    }
    return text;
  }

  std::size_t active_count() const {
    std::lock_guard lock(mutex_);
    return active_.size();
  }

  executor_capabilities capabilities() const { return exec_.capabilities(); }

 private:
  std::shared_ptr<lifeline> life_ = std::make_shared<lifeline>();
  runtime_settings settings_;
  store::database& db_;
  engine::executor& exec_;
  const kairos::clock& clock_;
  operator_factory factory_;
  local_sync_manager sync_;
  spec::secret_resolver secrets_;

  std::unique_ptr<asio::io_context> own_ioc_;  // without settings_.io
  asio::io_context& ioc_;
  // Set once, by stop(), under mutex_ for the waiters on cv_; the handlers
  // on the strands read it without the lock.
  std::atomic<bool> halted_{false};
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  asio::steady_timer timer_;
  asio::strand<asio::io_context::executor_type> timer_strand_;
  std::mutex timer_mutex_;
  std::multimap<clock::time_point, std::weak_ptr<workflow_state>> timers_;
  std::vector<std::thread> threads_;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::map<std::string, state_ptr> active_;
  std::set<std::string> creating_;  // names being operated for submit
};

runtime::runtime(runtime_settings settings, store::database& db, engine::executor& exec,
                 const kairos::clock& clock, operator_factory factory)
    : impl_(std::make_unique<impl>(std::move(settings), db, exec, clock, std::move(factory))) {}
runtime::~runtime() = default;
result<std::size_t> runtime::recover() {
  return impl_->recover();
}
void runtime::stop() {
  impl_->stop();
}
result<store::workflow_record> runtime::submit(const spec::resource& workflow,
                                               const submit_options& options) {
  return impl_->submit(workflow, options);
}
result<store::workflow_record> runtime::submit(spec::resource&& workflow,
                                               const submit_options& options) {
  return impl_->submit(std::move(workflow), options);
}
result<store::workflow_record> runtime::act(const std::string& ns, const std::string& name,
                                            workflow_action action) {
  return impl_->act(ns, name, action);
}
result<std::string> runtime::logs(const std::string& ns, const std::string& name,
                                  const std::string& node) {
  return impl_->logs(ns, name, node);
}
result<nlohmann::json> runtime::get(const std::string& ns, const std::string& name) {
  return impl_->get(ns, name);
}
result<nlohmann::json> runtime::wait(const std::string& ns, const std::string& name,
                                     std::chrono::milliseconds timeout) {
  return impl_->wait(ns, name, timeout);
}
void runtime::check_timers() {
  impl_->check_timers();
}
std::size_t runtime::active_count() const {
  return impl_->active_count();
}
executor_capabilities runtime::capabilities() const {
  return impl_->capabilities();
}

}  // namespace kairos::engine
