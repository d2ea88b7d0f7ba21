// The workflow around the entrypoint: start, workflow-level locks and
// deadline, the onExit handler, the final phase, and lifecycle actions.
#include <algorithm>

#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "operator_impl.hpp"

namespace kairos::engine::op {

namespace {

bool is_final(const std::string& p) {
  return p == phase::succeeded || p == phase::failed || p == phase::error;
}

}  // namespace

void operator_impl::begin_workflow(time_point now) {
  if (phase_ == phase::pending) {
    if (!volumes_error_.empty()) {
      started_at_ = now;
      finish_workflow(phase::error, volumes_error_);
      return;
    }
    if (spec_.synchronization && !wf_locks_held_) {
      if (!acquire_locks(-1, *spec_.synchronization, wf_lock_holder_)) {
        if (message_.empty()) {
          message_ = "Waiting for a workflow-level lock";
          status_changed_ = true;
        }
        return;
      }
      wf_locks_held_ = true;
    }
    phase_ = phase::running;
    message_.clear();
    if (!started_at_) started_at_ = now;
    status_changed_ = true;
  }
  if (spec_.active_deadline_seconds && started_at_)
    add_timer(*started_at_ + std::chrono::seconds(*spec_.active_deadline_seconds), -1);
  const auto* t = find_template(spec_.entrypoint);
  auto inv = make_invocation(*t, spec_.entrypoint, spec_.arguments, *globals_, "");
  if (!inv) {
    int idx = find_node(name_);
    if (idx < 0) idx = create_node(name_, name_, "Pod", spec_.entrypoint, "");
    nodes_[idx].phase = phase::error;
    nodes_[idx].message = inv.error().message;
    nodes_[idx].finished_at = now;
    mark_changed(idx);
    root_ = idx;
    return;
  }
  root_ = execute(name_, name_, std::move(*inv), -1);
}

json operator_impl::failures_json() const {
  json out = json::array();
  for (const auto& n : nodes_) {
    if (n.type != "Pod" && n.type != "HTTP") continue;
    if (!is_failed_or_error(n.phase)) continue;
    json f = {{"displayName", n.display_name},
              {"message", n.message},
              {"templateName", n.template_name},
              {"phase", n.phase},
              {"podName", n.id}};
    if (n.finished_at) f["finishedAt"] = format_rfc3339(*n.finished_at);
    out.push_back(std::move(f));
  }
  return out;
}

void operator_impl::advance_workflow() {
  if (root_ < 0 || is_final(phase_)) return;
  const auto& root = nodes_[root_];
  if (!is_fulfilled(root.phase)) return;
  auto final_phase = [&]() -> std::pair<std::string, std::string> {
    std::string p = root.phase;
    std::string m = root.message;
    if (p == phase::skipped || p == phase::omitted) p = phase::succeeded;
    if (deadline_passed_ && p != phase::succeeded) {
      p = phase::failed;
      m = "Step exceeded its deadline";
    }
    if (!shutdown_.empty() && p != phase::succeeded) {
      p = phase::failed;
      m = "Stopped with strategy '" + shutdown_ + "'";
    }
    return {p, m};
  };
  if (!main_done_) {
    main_done_ = true;
    const auto [p, m] = final_phase();
    globals_->vars["workflow.status"] = p;
    globals_->vars["workflow.failures"] = dump_json_replacing(failures_json());
    const auto begin = started_at_ ? *started_at_ : now_;
    globals_->vars["workflow.duration"] =
        std::to_string(std::chrono::duration<double>(now_ - begin).count());
    if (!spec_.on_exit.empty() && shutdown_ != "Terminate") {
      const auto* t = find_template(spec_.on_exit);
      auto inv = make_invocation(*t, spec_.on_exit, {}, *globals_, "");
      if (inv) {
        exit_root_ = execute(name_ + ".onExit", name_ + ".onExit", std::move(*inv), -1);
        if (!is_fulfilled(nodes_[exit_root_].phase)) return;
      } else {
        const int e =
            find_node(name_ + ".onExit") >= 0
                ? find_node(name_ + ".onExit")
                : create_node(name_ + ".onExit", name_ + ".onExit", "Pod", spec_.on_exit, "");
        nodes_[e].phase = phase::error;
        nodes_[e].message = inv.error().message;
        nodes_[e].finished_at = now_;
        mark_changed(e);
        exit_root_ = e;
      }
    }
  }
  if (exit_root_ >= 0 && !is_fulfilled(nodes_[exit_root_].phase)) return;
  auto [p, m] = final_phase();
  if (exit_root_ >= 0 && p == phase::succeeded && is_failed_or_error(nodes_[exit_root_].phase)) {
    p = nodes_[exit_root_].phase;
    m = "exit handler: " + nodes_[exit_root_].message;
  }
  finish_workflow(p, m);
}

void operator_impl::finish_workflow(const std::string& p, const std::string& message) {
  phase_ = p;
  message_ = message;
  finished_at_ = now_;
  if (!started_at_) started_at_ = now_;
  status_changed_ = true;
  if (wf_locks_held_ && env_.sync && spec_.synchronization) {
    for (const auto& m : spec_.synchronization->mutexes)
      env_.sync->release((m.namespace_.empty() ? ns_ : m.namespace_) + "/mutex/" + m.name,
                         wf_lock_holder_);
    for (const auto& s : spec_.synchronization->semaphores)
      if (s.config_map_key_ref)
        env_.sync->release((s.namespace_.empty() ? ns_ : s.namespace_) + "/semaphore/" +
                               s.config_map_key_ref->name + "/" + s.config_map_key_ref->key,
                           wf_lock_holder_);
    wf_locks_held_ = false;
  }
  // Nodes still open (suspended ones, waiting ones) end with the workflow.
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    if (!is_fulfilled(n.phase) && n.ex) {
      release_locks(static_cast<int>(i));
      n.phase = phase::failed;
      if (n.message.empty()) n.message = message.empty() ? "workflow finished" : message;
      n.finished_at = now_;
      mark_changed(static_cast<int>(i));
    }
  }
  timers_.clear();
  blocked_.clear();
  queue_.clear();
  std::fill(queued_.begin(), queued_.end(), 0);
}

void operator_impl::check_deadlines(time_point now) {
  if (deadline_passed_ || !spec_.active_deadline_seconds || !started_at_) return;
  if (now < *started_at_ + std::chrono::seconds(*spec_.active_deadline_seconds)) return;
  deadline_passed_ = true;
  kill_running(true, "Step exceeded its deadline");
}

void operator_impl::kill_running(bool for_deadline, const std::string& message) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    if (!n.ex || is_fulfilled(n.phase)) continue;
    if (n.ex->kind == exec_kind::leaf && n.ex->launched) {
      if (for_deadline) {
        n.ex->killed_for_deadline = true;
        n.ex->deadline_message = message;
      } else {
        n.ex->killed_for_shutdown = true;
      }
      pending_kills_.push_back(n.id);
    } else {
      enqueue(static_cast<int>(i));
    }
  }
  for (int b : blocked_) enqueue(b);
  blocked_.clear();
}

// --- actions ------------------------------------------------------------------------------

result<void> operator_impl::suspend() {
  if (is_final(phase_))
    return make_error(errc::failed_precondition, "cannot suspend a workflow that has finished");
  if (suspended_) return make_error(errc::failed_precondition, "workflow is already suspended");
  suspended_ = true;
  status_changed_ = true;
  return {};
}

result<void> operator_impl::resume(time_point now) {
  now_ = now;
  bool any = false;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    if (n.ex && n.ex->kind == exec_kind::suspend && !is_fulfilled(n.phase)) {
      finish_node(static_cast<int>(i), phase::succeeded);
      any = true;
    }
  }
  if (!suspended_ && !any)
    return make_error(errc::failed_precondition, "workflow is not suspended");
  suspended_ = false;
  status_changed_ = true;
  for (int b : blocked_) enqueue(b);
  blocked_.clear();
  return {};
}

result<void> operator_impl::stop(time_point now) {
  now_ = now;
  if (is_final(phase_))
    return make_error(errc::failed_precondition, "cannot stop a workflow that has finished");
  shutdown_ = "Stop";
  suspended_ = false;
  status_changed_ = true;
  kill_running(false, "");
  return {};
}

result<void> operator_impl::terminate(time_point now) {
  now_ = now;
  if (is_final(phase_))
    return make_error(errc::failed_precondition, "cannot terminate a workflow that has finished");
  shutdown_ = "Terminate";
  suspended_ = false;
  status_changed_ = true;
  kill_running(false, "");
  return {};
}

result<void> operator_impl::retry(time_point now) {
  now_ = now;
  if (phase_ != phase::failed && phase_ != phase::error)
    return make_error(errc::failed_precondition,
                      "only a Failed or Errored workflow can be retried (it is " + phase_ + ")");
  const std::string exit_prefix = name_ + ".onExit";
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    n.ex.reset();
    const bool in_exit = n.name.compare(0, exit_prefix.size(), exit_prefix) == 0;
    const bool bad = is_failed_or_error(n.phase) || n.phase == phase::omitted;
    if (!bad && !in_exit) continue;
    const bool leaf =
        n.type == "Pod" || n.type == "HTTP" || n.type == "Suspend" || n.type == "Skipped";
    n.phase = leaf ? phase::pending : phase::running;
    n.message.clear();
    n.finished_at.reset();
    if (leaf) n.outputs = json();
    mark_changed(static_cast<int>(i));
  }
  root_ = -1;
  exit_root_ = -1;
  main_done_ = false;
  queue_.clear();
  std::fill(queued_.begin(), queued_.end(), 0);
  timers_.clear();
  blocked_.clear();
  restored_running_.clear();
  running_leaves_.clear();
  shutdown_.clear();
  deadline_passed_ = false;
  globals_->vars.erase("workflow.status");
  globals_->vars.erase("workflow.failures");
  phase_ = phase::running;
  message_.clear();
  finished_at_.reset();
  started_at_ = now;
  status_changed_ = true;
  return {};
}

}  // namespace kairos::engine::op
