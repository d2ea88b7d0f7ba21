#include "fake_engine.hpp"

#include <chrono>
#include <set>
#include <thread>

#include "kairos/core/text.hpp"

namespace kairos::engine::testing {

namespace {

using json = nlohmann::json;

class fake_operator final : public workflow_operator {
 public:
  fake_operator(json wf, fake_log& log, sync_manager* sync)
      : wf_(std::move(wf)), log_(log), sync_(sync) {
    auto& status = wf_["status"];
    if (!status.is_object()) status = json::object();
    if (status.contains("nodes")) {
      nodes_ = status["nodes"];
      status.erase("nodes");
    } else {
      nodes_ = json::object();
    }
    for (const auto& t : wf_["spec"].value("templates", json::array())) {
      if (!t.contains("container")) continue;
      const std::string name = t.value("name", std::string());
      leaves_.push_back(name);
      const auto ann = t.value("metadata", json::object()).value("annotations", json::object());
      if (ann.contains("kairos.test/mutex"))
        mutex_[name] = ann["kairos.test/mutex"].get<std::string>();
      if (ann.contains("kairos.test/requeue-seconds"))
        delay_[name] = std::stoi(ann["kairos.test/requeue-seconds"].get<std::string>());
    }
  }

  void recover(clock::time_point) override {
    for (auto& [id, n] : nodes_.items()) {
      if (n.value("phase", "") == "Running") {
        // Like the real operator: a node that ran under a lock holds it
        // again, ahead of anyone queued, before it is relaunched.
        if (auto m = mutex_.find(id); m != mutex_.end() && sync_ != nullptr)
          sync_->restore(lock_key(m->second), holder());
        n["phase"] = "Error";
        n["message"] = "the executor restarted";
        changed_.insert(id);
      }
    }
  }

  operate_outcome operate(clock::time_point now) override {
    if (log_.on_operate) log_.on_operate(wf_["metadata"].value("name", ""));
    operate_outcome out;
    auto& status = wf_["status"];
    if (suspended_) return out;
    if (status.value("phase", "") == "Pending" || !status.contains("startedAt")) {
      status["phase"] = "Running";
      status["startedAt"] = format_rfc3339(now);
      out.status_changed = true;
    }
    if (!started_) {
      started_ = true;
      start_ = now;
    }
    bool all_done = true, all_ok = true;
    for (const auto& leaf : leaves_) {
      auto phase = nodes_.contains(leaf) ? nodes_[leaf].value("phase", "") : std::string();
      if (phase.empty() || phase == "Error") {
        if (auto d = delay_.find(leaf); d != delay_.end()) {
          auto due = start_ + std::chrono::seconds(d->second);
          if (now < due) {
            out.requeue_at = out.requeue_at ? std::min(*out.requeue_at, due) : due;
            all_done = false;
            continue;
          }
        }
        if (auto m = mutex_.find(leaf); m != mutex_.end() && sync_ != nullptr &&
                                        !sync_->try_acquire(lock_key(m->second), holder())) {
          all_done = false;
          continue;
        }
        nodes_[leaf] = {{"id", leaf},
                        {"name", wf_["metadata"]["name"].get<std::string>() + "." + leaf},
                        {"displayName", leaf},
                        {"type", "Pod"},
                        {"phase", "Running"},
                        {"startedAt", format_rfc3339(now)}};
        changed_.insert(leaf);
        task t;
        t.workflow_uid = wf_["metadata"].value("uid", "");
        t.workflow_name = wf_["metadata"].value("name", "");
        t.node_id = leaf;
        t.work = process_task{};
        out.launches.push_back(std::move(t));
        all_done = false;
      } else if (phase == "Running") {
        all_done = false;
      } else if (phase != "Succeeded") {
        all_ok = false;
      }
    }
    if (all_done && !is_final()) {
      status["phase"] = all_ok ? "Succeeded" : "Failed";
      status["finishedAt"] = format_rfc3339(now);
      out.status_changed = true;
    }
    out.completed = is_final();
    out.changed_nodes.assign(changed_.begin(), changed_.end());
    changed_.clear();
    return out;
  }

  bool report_progress(const std::string&, const std::string&) override { return false; }
  void complete_node(const std::string& id, const outcome& o, clock::time_point now) override {
    auto& n = nodes_[id];
    n["phase"] = o.what == outcome::kind::exited && o.exit_code == 0 ? "Succeeded" : "Failed";
    n["finishedAt"] = format_rfc3339(now);
    changed_.insert(id);
    if (auto m = mutex_.find(id); m != mutex_.end() && sync_ != nullptr)
      sync_->release(lock_key(m->second), holder());
  }

  result<void> suspend() override {
    note("suspend");
    suspended_ = true;
    return {};
  }
  result<void> resume(clock::time_point) override {
    note("resume");
    if (!suspended_) return make_error(errc::failed_precondition, "workflow is not suspended");
    suspended_ = false;
    return {};
  }
  result<void> stop(clock::time_point) override {
    note("stop");
    return {};
  }
  result<void> terminate(clock::time_point) override {
    note("terminate");
    return {};
  }
  result<void> retry(clock::time_point) override {
    note("retry");
    if (!is_final()) return make_error(errc::failed_precondition, "workflow is still running");
    for (auto& [id, n] : nodes_.items())
      if (n.value("phase", "") != "Succeeded") nodes_.erase(id);
    wf_["status"]["phase"] = "Running";
    wf_["status"].erase("finishedAt");
    return {};
  }

  std::string phase() const override { return wf_["status"].value("phase", ""); }
  json workflow_json() const override {
    auto w = wf_;
    w["status"]["nodes"] = nodes_;
    return w;
  }
  json workflow_json_without_nodes() const override { return wf_; }
  json node_json(const std::string& id) const override { return nodes_.value(id, json()); }

 private:
  std::string holder() const {
    return wf_["metadata"].value("namespace", "") + "/" + wf_["metadata"].value("name", "");
  }
  std::string lock_key(const std::string& m) const {
    return wf_["metadata"].value("namespace", "") + "/mutex/" + m;
  }
  bool is_final() const {
    auto p = wf_["status"].value("phase", "");
    return p == "Succeeded" || p == "Failed" || p == "Error";
  }
  void note(const std::string& a) {
    std::lock_guard lock(log_.mutex);
    log_.actions.push_back(a);
  }

  json wf_;
  json nodes_;
  fake_log& log_;
  std::vector<std::string> leaves_;
  std::map<std::string, int> delay_;
  std::map<std::string, std::string> mutex_;
  sync_manager* sync_ = nullptr;
  std::set<std::string> changed_;
  bool started_ = false;
  bool suspended_ = false;
  clock::time_point start_;
};

}  // namespace

operator_factory fake_operator_factory(fake_log& log) {
  return [&log](json wf, operator_environment env) -> result<std::unique_ptr<workflow_operator>> {
    {
      std::lock_guard lock(log.mutex);
      log.created.push_back(wf);
    }
    if (log.on_create) log.on_create(wf["metadata"].value("name", ""));
    if (wf["spec"].value("entrypoint", "") == "reject-me")
      return make_error(errc::invalid_argument, "spec.entrypoint: fake operator rejects this");
    return std::unique_ptr<workflow_operator>(
        std::make_unique<fake_operator>(std::move(wf), log, env.sync));
  };
}

void fake_executor::start(task t, completion done) {
  if (on_start) on_start(t);
  std::optional<int> code;
  {
    std::lock_guard lock(mutex_);
    started_.push_back(t.node_id);
    if (auto it = auto_exit.find(t.node_id); it != auto_exit.end())
      code = it->second;
    else
      pending_[t.node_id] = std::move(done);
  }
  cv_.notify_all();
  if (code) {
    // From another thread, as a real executor would.
    std::thread delivery([done = std::move(done), c = *code] {
      outcome o;
      o.what = outcome::kind::exited;
      o.exit_code = c;
      done(o);
    });
    std::lock_guard lock(mutex_);
    deliveries_.push_back(std::move(delivery));
  }
}

void fake_executor::drain() {
  std::vector<std::thread> threads;
  std::map<std::string, completion> unfinished;
  {
    std::lock_guard lock(mutex_);
    threads.swap(deliveries_);
    unfinished.swap(pending_);
  }
  for (auto& t : threads) t.join();
  // Completions never delivered are dropped here too, while the runtime
  // whose state they hold is still there.
}

void fake_executor::kill(const std::string&, const std::string& node_id) {
  std::lock_guard lock(mutex_);
  killed_.push_back(node_id);
}

std::filesystem::path fake_executor::log_path(const std::string& workflow_uid,
                                              const std::string& node_id) const {
  return log_dir_ / workflow_uid / (node_id + ".log");
}

bool fake_executor::finish(const std::string& node_id, int exit_code) {
  completion done;
  {
    std::lock_guard lock(mutex_);
    auto it = pending_.find(node_id);
    if (it == pending_.end()) return false;
    done = std::move(it->second);
    pending_.erase(it);
  }
  outcome o;
  o.what = outcome::kind::exited;
  o.exit_code = exit_code;
  done(o);
  return true;
}

bool fake_executor::wait_started(std::size_t n) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return started_.size() >= n; });
}

std::vector<std::string> fake_executor::started() const {
  std::lock_guard lock(mutex_);
  return started_;
}

std::vector<std::string> fake_executor::killed() const {
  std::lock_guard lock(mutex_);
  return killed_;
}

}  // namespace kairos::engine::testing
