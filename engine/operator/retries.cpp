// retryStrategy: a Retry node whose children are the attempts "<name>(k)".
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "kairos/core/duration.hpp"
#include "kairos/core/expr.hpp"
#include "operator_impl.hpp"

namespace kairos::engine::op {

namespace {

const spec::retry_strategy* strategy_of(const invocation& inv, const spec::workflow_spec& wf) {
  if (inv.tmpl->retry_strategy) return &*inv.tmpl->retry_strategy;
  const bool leaf = inv.tmpl->container || inv.tmpl->script || inv.tmpl->http;
  if (leaf && wf.retry_strategy) return &*wf.retry_strategy;
  return nullptr;
}

std::optional<long long> to_int(const std::string& s) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end == s.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// Argo's OnTransientError: errors that may pass on their own.
bool is_transient(const std::string& message) {
  for (const char* m : {"the executor restarted", "connection refused", "connection reset",
                        "timeout", "temporarily unavailable", "i/o timeout", "EOF"})
    if (message.find(m) != std::string::npos) return true;
  return false;
}

}  // namespace

bool operator_impl::has_retry(const invocation& inv) const {
  return !inv.attempt && strategy_of(inv, spec_) != nullptr;
}

void operator_impl::advance_retry(int idx) {
  auto& ex = *nodes_[idx].ex;
  ex.events.clear();
  const auto* rs = strategy_of(ex.inv, spec_);
  // take_node_locks has begun the node when the template has locks.
  if (!ex.begun || nodes_[idx].phase == phase::pending) {
    ex.begun = true;
    set_phase(idx, phase::running);
  }
  const auto attempts = nodes_[idx].children.size();
  int last = -1;
  if (attempts > 0) {
    auto it = by_id_.find(nodes_[idx].children.back());
    if (it != by_id_.end()) last = it->second;
  }
  auto start_attempt = [&](std::size_t k) {
    invocation inv = ex.inv;
    inv.attempt = true;
    inv.retries = static_cast<int>(k);
    const std::string suffix = "(" + std::to_string(k) + ")";
    const int child =
        execute(nodes_[idx].name + suffix, nodes_[idx].display_name + suffix, std::move(inv), idx);
    add_child(idx, child);
  };
  if (last < 0) {
    start_attempt(0);
    return;
  }
  // A restored attempt that is not running yet: make sure it executes.
  if (!nodes_[last].ex) {
    invocation inv = ex.inv;
    inv.attempt = true;
    inv.retries = static_cast<int>(attempts - 1);
    execute(nodes_[last].name, nodes_[last].display_name, std::move(inv), idx);
    return;
  }
  const auto& lp = nodes_[last].phase;
  if (!is_fulfilled(lp)) return;
  auto finish_like_last = [&](const std::string& message) {
    nodes_[idx].outputs = nodes_[last].outputs;
    finish_node(idx, lp, message);
  };
  if (!is_failed_or_error(lp)) {
    finish_like_last(nodes_[last].message);
    return;
  }
  if (rs == nullptr || !shutdown_.empty() || deadline_passed_) {
    finish_like_last(nodes_[last].message);
    return;
  }
  const scope& sc = *ex.local;
  if (rs->limit) {
    auto text = substitute(*rs->limit, sc);
    auto limit = text ? to_int(*text) : std::nullopt;
    if (!limit) {
      finish_node(idx, phase::error, "retryStrategy.limit: not an integer: " + *rs->limit);
      return;
    }
    if (static_cast<long long>(attempts) > *limit) {
      finish_like_last("No more retries left");
      return;
    }
  }
  const std::string policy = rs->retry_policy.empty() ? "OnFailure" : rs->retry_policy;
  bool again = false;
  if (policy == "Always")
    again = true;
  else if (policy == "OnFailure")
    again = lp == phase::failed;
  else if (policy == "OnError")
    again = lp == phase::error;
  else if (policy == "OnTransientError")
    again = lp == phase::error && is_transient(nodes_[last].message);
  if (!again) {
    finish_like_last(nodes_[last].message);
    return;
  }
  if (!rs->expression.empty()) {
    const auto& ln = nodes_[last];
    const std::string exit_code =
        ln.outputs.is_object() ? ln.outputs.value("exitCode", std::string("-1")) : "-1";
    double secs = 0;
    if (ln.started_at && ln.finished_at)
      secs = std::chrono::duration<double>(*ln.finished_at - *ln.started_at).count();
    json env = sc.expr_env();
    env["lastRetry"] = {{"exitCode", exit_code},
                        {"status", ln.phase},
                        {"duration", std::to_string(static_cast<long long>(secs))},
                        {"message", ln.message}};
    auto r = expr::evaluate_bool(rs->expression, env);
    if (!r) {
      finish_node(idx, phase::error, "retryStrategy.expression: " + r.error().message);
      return;
    }
    if (!*r) {
      finish_like_last(nodes_[last].message);
      return;
    }
  }
  if (rs->backoff && !rs->backoff->duration.empty()) {
    const auto& b = *rs->backoff;
    auto dtext = substitute(b.duration, sc);
    auto base = dtext ? parse_argo_duration(*dtext)
                      : result<std::chrono::nanoseconds>(std::move(dtext).error());
    if (!base) {
      finish_node(idx, phase::error, "retryStrategy.backoff.duration: " + base.error().message);
      return;
    }
    double factor = 1;
    if (b.factor) {
      auto ftext = substitute(*b.factor, sc);
      auto f = ftext ? to_int(*ftext) : std::nullopt;
      if (f) factor = static_cast<double>(*f);
    }
    double wait_ns =
        static_cast<double>(base->count()) * std::pow(factor, static_cast<double>(attempts - 1));
    if (!b.cap.empty()) {
      if (auto cap = parse_argo_duration(b.cap)) wait_ns = std::min(wait_ns, double(cap->count()));
    }
    const auto wait = std::chrono::duration_cast<clock::duration>(
        std::chrono::nanoseconds(static_cast<long long>(std::min(wait_ns, 1e18))));
    const auto from = nodes_[last].finished_at ? *nodes_[last].finished_at : now_;
    const auto at = from + wait;
    if (!b.max_duration.empty()) {
      if (auto maxd = parse_argo_duration(b.max_duration)) {
        const auto begin = nodes_[idx].started_at ? *nodes_[idx].started_at : now_;
        if (at > begin + std::chrono::duration_cast<clock::duration>(*maxd)) {
          finish_like_last("Max duration limit exceeded");
          return;
        }
      }
    }
    if (now_ < at) {
      const std::string msg =
          "Backoff for " +
          format_go_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(wait));
      if (nodes_[idx].message != msg) set_phase(idx, phase::running, msg);
      if (!ex.retry_at || *ex.retry_at != at) {
        ex.retry_at = at;
        add_timer(at, idx);
      }
      return;
    }
  }
  ex.retry_at.reset();
  if (!nodes_[idx].message.empty()) set_phase(idx, phase::running, "");
  start_attempt(attempts);
}

}  // namespace kairos::engine::op
