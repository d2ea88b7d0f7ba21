// Calling a template: arguments into inputs, substitution, leaf launches,
// suspend nodes, outputs and locks.
#include <algorithm>
#include <cstdlib>

#include "kairos/core/duration.hpp"
#include "kairos/core/expr.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/placeholders.hpp"
#include "operator_impl.hpp"

namespace kairos::engine::op {

namespace {

std::string node_type_of(const spec::template_spec& t) {
  if (t.container || t.script) return "Pod";
  if (t.http) return "HTTP";
  if (t.dag) return "DAG";
  if (t.steps) return "Steps";
  if (t.suspend) return "Suspend";
  return "Pod";
}

exec_kind kind_of(const spec::template_spec& t) {
  if (t.dag) return exec_kind::dag;
  if (t.steps) return exec_kind::steps;
  if (t.suspend) return exec_kind::suspend;
  return exec_kind::leaf;
}

// "{{tasks.a.outputs.artifacts.x}}" -> "tasks.a.outputs.artifacts.x"
std::string reference_name(const std::string& text) {
  auto b = text.find("{{");
  auto e = text.rfind("}}");
  if (b == std::string::npos || e == std::string::npos || e < b) return {};
  std::string inner = text.substr(b + 2, e - b - 2);
  const auto first = inner.find_first_not_of(" \t");
  const auto last = inner.find_last_not_of(" \t");
  if (first == std::string::npos) return {};
  return inner.substr(first, last - first + 1);
}

}  // namespace

result<std::string> operator_impl::substitute(const std::string& text, const scope& sc,
                                              bool keep_unresolved) const {
  if (text.find("{{") == std::string::npos) return text;
  const json env = text.find("{{=") != std::string::npos ? sc.expr_env() : json::object();
  placeholders::options opts;
  opts.keep_unresolved = keep_unresolved;
  auto r = placeholders::substitute(
      text,
      [&sc](std::string_view name) -> std::optional<std::string> {
        if (const auto* v = sc.find(std::string(name))) return *v;
        return std::nullopt;
      },
      env, opts);
  if (!r) return make_error(r.error().code, r.error().message);
  return std::move(*r);
}

// --- invocations ---------------------------------------------------------------------

result<invocation> operator_impl::make_invocation(const spec::template_call& call, const scope& sc,
                                                  const std::string& boundary_id) {
  std::string err;
  const spec::template_spec* t = nullptr;
  std::string tname = call.template_;
  if (!call.template_ref && tname.find("{{") != std::string::npos) {
    auto r = substitute(tname, sc);
    if (!r) return std::move(r).error();
    tname = *r;
    t = find_template(tname);
    if (!t) err = "template '" + tname + "' not found";
  } else {
    t = resolve_template(call, err);
    if (call.template_ref) tname = call.template_ref->template_;
  }
  if (t == nullptr) return make_error(errc::invalid_argument, err);
  auto inv = make_invocation(*t, tname, call.arguments, sc, boundary_id);
  if (inv) inv->call = &call;
  return inv;
}

result<invocation> operator_impl::make_invocation(const spec::template_spec& t,
                                                  const std::string& name,
                                                  const spec::arguments& args, const scope& sc,
                                                  const std::string& boundary_id) {
  invocation inv;
  inv.tmpl = &t;
  inv.template_name = name;
  inv.boundary_id = boundary_id;
  for (const auto& p : t.inputs.parameters) {
    std::optional<std::string> value;
    for (const auto& a : args.parameters) {
      if (a.name != p.name) continue;
      std::optional<std::string> raw = a.value;
      if (!raw && a.value_from && !a.value_from->parameter.empty()) raw = a.value_from->parameter;
      if (!raw && a.default_) raw = a.default_;
      if (!raw && a.value_from && a.value_from->default_) raw = a.value_from->default_;
      if (!raw) continue;
      auto r = substitute(*raw, sc);
      if (!r) {
        // An output that does not exist: Argo falls back to the argument's default.
        if (a.default_) {
          value = *a.default_;
          continue;
        }
        return make_error(errc::invalid_argument, "template '" + name + "': argument '" + p.name +
                                                      "': " + r.error().message);
      }
      value = std::move(*r);
    }
    if (!value) {
      std::optional<std::string> own = p.value ? p.value : p.default_;
      if (!own && p.value_from && p.value_from->default_) own = p.value_from->default_;
      if (own) {
        auto r = substitute(*own, *globals_);
        if (!r)
          return make_error(errc::invalid_argument, "template '" + name + "': inputs.parameters." +
                                                        p.name + ": " + r.error().message);
        value = std::move(*r);
      }
    }
    if (!value)
      return make_error(errc::invalid_argument, "template '" + name + "': inputs.parameters." +
                                                    p.name + " was not supplied");
    if (!p.enum_.empty() && std::find(p.enum_.begin(), p.enum_.end(), *value) == p.enum_.end()) {
      std::string allowed;
      for (const auto& e : p.enum_) allowed += (allowed.empty() ? "" : ", ") + e;
      return make_error(errc::invalid_argument, "template '" + name + "': inputs.parameters." +
                                                    p.name + ": value '" + *value +
                                                    "' is not one of [" + allowed + "]");
    }
    inv.params.emplace_back(p.name, std::move(*value));
  }
  for (const auto& a : t.inputs.artifacts) {
    json art = {{"name", a.name}};
    if (!a.path.empty()) art["path"] = a.path;
    if (a.mode) art["mode"] = *a.mode;
    const spec::artifact* src = nullptr;
    for (const auto& arg : args.artifacts)
      if (arg.name == a.name) src = &arg;
    auto fill = [&](const spec::artifact& from, const scope& where) -> result<bool> {
      if (!from.from.empty()) {
        const auto ref = reference_name(from.from);
        const json* found = where.find_artifact(ref);
        if (found == nullptr)
          return make_error(errc::invalid_argument, "template '" + name + "': inputs.artifacts." +
                                                        a.name + ": cannot resolve " + from.from);
        for (const char* k : {"key", "archived", "raw", "http"})
          if (found->contains(k)) art[k] = (*found)[k];
        return true;
      }
      if (from.raw) {
        auto r = substitute(from.raw->data, where);
        if (!r) return std::move(r).error();
        art["raw"] = {{"data", *r}};
        return true;
      }
      if (from.http) {
        auto r = substitute(from.http->url, where);
        if (!r) return std::move(r).error();
        json h = {{"url", *r}};
        json headers = json::array();
        for (const auto& hd : from.http->headers)
          headers.push_back({{"name", hd.name}, {"value", hd.value}});
        if (!headers.empty()) h["headers"] = headers;
        art["http"] = h;
        return true;
      }
      return false;
    };
    bool have = false;
    if (src) {
      auto r = fill(*src, sc);
      if (!r) return std::move(r).error();
      have = *r;
    }
    if (!have) {
      auto r = fill(a, *globals_);
      if (!r) return std::move(r).error();
      have = *r;
    }
    if (!have) {
      if (a.optional) continue;
      return make_error(errc::invalid_argument, "template '" + name + "': inputs.artifacts." +
                                                    a.name + " was not supplied");
    }
    inv.artifacts.push_back(std::move(art));
  }
  return inv;
}

// --- executing -------------------------------------------------------------------------

int operator_impl::execute(const std::string& name, const std::string& display, invocation inv,
                           int parent) {
  const auto& t = *inv.tmpl;
  const bool retrying = has_retry(inv);
  int idx = find_node(name);
  if (idx < 0) {
    idx = create_node(name, display, retrying ? "Retry" : node_type_of(t), inv.template_name,
                      inv.boundary_id);
    json in = json::object();
    if (!inv.params.empty()) {
      json ps = json::array();
      for (const auto& [k, v] : inv.params) ps.push_back({{"name", k}, {"value", v}});
      in["parameters"] = ps;
    }
    if (!inv.artifacts.empty()) in["artifacts"] = inv.artifacts;
    nodes_[idx].inputs = std::move(in);
  }
  auto& n = nodes_[idx];
  n.ex = std::make_unique<exec>();
  auto& ex = *n.ex;
  ex.kind = retrying ? exec_kind::retry : kind_of(t);
  ex.parent = parent;
  ex.local = std::make_shared<scope>();
  ex.local->parent = globals_.get();
  for (const auto& [k, v] : inv.params) ex.local->vars["inputs.parameters." + k] = v;
  {
    json ps = json::array();
    for (const auto& [k, v] : inv.params) ps.push_back({{"name", k}, {"value", v}});
    ex.local->vars["inputs.parameters"] = dump_json_replacing(ps);
  }
  for (const auto& a : inv.artifacts) {
    const std::string an = a.value("name", "");
    if (a.contains("path")) ex.local->vars["inputs.artifacts." + an + ".path"] = a["path"];
    ex.local->artifacts["inputs.artifacts." + an] = a;
  }
  ex.local->vars["retries"] = std::to_string(inv.retries);
  ex.local->vars["node.name"] = name;
  ex.local->vars["pod.name"] = n.id;
  ex.inv = std::move(inv);
  if (is_fulfilled(n.phase)) {
    child_finished(idx);
  } else {
    if (n.type == "Pod" || n.type == "HTTP") {
      if (n.phase == phase::running) {
        // Launched before this operator was built (a restore without recover).
        ex.launched = true;
        ex.begun = true;
        running_leaves_.insert(idx);
      }
    }
    enqueue(idx);
  }
  return idx;
}

void operator_impl::advance(int idx) {
  auto& n = nodes_[idx];
  if (!n.ex || is_fulfilled(n.phase)) return;
  switch (n.ex->kind) {
    case exec_kind::leaf:
      advance_leaf(idx);
      break;
    case exec_kind::suspend:
      advance_suspend(idx);
      break;
    case exec_kind::dag:
      if (take_node_locks(idx)) advance_dag(idx);
      break;
    case exec_kind::steps:
      if (take_node_locks(idx)) advance_steps(idx);
      break;
    case exec_kind::retry:
      if (take_node_locks(idx)) advance_retry(idx);
      break;
    case exec_kind::loop_group:
    case exec_kind::step_group:
    case exec_kind::exit_wrapper:
      advance_group(idx);
      break;
  }
}

std::int64_t operator_impl::effective_deadline_seconds(int idx, std::string& why) {
  auto& ex = *nodes_[idx].ex;
  const auto& t = *ex.inv.tmpl;
  std::int64_t best = -1;
  if (t.active_deadline_seconds) {
    auto r = substitute(*t.active_deadline_seconds, *ex.local);
    if (r) {
      char* end = nullptr;
      const long long v = std::strtoll(r->c_str(), &end, 10);
      if (end != r->c_str() && *end == '\0' && v >= 0) best = v;
    }
  }
  if (!t.timeout.empty()) {
    auto r = substitute(t.timeout, *ex.local);
    if (r) {
      auto d = parse_argo_duration(*r);
      if (d && d->count() >= 0) {
        const auto secs =
            std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(*d).count());
        if (best < 0 || secs < best) best = secs;
      }
    }
  }
  why = "Pod was active on the node longer than the specified deadline";
  return best;
}

void operator_impl::advance_leaf(int idx) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  if (ex.launched) {
    if (ex.deadline && now_ >= *ex.deadline && !ex.killed_for_deadline) {
      ex.killed_for_deadline = true;
      out_.kills.push_back(n.id);
    }
    return;
  }
  if (const auto why = why_not_start(); !why.empty()) {
    finish_node(idx, phase::failed, why);
    return;
  }
  if (suspended_) {
    blocked_.push_back(idx);
    return;
  }
  if (spec_.parallelism && *spec_.parallelism > 0 &&
      static_cast<std::int64_t>(running_leaves_.size()) >= *spec_.parallelism) {
    // Argo creates the node only once a slot is free (checkParallelism
    // returns before initializing it); one that was published stays.
    hold_back(idx);
    blocked_.push_back(idx);
    return;
  }
  // An attempt runs under the locks its Retry node holds across attempts.
  if (ex.inv.tmpl->synchronization && !ex.inv.attempt) {
    if (!acquire_locks(idx, *ex.inv.tmpl->synchronization, wf_lock_holder_ + "/" + n.id)) {
      blocked_.push_back(idx);
      return;
    }
  }
  launch(idx);
}

void operator_impl::launch(int idx) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  const auto& t = *ex.inv.tmpl;
  const scope& sc = *ex.local;
  task tk;
  tk.workflow_uid = uid_;
  tk.workflow_name = name_;
  tk.node_id = n.id;
  std::string failure;
  auto sub = [&](const std::string& text) -> std::string {
    if (!failure.empty()) return {};
    auto r = substitute(text, sc);
    if (!r) {
      failure = r.error().message;
      if (text.find("{{=") != std::string::npos && failure.find("expression") == std::string::npos)
        failure = "expression in '" + text + "': " + failure;
      return {};
    }
    return std::move(*r);
  };
  auto secret = [&](const spec::secret_key_selector& sel) -> std::string {
    if (!failure.empty()) return {};
    if (!env_.read_secret) {
      failure = "secret " + sel.name + "/" + sel.key + ": secrets are not available";
      return {};
    }
    auto r = env_.read_secret(sel);
    if (!r) {
      if (sel.optional) return {};
      failure = r.error().message;
      return {};
    }
    return std::move(*r);
  };
  if (t.http) {
    http_task h;
    h.method = t.http->method.empty() ? "GET" : sub(t.http->method);
    h.url = sub(t.http->url);
    for (const auto& hd : t.http->headers)
      h.headers.emplace_back(hd.name,
                             hd.secret_key_ref ? secret(*hd.secret_key_ref) : sub(hd.value));
    h.body = sub(t.http->body);
    if (t.http->timeout_seconds) h.timeout = std::chrono::seconds(*t.http->timeout_seconds);
    h.insecure_skip_verify = t.http->insecure_skip_verify;
    tk.work = std::move(h);
  } else {
    const spec::container* c = t.script      ? static_cast<const spec::container*>(&*t.script)
                               : t.container ? &*t.container
                                             : nullptr;
    process_task p;
    if (c != nullptr) {
      p.image = c->image;
      for (const auto& a : c->command) p.argv.push_back(sub(a));
      for (const auto& a : c->args) p.argv.push_back(sub(a));
      for (const auto& e : c->env) {
        if (e.value_from && e.value_from->secret_key_ref)
          p.env.emplace_back(e.name, secret(*e.value_from->secret_key_ref));
        else
          p.env.emplace_back(e.name, sub(e.value));
      }
      p.working_dir = sub(c->working_dir);
      for (const auto& m : c->volume_mounts) {
        if (!env_.capabilities.private_mounts && failure.empty())
          failure = volumes_error_.empty() ? "volumeMounts need private mounts" : volumes_error_;
        engine::volume_mount vm;
        vm.host_path = env_.volumes_root / uid_ / m.name;
        if (!m.sub_path.empty()) vm.host_path /= m.sub_path;
        vm.mount_path = m.mount_path;
        vm.read_only = m.read_only;
        p.mounts.push_back(std::move(vm));
      }
    }
    if (t.script) {
      if (p.argv.empty()) p.argv.push_back("sh");
      p.script_source = sub(t.script->source);
    }
    if (p.argv.empty() && failure.empty()) failure = "template '" + t.name + "' has no command";
    tk.work = std::move(p);
  }
  for (const auto& a : ex.inv.artifacts) {
    input_artifact ia;
    ia.name = a.value("name", "");
    ia.path = sub(a.value("path", ""));
    if (a.contains("mode") && a["mode"].is_number_integer()) ia.mode = a["mode"].get<int>();
    if (a.contains("key") && a["key"].is_string()) ia.repository_key = a["key"];
    if (a.contains("raw")) ia.raw = a["raw"].value("data", "");
    if (a.contains("http")) {
      ia.http_url = a["http"].value("url", "");
      if (a["http"].contains("headers"))
        for (const auto& h : a["http"]["headers"])
          ia.http_headers.emplace_back(h.value("name", ""), h.value("value", ""));
    }
    tk.input_artifacts.push_back(std::move(ia));
  }
  for (const auto& p : t.outputs.parameters)
    if (p.value_from && !p.value_from->path.empty())
      tk.output_parameters.push_back({p.name, sub(p.value_from->path)});
  for (const auto& a : t.outputs.artifacts) {
    if (a.path.empty()) continue;
    output_artifact_file f;
    f.name = a.name;
    f.path = sub(a.path);
    f.archive_none = a.archive && a.archive->none;
    f.optional = a.optional;
    tk.output_artifacts.push_back(std::move(f));
  }
  if (!failure.empty()) {
    finish_node(idx, phase::error, failure);
    return;
  }
  std::string why;
  const auto secs = effective_deadline_seconds(idx, why);
  if (secs >= 0) {
    ex.deadline = now_ + std::chrono::seconds(secs);
    ex.deadline_message = why;
    add_timer(*ex.deadline, idx);
  }
  ex.launched = true;
  ex.begun = true;
  running_leaves_.insert(idx);
  n.started_at = now_;
  // What an earlier run of this node reported is not this run's progress.
  if (n.extra.is_object()) n.extra.erase("progress");
  set_phase(idx, phase::running);
  out_.launches.push_back(std::move(tk));
}

void operator_impl::finish_leaf(int idx, const outcome& o) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  const auto& t = *ex.inv.tmpl;
  std::string p = phase::succeeded;
  std::string message;
  json outputs = json::object();
  switch (o.what) {
    case outcome::kind::exited:
      outputs["exitCode"] = std::to_string(o.exit_code);
      if (o.exit_code != 0) {
        p = phase::failed;
        message =
            o.message.empty() ? "Error (exit code " + std::to_string(o.exit_code) + ")" : o.message;
        if (ex.killed_for_deadline) message = ex.deadline_message;
      }
      break;
    case outcome::kind::signaled:
      p = phase::failed;
      if (ex.killed_for_deadline)
        message = ex.deadline_message.empty() ? "Step exceeded its deadline" : ex.deadline_message;
      else if (!shutdown_.empty())
        message = "Stopped with strategy '" + shutdown_ + "'";
      else
        message = o.message.empty() ? "killed by signal " + std::to_string(o.signal) : o.message;
      break;
    case outcome::kind::failed_to_start:
      p = phase::error;
      message = o.message.empty() ? "the node could not be started" : o.message;
      break;
    case outcome::kind::error:
      p = phase::error;
      message = o.message.empty() ? "the node failed" : o.message;
      break;
    case outcome::kind::http_response: {
      json headers = json::object();
      for (const auto& [k, v] : o.http_headers) headers[k] = json::array({v});
      json env = {
          {"response", {{"statusCode", o.http_status}, {"body", o.result}, {"headers", headers}}}};
      bool ok = o.http_status >= 200 && o.http_status < 300;
      if (t.http && !t.http->success_condition.empty()) {
        auto cond = substitute(t.http->success_condition, *ex.local);
        auto r = cond ? expr::evaluate_bool(*cond, env) : result<bool>(std::move(cond).error());
        if (!r) {
          p = phase::error;
          message = "successCondition: " + r.error().message;
        } else if (!*r) {
          p = phase::failed;
          message = "successCondition '" + t.http->success_condition +
                    "' evaluated false (status " + std::to_string(o.http_status) + ")";
        }
      } else if (!ok) {
        p = phase::failed;
        message = "received non-2xx response code: " + std::to_string(o.http_status);
      }
      break;
    }
  }
  if (o.what == outcome::kind::exited || o.what == outcome::kind::http_response ||
      o.what == outcome::kind::signaled)
    outputs["result"] = o.result;
  n.outputs = std::move(outputs);
  // Output parameters and artifacts.
  if (p == phase::succeeded || p == phase::failed) {
    json params = json::array();
    for (const auto& op : t.outputs.parameters) {
      std::optional<std::string> value;
      if (op.value_from && !op.value_from->path.empty()) {
        auto it = o.parameters.find(op.name);
        if (it != o.parameters.end() && it->second)
          value = *it->second;
        else if (op.value_from->default_)
          value = *op.value_from->default_;
        else if (p == phase::succeeded) {
          p = phase::error;
          message = "output parameter '" + op.name + "': " + op.value_from->path + " not found";
        }
      } else if (op.value_from && !op.value_from->expression.empty()) {
        json env = ex.local->expr_env();
        env["outputs"]["result"] = n.outputs.value("result", "");
        auto r = expr::evaluate(op.value_from->expression, env);
        if (r)
          value = r->is_string() ? r->get<std::string>() : dump_json_replacing(*r);
        else if (op.value_from->default_)
          value = *op.value_from->default_;
        else if (p == phase::succeeded) {
          p = phase::error;
          message = "output parameter '" + op.name + "': expression: " + r.error().message;
        }
      } else if (op.value) {
        auto r = substitute(*op.value, *ex.local);
        if (r) value = *r;
      } else if (op.value_from && op.value_from->default_) {
        value = *op.value_from->default_;
      }
      if (!value) continue;
      json pj = {{"name", op.name}, {"value", *value}};
      if (!op.global_name.empty()) {
        pj["globalName"] = op.global_name;
        globals_->vars["workflow.outputs.parameters." + op.global_name] = *value;
        bool replaced = false;
        for (auto& g : global_params_)
          if (g.value("name", "") == op.global_name) {
            g["value"] = *value;
            replaced = true;
          }
        if (!replaced) global_params_.push_back({{"name", op.global_name}, {"value", *value}});
        status_changed_ = true;
      }
      params.push_back(std::move(pj));
    }
    if (!params.empty()) n.outputs["parameters"] = std::move(params);
    json arts = json::array();
    for (const auto& sa : o.artifacts) {
      json aj = {{"name", sa.name}, {"key", sa.repository_key}, {"archived", sa.archived}};
      for (const auto& ta : t.outputs.artifacts) {
        if (ta.name != sa.name) continue;
        aj["path"] = ta.path;
        if (!ta.global_name.empty()) {
          aj["globalName"] = ta.global_name;
          json g = aj;
          g["name"] = ta.global_name;
          globals_->artifacts["workflow.outputs.artifacts." + ta.global_name] = g;
          global_artifacts_.push_back(g);
          status_changed_ = true;
        }
      }
      arts.push_back(std::move(aj));
    }
    if (!arts.empty()) n.outputs["artifacts"] = std::move(arts);
  }
  finish_node(idx, p, message);
}

// --- suspend ---------------------------------------------------------------------------

void operator_impl::advance_suspend(int idx) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  if (!shutdown_.empty() && !main_done_) {
    finish_node(idx, phase::failed, "Stopped with strategy '" + shutdown_ + "'");
    return;
  }
  if (!ex.begun) {
    ex.begun = true;
    set_phase(idx, phase::running);
    if (!n.started_at) n.started_at = now_;
  }
  const auto& d = ex.inv.tmpl->suspend->duration;
  if (d.empty()) return;  // until resumed
  auto text = substitute(d, *ex.local);
  if (!text) {
    finish_node(idx, phase::error, text.error().message);
    return;
  }
  auto dur = parse_argo_duration(*text);
  if (!dur) {
    finish_node(idx, phase::error, "suspend.duration: " + dur.error().message);
    return;
  }
  const auto until =
      (n.started_at ? *n.started_at : now_) + std::chrono::duration_cast<clock::duration>(*dur);
  if (now_ >= until) {
    finish_node(idx, phase::succeeded);
    return;
  }
  add_timer(until, idx);
}

// Exit handlers still run after a stop or a deadline (main_done_); any other
// node that has not started yet does not start.
std::string operator_impl::why_not_start() const {
  if (main_done_) return {};
  if (!shutdown_.empty()) return "Stopped with strategy '" + shutdown_ + "'";
  if (deadline_passed_) return "Step exceeded its deadline";
  return {};
}

// --- locks ---------------------------------------------------------------------------------

std::vector<std::string> operator_impl::lock_keys(const spec::synchronization& sync) const {
  std::vector<std::string> keys;
  for (const auto& m : sync.mutexes)
    keys.push_back((m.namespace_.empty() ? ns_ : m.namespace_) + "/mutex/" + m.name);
  for (const auto& s : sync.semaphores)
    if (s.config_map_key_ref)
      keys.push_back((s.namespace_.empty() ? ns_ : s.namespace_) + "/semaphore/" +
                     s.config_map_key_ref->name + "/" + s.config_map_key_ref->key);
  return keys;
}

bool operator_impl::acquire_locks(int idx, const spec::synchronization& sync,
                                  const std::string& holder) {
  if (env_.sync == nullptr) return true;
  const auto keys = lock_keys(sync);
  std::vector<std::string> got;
  for (const auto& k : keys) {
    if (!env_.sync->try_acquire(k, holder)) {
      // All or nothing: hold none while waiting, so two nodes cannot each
      // hold half of what the other needs.
      for (const auto& g : got) env_.sync->release(g, holder);
      if (idx >= 0) {
        const std::string msg = "Waiting for " + k + " lock";
        if (nodes_[idx].message != msg) set_phase(idx, nodes_[idx].phase, msg);
      }
      return false;
    }
    got.push_back(k);
  }
  if (idx >= 0) {
    nodes_[idx].ex->locks = got;
    if (!nodes_[idx].message.empty()) set_phase(idx, nodes_[idx].phase, "");
  }
  return true;
}

void operator_impl::release_locks(int idx) {
  auto& n = nodes_[idx];
  if (!n.ex || n.ex->locks.empty() || env_.sync == nullptr) return;
  for (const auto& k : n.ex->locks) env_.sync->release(k, wf_lock_holder_ + "/" + n.id);
  n.ex->locks.clear();
  // Nodes of this workflow waiting for the lock may take it in this pass.
  for (int b : blocked_) enqueue(b);
  blocked_.clear();
}

// Argo takes a template's locks before its node starts, whatever the
// template: a dag, steps or Retry node waits Pending until it holds them,
// and finish_node releases them when it completes in any phase. A Retry
// node keeps them across its attempts and their backoff, so the attempts
// take none of their own.
bool operator_impl::take_node_locks(int idx) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  static const std::optional<spec::synchronization> none;
  const auto& sync = ex.inv.attempt ? none : ex.inv.tmpl->synchronization;
  const std::string holder = wf_lock_holder_ + "/" + n.id;
  if (auto it = restored_running_.find(idx); it != restored_running_.end()) {
    // Its children run under these locks already; queueing now could
    // hand them to a newcomer while they still run.
    const auto guessed = std::move(it->second);
    restored_running_.erase(it);
    const auto keys = sync && env_.sync != nullptr ? lock_keys(*sync) : std::vector<std::string>{};
    for (const auto& k : guessed)
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) env_.sync->release(k, holder);
    for (const auto& k : keys) env_.sync->restore(k, holder);
    ex.locks = keys;
    ex.begun = true;
    return true;
  }
  if (ex.begun || !sync || env_.sync == nullptr) return true;
  if (const auto why = why_not_start(); !why.empty()) {
    // Leave the lock's queue, so a later holder is not kept waiting behind
    // a node that will never run.
    for (const auto& k : lock_keys(*sync)) env_.sync->release(k, holder);
    finish_node(idx, phase::failed, why);
    return false;
  }
  if (!acquire_locks(idx, *sync, holder)) {
    blocked_.push_back(idx);
    return false;
  }
  ex.begun = true;
  return true;
}

}  // namespace kairos::engine::op
