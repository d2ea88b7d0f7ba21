// DAG templates: dependencies and `depends`, targets, failFast, continueOn,
// Omitted tasks, task-level onExit and Argo's branch phases.
#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "operator_impl.hpp"

namespace kairos::engine::op {

namespace {

bool is_result_name(const std::string& s) {
  static const char* names[] = {"Succeeded", "Failed",   "Errored",      "Skipped",
                                "Omitted",   "Daemoned", "AnySucceeded", "AllFailed"};
  for (const char* n : names)
    if (s == n) return true;
  return false;
}

class depends_parser {
 public:
  depends_parser(const std::string& text, const std::unordered_map<std::string, int>& index)
      : text_(text), index_(index) {}

  result<depends_expr> parse() {
    auto e = parse_or();
    if (!e) return e;
    skip();
    if (pos_ != text_.size()) return fail("unexpected '" + text_.substr(pos_, 1) + "'");
    return e;
  }

 private:
  error fail(const std::string& what) {
    return make_error(errc::invalid_argument, "depends '" + text_ + "': " + what + " at column " +
                                                  std::to_string(pos_ + 1));
  }
  void skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(const char* tok) {
    skip();
    const std::string t(tok);
    if (text_.compare(pos_, t.size(), t) == 0) {
      pos_ += t.size();
      return true;
    }
    return false;
  }
  result<depends_expr> parse_or() {
    auto left = parse_and();
    if (!left) return left;
    while (eat("||")) {
      auto right = parse_and();
      if (!right) return right;
      depends_expr e;
      e.kind = depends_expr::op::or_;
      e.args.push_back(std::move(*left));
      e.args.push_back(std::move(*right));
      left = std::move(e);
    }
    return left;
  }
  result<depends_expr> parse_and() {
    auto left = parse_unary();
    if (!left) return left;
    while (eat("&&")) {
      auto right = parse_unary();
      if (!right) return right;
      depends_expr e;
      e.kind = depends_expr::op::and_;
      e.args.push_back(std::move(*left));
      e.args.push_back(std::move(*right));
      left = std::move(e);
    }
    return left;
  }
  result<depends_expr> parse_unary() {
    if (eat("!")) {
      auto inner = parse_unary();
      if (!inner) return inner;
      depends_expr e;
      e.kind = depends_expr::op::not_;
      e.args.push_back(std::move(*inner));
      return e;
    }
    if (eat("(")) {
      auto inner = parse_or();
      if (!inner) return inner;
      if (!eat(")")) return fail("expected ')'");
      return inner;
    }
    skip();
    const std::size_t start = pos_;
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')
        ++pos_;
      else
        break;
    }
    if (pos_ == start)
      return fail(pos_ < text_.size() ? "unexpected '" + text_.substr(pos_, 1) + "'"
                                      : "unexpected end");
    std::string word = text_.substr(start, pos_ - start);
    depends_expr e;
    if (auto dot = word.rfind('.');
        dot != std::string::npos && is_result_name(word.substr(dot + 1))) {
      e.result = word.substr(dot + 1);
      word = word.substr(0, dot);
    }
    auto it = index_.find(word);
    if (it == index_.end()) return fail("unknown task '" + word + "'");
    e.task = it->second;
    return e;
  }

  const std::string& text_;
  const std::unordered_map<std::string, int>& index_;
  std::size_t pos_ = 0;
};

void collect_tasks(const depends_expr& e, std::vector<int>& out) {
  if (e.kind == depends_expr::op::leaf) {
    if (std::find(out.begin(), out.end(), e.task) == out.end()) out.push_back(e.task);
    return;
  }
  for (const auto& a : e.args) collect_tasks(a, out);
}

void collect_failure_refs(const depends_expr& e, std::vector<char>& handled) {
  if (e.kind == depends_expr::op::leaf) {
    if (e.result == "Failed" || e.result == "Errored" || e.result == "AllFailed" ||
        e.result == "Omitted")
      handled[e.task] = 1;
    return;
  }
  for (const auto& a : e.args) collect_failure_refs(a, handled);
}

}  // namespace

result<depends_expr> parse_depends(const std::string& text,
                                   const std::unordered_map<std::string, int>& index) {
  return depends_parser(text, index).parse();
}

void operator_impl::begin_dag(int idx) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  const auto& dag = *ex.inv.tmpl->dag;
  ex.dag = std::make_unique<dag_state>();
  auto& d = *ex.dag;
  d.dag = &dag;
  const int count = static_cast<int>(dag.tasks.size());
  d.tasks.resize(count);
  d.deps.resize(count);
  d.dependents.resize(count);
  d.logic.resize(count);
  d.failure_handled.assign(count, 0);
  d.index.reserve(count);
  for (int i = 0; i < count; ++i) d.index[dag.tasks[i].name] = i;
  d.vars = std::make_shared<scope>();
  d.vars->parent = ex.local.get();
  // Every task that ends publishes its status, id and two times here: grown
  // one rehash at a time, a 100k-task DAG spent a twentieth of its
  // controller time rehashing.
  d.vars->vars.reserve(static_cast<std::size_t>(count) * 4);
  for (int i = 0; i < count; ++i) {
    const auto& t = dag.tasks[i];
    if (!t.depends.empty()) {
      auto text = substitute(t.depends, *ex.local);
      if (!text) {
        finish_node(idx, phase::error, text.error().message);
        return;
      }
      auto parsed = parse_depends(*text, d.index);
      if (!parsed) {
        finish_node(idx, phase::error, "task '" + t.name + "': " + parsed.error().message);
        return;
      }
      d.logic[i] = std::move(*parsed);
      collect_tasks(d.logic[i], d.deps[i]);
      collect_failure_refs(d.logic[i], d.failure_handled);
    } else if (!t.dependencies.empty()) {
      depends_expr all;
      all.kind = depends_expr::op::and_;
      for (const auto& dep : t.dependencies) {
        auto it = d.index.find(dep);
        if (it == d.index.end()) {
          finish_node(idx, phase::error, "task '" + t.name + "': unknown dependency '" + dep + "'");
          return;
        }
        depends_expr leaf;
        leaf.task = it->second;
        all.args.push_back(leaf);
        if (std::find(d.deps[i].begin(), d.deps[i].end(), it->second) == d.deps[i].end())
          d.deps[i].push_back(it->second);
      }
      d.logic[i] = std::move(all);
    } else {
      d.logic[i].kind = depends_expr::op::and_;  // no arguments: true
    }
    for (int dep : d.deps[i]) d.dependents[dep].push_back(i);
  }
  // Cycles were rejected by the spec reader; a templated depends could still
  // make one, which would simply never start.
  if (!dag.target.empty()) {
    auto text = substitute(dag.target, *ex.local);
    if (!text) {
      finish_node(idx, phase::error, "target: " + text.error().message);
      return;
    }
    std::string word;
    auto flush = [&]() -> bool {
      if (word.empty()) return true;
      auto it = d.index.find(word);
      if (it == d.index.end()) return false;
      d.targets.push_back(it->second);
      word.clear();
      return true;
    };
    for (char c : *text + " ") {
      if (c == ' ' || c == ',') {
        const std::string w = word;
        if (!flush()) {
          finish_node(idx, phase::error, "target: unknown task '" + w + "'");
          return;
        }
      } else {
        word += c;
      }
    }
    for (auto& t : d.tasks) t.needed = false;
    std::vector<int> stack = d.targets;
    while (!stack.empty()) {
      const int t = stack.back();
      stack.pop_back();
      if (d.tasks[t].needed) continue;
      d.tasks[t].needed = true;
      for (int dep : d.deps[t]) stack.push_back(dep);
    }
  } else {
    for (int i = 0; i < count; ++i)
      if (d.dependents[i].empty()) d.targets.push_back(i);
  }
  for (int i = 0; i < count; ++i) {
    auto& t = d.tasks[i];
    if (!t.needed) continue;
    ++d.unresolved;
    for (int dep : d.deps[i])
      if (d.tasks[dep].needed) ++t.waiting;
    if (t.waiting == 0) d.ready.push_back(i);
  }
}

namespace {

bool continues_on(const spec::template_call& call, const std::string& p) {
  if (!call.continue_on) return false;
  return (p == phase::failed && call.continue_on->failed) ||
         (p == phase::error && call.continue_on->error);
}

}  // namespace

void operator_impl::advance_dag(int idx) {
  auto& ex = *nodes_[idx].ex;
  if (!ex.dag) {
    begin_dag(idx);
    if (is_fulfilled(nodes_[idx].phase)) return;
    set_phase(idx, phase::running);
  }
  auto& d = *ex.dag;
  const auto& dag = *d.dag;
  const bool fail_fast = dag.fail_fast.value_or(ex.inv.tmpl->fail_fast.value_or(true));

  // Evaluates a task's depends over the phases of resolved tasks.
  std::function<bool(const depends_expr&)> eval = [&](const depends_expr& e) -> bool {
    switch (e.kind) {
      case depends_expr::op::and_:
        for (const auto& a : e.args)
          if (!eval(a)) return false;
        return true;
      case depends_expr::op::or_:
        for (const auto& a : e.args)
          if (eval(a)) return true;
        return false;
      case depends_expr::op::not_:
        return !eval(e.args.front());
      case depends_expr::op::leaf:
        break;
    }
    const auto& ts = d.tasks[e.task];
    const std::string& p = ts.final_phase;
    if (e.result.empty())
      return p == phase::succeeded || p == phase::skipped || continues_on(dag.tasks[e.task], p);
    if (e.result == "Succeeded") return p == phase::succeeded;
    if (e.result == "Failed") return p == phase::failed;
    if (e.result == "Errored") return p == phase::error;
    if (e.result == "Skipped") return p == phase::skipped;
    if (e.result == "Omitted") return p == phase::omitted;
    if (e.result == "Daemoned") return false;
    if (ts.node < 0) return false;
    const auto& tn = nodes_[ts.node];
    bool any = false, all = !tn.children.empty();
    for (const auto& cid : tn.children) {
      auto it = by_id_.find(cid);
      if (it == by_id_.end()) continue;
      any = any || nodes_[it->second].phase == phase::succeeded;
      all = all && nodes_[it->second].phase == phase::failed;
    }
    if (tn.type != "TaskGroup") {
      any = p == phase::succeeded;
      all = p == phase::failed;
    }
    return e.result == "AnySucceeded" ? any : all;
  };

  std::function<void(int)> resolve = [&](int t) {
    auto& ts = d.tasks[t];
    if (ts.resolved) return;
    ts.resolved = true;
    if (ts.node >= 0) {
      ts.final_phase = nodes_[ts.node].phase;
      publish_outputs(*d.vars, "tasks." + dag.tasks[t].name, ts.node);
    }
    // Argo's branch phase: a finished task's own phase (a failure it may
    // continue on counts as success), else the first failure upstream.
    const auto& p = ts.final_phase;
    if (p == phase::succeeded || is_failed_or_error(p)) {
      ts.branch = continues_on(dag.tasks[t], p) ? std::string(phase::succeeded) : p;
    } else {
      ts.branch = phase::succeeded;
      for (int dep : d.deps[t])
        if (is_failed_or_error(d.tasks[dep].branch)) {
          ts.branch = d.tasks[dep].branch;
          break;
        }
    }
    if (is_failed_or_error(p) && !continues_on(dag.tasks[t], p) && !d.failure_handled[t] &&
        fail_fast)
      d.fail_fast_tripped = true;
    if (ts.needed) --d.unresolved;
    for (int dep : d.dependents[t]) {
      auto& ds = d.tasks[dep];
      if (!ds.needed || ds.resolved) continue;
      if (--ds.waiting == 0) d.ready.push_back(dep);
    }
  };

  // Finished children.
  auto events = std::move(ex.events);
  ex.events.clear();
  for (int c : events) {
    if (auto it = d.exit_of_node.find(c); it != d.exit_of_node.end()) {
      resolve(it->second);
      continue;
    }
    auto it = d.task_of_node.find(c);
    if (it == d.task_of_node.end()) continue;
    const int t = it->second;
    auto& ts = d.tasks[t];
    if (ts.started) {
      ts.started = false;
      --d.active;
    }
    const auto& call = dag.tasks[t];
    if (!call.on_exit.empty() && !ts.exit_started && nodes_[c].phase != phase::omitted &&
        nodes_[c].phase != phase::skipped) {
      ts.exit_started = true;
      const auto* tmpl = find_template(call.on_exit);
      if (tmpl != nullptr) {
        auto inv = make_invocation(*tmpl, call.on_exit, {}, *d.vars, nodes_[idx].id);
        if (inv) {
          const std::string name = nodes_[c].name + ".onExit";
          // The hook sees the task's outputs like a dependent would.
          ts.final_phase = nodes_[c].phase;
          publish_outputs(*d.vars, "tasks." + call.name, c);
          const int e = execute(name, call.name + ".onExit", std::move(*inv), idx);
          d.exit_of_node[e] = t;
          add_child(c, e);
          continue;
        }
      }
    }
    resolve(t);
  }

  // Start what is ready.
  const std::int64_t limit = ex.inv.tmpl->parallelism.value_or(0);
  while (!d.ready.empty()) {
    if (limit > 0 && d.active >= limit) break;
    const int t = d.ready.front();
    d.ready.pop_front();
    auto& ts = d.tasks[t];
    const auto& call = dag.tasks[t];
    const std::string name = nodes_[idx].name + "." + call.name;
    const bool wanted = eval(d.logic[t]);
    if (wanted && d.fail_fast_tripped && find_node(name) < 0) {
      resolve(t);  // failFast: never runs
      continue;
    }
    if (!wanted) {
      int o = find_node(name);
      if (o < 0) o = create_node(name, call.name, "Skipped", call.template_, nodes_[idx].id);
      auto& on = nodes_[o];
      if (!is_fulfilled(on.phase)) {
        on.phase = phase::omitted;
        on.message = "omitted: depends condition not met";
        on.finished_at = now_;
        mark_changed(o);
      }
      ts.node = o;
      if (d.deps[t].empty()) add_child(idx, o);
      for (int dep : d.deps[t])
        if (d.tasks[dep].node >= 0) add_child(d.tasks[dep].node, o);
      resolve(t);
      continue;
    }
    ts.started = true;
    ++d.active;
    const int c = start_call(call, name, call.name, *d.vars, nodes_[idx].id, idx, true);
    ts.node = c;
    d.task_of_node[c] = t;
    if (d.deps[t].empty()) add_child(idx, c);
    for (int dep : d.deps[t]) {
      const int dn = d.tasks[dep].node;
      if (dn >= 0) add_child(dn, c);
    }
  }

  if (d.unresolved > 0 && !(d.fail_fast_tripped && d.active == 0 && d.ready.empty())) return;
  if (d.active > 0) return;
  // Done: the DAG's phase from its targets' branches.
  std::string p = phase::succeeded;
  std::string message;
  std::vector<std::string> outbound;
  for (int t : d.targets) {
    auto& ts = d.tasks[t];
    if (ts.node >= 0) outbound.push_back(nodes_[ts.node].id);
    if (!ts.resolved) {
      // Not reached (failFast): inherit upstream failures.
      ts.branch = phase::succeeded;
      for (int dep : d.deps[t])
        if (is_failed_or_error(d.tasks[dep].branch)) ts.branch = d.tasks[dep].branch;
    }
    if (is_failed_or_error(ts.branch) && !is_failed_or_error(p)) {
      p = ts.branch;
      // Name the task whose failure this is.
      int culprit = t;
      while (culprit >= 0 && !is_failed_or_error(d.tasks[culprit].final_phase)) {
        int next = -1;
        for (int dep : d.deps[culprit])
          if (is_failed_or_error(d.tasks[dep].branch)) next = dep;
        culprit = next;
      }
      const int cn = culprit >= 0 ? d.tasks[culprit].node : ts.node;
      message = "child '" + (cn >= 0 ? nodes_[cn].id : dag.tasks[t].name) + "' failed";
    }
  }
  if (d.fail_fast_tripped && !is_failed_or_error(p)) {
    for (std::size_t t = 0; t < d.tasks.size(); ++t) {
      const auto& ts = d.tasks[t];
      if (is_failed_or_error(ts.final_phase) && !continues_on(dag.tasks[t], ts.final_phase) &&
          !d.failure_handled[t]) {
        p = ts.final_phase;
        message = "child '" + nodes_[ts.node].id + "' failed";
        break;
      }
    }
  }
  nodes_[idx].outbound = outbound;
  collect_template_outputs(idx, {});
  finish_node(idx, p, message);
}

}  // namespace kairos::engine::op
