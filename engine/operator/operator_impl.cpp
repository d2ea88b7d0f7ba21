// Creation, restore, the operate loop and the NodeStatus JSON shape.
#include "operator_impl.hpp"

#include <algorithm>
#include <array>
#include <set>
#include <utility>

#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "kairos/engine/progress.hpp"
#include "kairos/spec/loader.hpp"

namespace kairos::engine {

result<std::unique_ptr<workflow_operator>> workflow_operator::create(nlohmann::json workflow,
                                                                     operator_environment env) {
  return op::operator_impl::make(std::move(workflow), std::move(env));
}

workflow_operator::node_text workflow_operator::node_json_text(const std::string& node_id) const {
  const auto j = node_json(node_id);
  return {j.value("name", std::string()), j.value("phase", std::string()), dump_json_replacing(j)};
}

}  // namespace kairos::engine

namespace kairos::engine::op {

bool is_fulfilled(const std::string& p) {
  return p == phase::succeeded || p == phase::failed || p == phase::error || p == phase::skipped ||
         p == phase::omitted;
}

bool is_failed_or_error(const std::string& p) {
  return p == phase::failed || p == phase::error;
}

std::string node_id_of(const std::string& workflow_name, const std::string& node_name) {
  if (node_name == workflow_name) return workflow_name;
  std::uint32_t h = 2166136261u;
  for (unsigned char c : node_name) {
    h ^= c;
    h *= 16777619u;
  }
  return workflow_name + "-" + std::to_string(h);
}

namespace {

std::string time_text(const std::optional<time_point>& t) {
  return t ? format_rfc3339(*t) : std::string();
}

std::optional<time_point> time_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return parse_rfc3339(it->get<std::string>());
}

std::string string_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> strings_of(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

// Nodes a template of each kind produces use these types.
bool is_leaf_type(const std::string& type) {
  return type == "Pod" || type == "HTTP";
}

}  // namespace

// --- scope -------------------------------------------------------------------------

const std::string* scope::find(const std::string& name) const {
  for (const scope* s = this; s != nullptr; s = s->parent) {
    auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

const json* scope::find_artifact(const std::string& name) const {
  for (const scope* s = this; s != nullptr; s = s->parent) {
    auto it = s->artifacts.find(name);
    if (it != s->artifacts.end()) return &it->second;
  }
  return nullptr;
}

json scope::expr_env() const {
  std::vector<const scope*> chain;
  for (const scope* s = this; s != nullptr; s = s->parent) chain.push_back(s);
  json env = json::object();
  // Outer scopes first so inner ones win.
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    for (const auto& [key, value] : (*it)->vars) {
      json* at = &env;
      std::size_t start = 0;
      bool ok = true;
      while (true) {
        const auto dot = key.find('.', start);
        const std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
        if (dot == std::string::npos) {
          if (at->contains(part) && (*at)[part].is_object()) break;  // keep the deeper names
          (*at)[part] = value;
          break;
        }
        json& next = (*at)[part];
        if (next.is_null()) next = json::object();
        if (!next.is_object()) {
          ok = false;
          break;
        }
        at = &next;
        start = dot + 1;
      }
      (void)ok;
    }
  }
  // `item` as its JSON value, so item.key works in expressions.
  if (const auto* item = find("item")) {
    auto parsed = parse_json(*item);
    if (!parsed.is_discarded() && (parsed.is_object() || parsed.is_array())) env["item"] = parsed;
  }
  return env;
}

// --- creation --------------------------------------------------------------------

namespace {

void walk_calls(const spec::template_spec& t,
                const std::function<void(const spec::template_call&)>& f) {
  if (t.dag)
    for (const auto& task : t.dag->tasks) f(task);
  if (t.steps)
    for (const auto& group : *t.steps)
      for (const auto& step : group) f(step);
}

bool uses_volume_mounts(const spec::template_spec& t) {
  if (t.container && !t.container->volume_mounts.empty()) return true;
  if (t.script && !t.script->volume_mounts.empty()) return true;
  return false;
}

// The typed spec, read by the spec module. workflowTemplateRef was merged
// in by the runtime; the reader would refuse it beside templates.
result<spec::workflow_spec> read_spec(const json& workflow, const std::string& name) {
  json doc = workflow;
  if (doc.contains("spec") && doc["spec"].is_object()) doc["spec"].erase("workflowTemplateRef");
  doc["apiVersion"] = "argoproj.io/v1alpha1";
  doc["kind"] = "Workflow";
  auto loaded = spec::load_json(doc, "workflow " + name);
  if (!loaded.ok() || loaded.resources.empty()) {
    std::string why = loaded.diagnostics.empty() ? std::string("no workflow spec")
                                                 : spec::to_string(loaded.diagnostics);
    return make_error(errc::invalid_argument, why);
  }
  auto* wspec = std::get_if<spec::workflow_spec>(&loaded.resources.front().spec);
  if (wspec == nullptr) return make_error(errc::invalid_argument, "not a Workflow");
  return std::move(*wspec);
}

}  // namespace

result<std::unique_ptr<workflow_operator>> operator_impl::make(json workflow,
                                                               operator_environment env) {
  if (!workflow.is_object()) return make_error(errc::invalid_argument, "workflow is not an object");
  auto self = std::make_unique<operator_impl>();
  self->env_ = std::move(env);
  json status = workflow.contains("status") && workflow["status"].is_object() ? workflow["status"]
                                                                              : json::object();
  workflow.erase("status");
  const json& meta = workflow.contains("metadata") && workflow["metadata"].is_object()
                         ? workflow["metadata"]
                         : json::object();
  self->name_ = string_of(meta, "name");
  self->ns_ = string_of(meta, "namespace");
  if (self->ns_.empty()) self->ns_ = "default";
  self->uid_ = string_of(meta, "uid");
  if (self->name_.empty()) return make_error(errc::invalid_argument, "metadata.name is required");
  if (auto t = time_of(meta, "creationTimestamp")) self->created_ = *t;

  if (self->env_.parsed_spec) {
    self->spec_ = std::move(*self->env_.parsed_spec);
    self->env_.parsed_spec.reset();
  } else if (auto read = read_spec(workflow, self->name_); !read) {
    return std::move(read).error();
  } else {
    self->spec_ = std::move(*read);
  }
  auto& s = self->spec_;
  if (s.entrypoint.empty())
    return make_error(errc::invalid_argument, "spec.entrypoint is required");
  if (!self->find_template(s.entrypoint))
    return make_error(errc::invalid_argument,
                      "spec.entrypoint: unknown template '" + s.entrypoint + "'");
  if (!s.on_exit.empty() && !self->find_template(s.on_exit))
    return make_error(errc::invalid_argument, "spec.onExit: unknown template '" + s.on_exit + "'");

  // Resolve every templateRef now: an unknown one fails the submit.
  std::string err;
  std::vector<const spec::template_spec*> todo;
  for (const auto& t : s.templates) todo.push_back(&t);
  for (std::size_t i = 0; i < todo.size(); ++i) {
    const auto* t = todo[i];
    if (uses_volume_mounts(*t) && !self->env_.capabilities.private_mounts &&
        self->volumes_error_.empty()) {
      self->volumes_error_ =
          "template '" + t->name +
          "' mounts volumes (volumeMounts), which needs private mounts per node; this executor "
          "cannot provide them" +
          (self->env_.capabilities.private_mounts_reason.empty()
               ? std::string()
               : ": " + self->env_.capabilities.private_mounts_reason);
    }
    bool failed = false;
    walk_calls(*t, [&](const spec::template_call& call) {
      if (failed) return;
      if (call.template_ref) {
        const auto* r = self->resolve_template(call, err);
        if (r == nullptr) {
          failed = true;
          return;
        }
        if (std::find(todo.begin(), todo.end(), r) == todo.end()) todo.push_back(r);
      } else if (!call.template_.empty() && call.template_.find("{{") == std::string::npos &&
                 !self->find_template(call.template_)) {
        err = "template '" + t->name + "': unknown template '" + call.template_ + "'";
        failed = true;
      }
      if (!failed && !call.on_exit.empty() && !self->find_template(call.on_exit)) {
        err = "template '" + t->name + "': unknown onExit template '" + call.on_exit + "'";
        failed = true;
      }
    });
    if (failed) return make_error(errc::invalid_argument, err);
  }

  // Globals.
  self->globals_ = std::make_shared<scope>();
  auto& g = self->globals_->vars;
  g["workflow.name"] = self->name_;
  g["workflow.namespace"] = self->ns_;
  g["workflow.uid"] = self->uid_;
  g["workflow.serviceAccountName"] = s.service_account_name;
  g["workflow.mainEntrypoint"] = s.entrypoint;
  const std::string created = string_of(meta, "creationTimestamp");
  g["workflow.creationTimestamp"] = created;
  if (!created.empty()) {
    // strftime parts, as Argo offers them (.Y .m .d .H .M .S and friends).
    const auto tt = std::chrono::system_clock::to_time_t(self->created_);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    for (const char* f : {"Y", "m", "d", "H", "M", "S", "y", "j", "a", "A", "b",
                          "B", "e", "I", "p", "U", "w", "W", "Z", "z", "s"}) {
      char buf[64] = {0};
      if (std::string(f) == "s") {
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(tt));
      } else {
        const std::string fmt = std::string("%") + f;
        std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
      }
      g["workflow.creationTimestamp." + std::string(f)] = buf;
    }
    g["workflow.creationTimestamp.RFC3339"] = created;
  }
  if (meta.contains("annotations") && meta["annotations"].is_object()) {
    for (const auto& [k, v] : meta["annotations"].items())
      if (v.is_string()) g["workflow.annotations." + k] = v.get<std::string>();
    g["workflow.annotations"] = dump_json_replacing(meta["annotations"]);
  }
  if (meta.contains("labels") && meta["labels"].is_object()) {
    for (const auto& [k, v] : meta["labels"].items())
      if (v.is_string()) g["workflow.labels." + k] = v.get<std::string>();
    g["workflow.labels"] = dump_json_replacing(meta["labels"]);
  }
  {
    auto it = g.find("workflow.annotations.workflows.argoproj.io/scheduled-time");
    g["workflow.scheduledTime"] = it != g.end() ? it->second : created;
  }
  json params = json::array();
  for (const auto& p : s.arguments.parameters) {
    std::string v = p.value ? *p.value : p.default_ ? *p.default_ : std::string();
    if (!p.value && !p.default_ && !(p.value_from && p.value_from->default_))
      return make_error(errc::invalid_argument,
                        "spec.arguments.parameters." + p.name + ": no value given");
    if (!p.value && !p.default_ && p.value_from && p.value_from->default_)
      v = *p.value_from->default_;
    if (!p.enum_.empty() && std::find(p.enum_.begin(), p.enum_.end(), v) == p.enum_.end()) {
      std::string allowed;
      for (const auto& e : p.enum_) allowed += (allowed.empty() ? "" : ", ") + e;
      return make_error(errc::invalid_argument, "spec.arguments.parameters." + p.name +
                                                    ": value '" + v + "' is not one of [" +
                                                    allowed + "]");
    }
    g["workflow.parameters." + p.name] = v;
    params.push_back({{"name", p.name}, {"value", v}});
  }
  g["workflow.parameters"] = dump_json_replacing(params);

  // Restored status.
  self->suspended_ = s.suspend;
  self->shutdown_ = s.shutdown;
  if (!status.empty()) {
    self->phase_ = string_of(status, "phase");
    if (self->phase_.empty()) self->phase_ = phase::pending;
    self->message_ = string_of(status, "message");
    self->started_at_ = time_of(status, "startedAt");
    self->finished_at_ = time_of(status, "finishedAt");
    if (status.contains("outputs") && status["outputs"].is_object()) {
      const auto& o = status["outputs"];
      if (o.contains("parameters") && o["parameters"].is_array()) {
        self->global_params_ = o["parameters"];
        for (const auto& p : o["parameters"])
          if (p.is_object())
            g["workflow.outputs.parameters." + string_of(p, "name")] = string_of(p, "value");
      }
      if (o.contains("artifacts") && o["artifacts"].is_array()) {
        self->global_artifacts_ = o["artifacts"];
        for (const auto& a : o["artifacts"])
          if (a.is_object())
            self->globals_->artifacts["workflow.outputs.artifacts." + string_of(a, "name")] = a;
      }
    }
    if (status.contains("nodes") && status["nodes"].is_object()) {
      for (const auto& [id, n] : status["nodes"].items()) {
        if (!n.is_object()) continue;
        node x;
        x.id = string_of(n, "id");
        if (x.id.empty()) x.id = id;
        x.name = string_of(n, "name");
        x.display_name = string_of(n, "displayName");
        x.type = string_of(n, "type");
        x.template_name = string_of(n, "templateName");
        x.phase = string_of(n, "phase");
        x.message = string_of(n, "message");
        x.boundary_id = string_of(n, "boundaryID");
        x.started_at = time_of(n, "startedAt");
        x.finished_at = time_of(n, "finishedAt");
        x.children = strings_of(n, "children");
        x.outbound = strings_of(n, "outboundNodes");
        if (n.contains("inputs")) x.inputs = n["inputs"];
        if (n.contains("outputs")) x.outputs = n["outputs"];
        x.extra = n;
        for (const char* k :
             {"id", "name", "displayName", "type", "templateName", "phase", "message", "boundaryID",
              "startedAt", "finishedAt", "children", "outboundNodes", "inputs", "outputs"})
          x.extra.erase(k);
        if (x.name.empty()) continue;
        x.published = true;
        const int idx = static_cast<int>(self->nodes_.size());
        self->by_name_[x.name] = idx;
        self->by_id_[x.id] = idx;
        self->nodes_.push_back(std::move(x));
      }
    }
  }
  self->queued_.assign(self->nodes_.size(), 0);
  self->changed_.assign(self->nodes_.size(), 0);
  self->wf_ = std::move(workflow);
  self->wf_lock_holder_ = self->ns_ + "/" + self->name_;
  return std::unique_ptr<workflow_operator>(std::move(self));
}

const spec::template_spec* operator_impl::find_template(const std::string& name) const {
  return spec_.find_template(name);
}

const spec::template_spec* operator_impl::resolve_template(const spec::template_call& call,
                                                           std::string& err) {
  if (!call.template_ref) {
    const auto* t = find_template(call.template_);
    if (t == nullptr) err = "template '" + call.template_ + "' not found";
    return t;
  }
  const auto& ref = *call.template_ref;
  const std::string key =
      std::string(ref.cluster_scope ? "cluster/" : "ns/") + ref.name + "/" + ref.template_;
  if (auto it = ref_cache_.find(key); it != ref_cache_.end()) return it->second;
  if (!env_.resolve_template_ref) {
    err = "templateRef " + ref.name + "/" + ref.template_ + ": templateRef is not supported here";
    return nullptr;
  }
  auto resolved = env_.resolve_template_ref(ref, ns_);
  if (!resolved) {
    err = resolved.error().message;
    return nullptr;
  }
  ref_templates_.push_back(std::move(*resolved));
  const auto* t = &ref_templates_.back();
  ref_cache_[key] = t;
  return t;
}

// --- nodes -------------------------------------------------------------------------

int operator_impl::find_node(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? -1 : it->second;
}

int operator_impl::create_node(const std::string& name, const std::string& display,
                               const std::string& type, const std::string& template_name,
                               const std::string& boundary_id) {
  node n;
  n.name = name;
  n.id = node_id_of(name_, name);
  n.display_name = display;
  n.type = type;
  n.template_name = template_name;
  n.phase = phase::pending;
  n.boundary_id = boundary_id;
  n.started_at = now_;
  const int idx = static_cast<int>(nodes_.size());
  by_name_[name] = idx;
  by_id_[n.id] = idx;
  nodes_.push_back(std::move(n));
  queued_.push_back(0);
  changed_.push_back(0);
  mark_changed(idx);
  return idx;
}

void operator_impl::add_child(int parent, int child) {
  if (parent < 0 || child < 0) return;
  auto& c = nodes_[parent].children;
  const auto& id = nodes_[child].id;
  // Appends are the common case; a restored node may already list it.
  if (!c.empty() && c.back() == id) return;
  if (nodes_[child].finished_at || c.size() < 64) {
    if (std::find(c.begin(), c.end(), id) != c.end()) return;
  }
  c.push_back(id);
  auto& by = nodes_[child].listed_by;
  if (std::find(by.begin(), by.end(), parent) == by.end()) by.push_back(parent);
  // Marked at the end of operate(), once it is known whether the child is
  // concealed: a parent stored for a child it does not show yet would be
  // stored again when the child is published.
  children_added_.emplace_back(parent, child);
}

void operator_impl::note_new_child(int parent) {
  auto& p = nodes_[parent];
  if (changed_[parent] || !p.published || !p.finished_at || !is_leaf_type(p.type)) {
    mark_changed(parent);
    return;
  }
  if (p.children_unstored) return;
  p.children_unstored = true;
  if (unstored_children_.empty()) unstored_since_ = now_;
  unstored_children_.push_back(parent);
}

void operator_impl::hold_back(int idx) {
  auto& n = nodes_[idx];
  if (n.published || n.throttled) return;
  n.throttled = true;
  ++unpublished_throttled_;
  // The first attempt of a Retry node made in this same pass: the Retry
  // node waits for the slot with it.
  const exec* ex = n.ex.get();
  if (ex && ex->inv.attempt && ex->parent >= 0 && nodes_[ex->parent].type == "Retry" &&
      nodes_[ex->parent].children.size() == 1)
    hold_back(ex->parent);
}

bool operator_impl::concealed(const node& n) const {
  if (!n.throttled || n.published) return false;
  if (n.phase == phase::pending) return true;
  if (n.type != "Retry" || n.children.size() != 1) return false;
  const auto it = by_id_.find(n.children.front());
  return it != by_id_.end() && concealed(nodes_[it->second]);
}

void operator_impl::mark_changed(int idx) {
  if (idx < 0) return;
  if (!changed_[idx]) {
    changed_[idx] = 1;
    changed_list_.push_back(idx);
  }
}

void operator_impl::enqueue(int idx) {
  if (idx < 0) return;
  if (!queued_[idx]) {
    queued_[idx] = 1;
    queue_.push_back(idx);
  }
}

void operator_impl::set_phase(int idx, const std::string& p, const std::string& message) {
  auto& n = nodes_[idx];
  if (n.phase == p && n.message == message) return;
  n.phase = p;
  n.message = message;
  mark_changed(idx);
}

void operator_impl::finish_node(int idx, const std::string& p, const std::string& message) {
  auto& n = nodes_[idx];
  if (is_fulfilled(n.phase)) return;
  n.phase = p;
  n.message = message;
  n.finished_at = now_;
  if (!n.started_at) n.started_at = now_;
  mark_changed(idx);
  if (n.ex) {
    release_locks(idx);
    if (running_leaves_.erase(idx) > 0) {
      // A slot is free: leaves waiting for parallelism may go.
      for (int b : blocked_) enqueue(b);
      blocked_.clear();
    }
  }
  child_finished(idx);
}

void operator_impl::child_finished(int idx) {
  auto& n = nodes_[idx];
  const int parent = n.ex ? n.ex->parent : -1;
  if (parent >= 0 && nodes_[parent].ex) {
    nodes_[parent].ex->events.push_back(idx);
    enqueue(parent);
  }
}

void operator_impl::add_timer(time_point at, int idx) {
  timers_.emplace(at, idx);
}

// --- the operate loop ----------------------------------------------------------------

operate_outcome operator_impl::operate(time_point now) {
  now_ = now;
  out_ = operate_outcome{};
  const bool was_final =
      phase_ == phase::succeeded || phase_ == phase::failed || phase_ == phase::error;
  if (!was_final) {
    if (phase_ == phase::pending || root_ < 0) begin_workflow(now);
    check_deadlines(now);
    while (!timers_.empty() && timers_.begin()->first <= now) {
      const int idx = timers_.begin()->second;
      timers_.erase(timers_.begin());
      if (idx >= 0 && idx < static_cast<int>(nodes_.size())) enqueue(idx);
    }
    // Leaves waiting for a lock or a slot try again: a lock may have been
    // released by another workflow.
    if (!blocked_.empty() && !suspended_) {
      auto blocked = std::move(blocked_);
      blocked_.clear();
      for (int b : blocked) enqueue(b);
    }
    do {
      while (!queue_.empty()) {
        const int idx = queue_.front();
        queue_.pop_front();
        queued_[idx] = 0;
        advance(idx);
      }
      advance_workflow();
    } while (!queue_.empty());
  }
  const bool final_now =
      phase_ == phase::succeeded || phase_ == phase::failed || phase_ == phase::error;
  out_.completed = final_now;
  if (!final_now) {
    while (!timers_.empty() && timers_.begin()->first <= now) timers_.erase(timers_.begin());
    if (!timers_.empty()) out_.requeue_at = timers_.begin()->first;
  }
  for (auto& k : pending_kills_) out_.kills.push_back(std::move(k));
  pending_kills_.clear();
  for (const auto& [parent, child] : children_added_)
    if (!concealed(nodes_[child])) note_new_child(parent);
  children_added_.clear();
  // A node published for the first time is new to its parents' stored
  // children too (it was concealed from them, or they changed with it).
  for (std::size_t i = 0; i < changed_list_.size(); ++i) {
    auto& n = nodes_[changed_list_[i]];
    if (n.published || concealed(n)) continue;
    n.published = true;
    if (n.throttled) {
      --unpublished_throttled_;
      // Argo creates a held-back Retry node when its attempt gets the slot.
      if (n.type == "Retry") n.started_at = now_;
    }
    for (int p : n.listed_by) note_new_child(p);
  }
  if (!unstored_children_.empty() && (final_now || now_ - unstored_since_ >= children_store_lag)) {
    // A second of a layered DAG is most of its nodes: stored in one step,
    // they held every launch back while they were printed and written
    // (11 ms of 2,000 nodes). A step takes a slice; the next steps, which
    // finishing nodes bring soon, take the rest.
    const std::size_t take = final_now ? unstored_children_.size()
                                       : std::min(unstored_children_.size(), children_per_step);
    for (std::size_t i = 0; i < take; ++i) {
      if (nodes_[unstored_children_[i]].children_unstored) mark_changed(unstored_children_[i]);
    }
    unstored_children_.erase(unstored_children_.begin(),
                             unstored_children_.begin() + static_cast<std::ptrdiff_t>(take));
    if (!unstored_children_.empty()) {
      const auto next = now_ + children_slice_gap;
      if (!out_.requeue_at || next < *out_.requeue_at) out_.requeue_at = next;
    }
  } else if (!unstored_children_.empty()) {
    const auto due = unstored_since_ + children_store_lag;
    if (!out_.requeue_at || due < *out_.requeue_at) out_.requeue_at = due;
  }
  for (int idx : changed_list_) {
    changed_[idx] = 0;
    nodes_[idx].children_unstored = false;
    if (!concealed(nodes_[idx])) out_.changed_nodes.push_back(nodes_[idx].id);
  }
  changed_list_.clear();
  out_.status_changed = status_changed_ || (final_now && !was_final);
  status_changed_ = false;
  return std::move(out_);
}

void operator_impl::complete_node(const std::string& node_id, const outcome& o, time_point now) {
  now_ = now;
  const int idx = running_leaf(node_id);
  if (idx < 0) return;
  if (o.progress) keep_progress(idx, *o.progress);
  finish_leaf(idx, o);
}

bool operator_impl::report_progress(const std::string& node_id, const std::string& text) {
  const int idx = running_leaf(node_id);
  return idx >= 0 && keep_progress(idx, text);
}

int operator_impl::running_leaf(const std::string& node_id) const {
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return -1;
  const auto& n = nodes_[it->second];
  return n.ex && n.ex->launched && !is_fulfilled(n.phase) ? it->second : -1;
}

bool operator_impl::keep_progress(int idx, const std::string& text) {
  if (!work_progress::parse(text)) return false;
  auto& n = nodes_[idx];
  if (!n.extra.is_object()) n.extra = json::object();
  auto at = n.extra.find("progress");
  if (at != n.extra.end() && at->is_string() && at->get_ref<const std::string&>() == text)
    return false;
  n.extra["progress"] = text;
  mark_changed(idx);
  return true;
}

void operator_impl::recover(time_point now) {
  now_ = now;
  // Attempts run under their Retry node's locks, not their own.
  std::set<std::string> attempts;
  for (const auto& n : nodes_)
    if (n.type == "Retry") attempts.insert(n.children.begin(), n.children.end());
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    if (is_leaf_type(n.type) && n.phase == phase::running) {
      n.phase = phase::error;
      n.message = "the executor restarted";
      n.finished_at = now;
      mark_changed(static_cast<int>(i));
    } else if ((n.type == "DAG" || n.type == "Steps" || n.type == "Retry") &&
               n.phase == phase::running) {
      // Restored before any other workflow can operate, so no newcomer
      // takes the lock while the node's children still run.
      std::vector<std::string> keys;
      const auto* t = find_template(n.template_name);
      if (t != nullptr && t->synchronization && env_.sync != nullptr && attempts.count(n.id) == 0) {
        keys = lock_keys(*t->synchronization);
        for (const auto& k : keys) env_.sync->restore(k, wf_lock_holder_ + "/" + n.id);
      }
      restored_running_[static_cast<int>(i)] = std::move(keys);
    }
  }
  // The workflow ran under its own locks before the restart.
  if (phase_ == phase::running && spec_.synchronization && env_.sync != nullptr) {
    for (const auto& k : lock_keys(*spec_.synchronization)) env_.sync->restore(k, wf_lock_holder_);
    wf_locks_held_ = true;
  }
}

// --- JSON --------------------------------------------------------------------------------

namespace {

// One member of a node's NodeStatus object besides `extra`, with one of
// text, tree or list; absent members are left out, and a present one
// replaces a member of `extra` by that name.
struct node_member {
  std::string_view key;
  bool present;
  const std::string* text = nullptr;
  const json* tree = nullptr;
  const std::vector<std::string>* list = nullptr;
};

// node_json's and node_json_text's members, in the (sorted) order the tree
// keeps them. `started` and `finished` hold the times as text.
std::array<node_member, 14> node_members(const node& n, bool children_shown,
                                         const std::string& started, const std::string& finished) {
  return {{
      {"boundaryID", !n.boundary_id.empty(), &n.boundary_id},
      {"children", children_shown, nullptr, nullptr, &n.children},
      {"displayName", true, &n.display_name},
      {"finishedAt", n.finished_at.has_value(), &finished},
      {"id", true, &n.id},
      {"inputs", n.inputs.is_object() && !n.inputs.empty(), nullptr, &n.inputs},
      {"message", !n.message.empty(), &n.message},
      {"name", true, &n.name},
      {"outboundNodes", !n.outbound.empty(), nullptr, nullptr, &n.outbound},
      {"outputs", n.outputs.is_object() && !n.outputs.empty(), nullptr, &n.outputs},
      {"phase", true, &n.phase},
      {"startedAt", n.started_at.has_value(), &started},
      {"templateName", !n.template_name.empty(), &n.template_name},
      {"type", true, &n.type},
  }};
}

}  // namespace

bool operator_impl::child_shown(const std::string& id) const {
  if (unpublished_throttled_ == 0) return true;
  auto ci = by_id_.find(id);
  return ci == by_id_.end() || !concealed(nodes_[ci->second]);
}

json operator_impl::node_json(const std::string& node_id) const {
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return json();
  const auto& n = nodes_[it->second];
  json j = n.extra.is_object() ? n.extra : json::object();
  const std::string started = time_text(n.started_at);
  const std::string finished = time_text(n.finished_at);
  const bool children = std::any_of(n.children.begin(), n.children.end(),
                                    [&](const std::string& c) { return child_shown(c); });
  for (const auto& m : node_members(n, children, started, finished)) {
    if (!m.present) continue;
    json& at = j[std::string(m.key)];
    if (m.text) {
      at = *m.text;
    } else if (m.tree) {
      at = *m.tree;
    } else {
      at = json::array();
      for (const auto& v : *m.list)
        if (m.list != &n.children || child_shown(v)) at.push_back(v);
    }
  }
  return j;
}

workflow_operator::node_text operator_impl::node_json_text(const std::string& node_id) const {
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return workflow_operator::node_json_text(node_id);
  const auto& n = nodes_[it->second];
  const std::string started = time_text(n.started_at);
  const std::string finished = time_text(n.finished_at);
  const bool children = std::any_of(n.children.begin(), n.children.end(),
                                    [&](const std::string& c) { return child_shown(c); });
  try {
    std::string out;
    out.reserve(512);
    out += '{';
    bool first = true;
    auto key = [&](std::string_view k) {
      if (!first) out += ',';
      first = false;
      dump_json_string(k, out);
      out += ':';
    };
    auto write = [&](const node_member& m) {
      if (m.text) {
        dump_json_string(*m.text, out);
      } else if (m.tree) {
        dump_json(*m.tree, out);
      } else {
        out += '[';
        bool none = true;
        for (const auto& v : *m.list) {
          if (m.list == &n.children && !child_shown(v)) continue;
          if (!none) out += ',';
          none = false;
          dump_json_string(v, out);
        }
        out += ']';
      }
    };
    static const json no_extra = json::object();
    const json& extra = n.extra.is_object() ? n.extra : no_extra;
    auto e = extra.begin();
    for (const auto& m : node_members(n, children, started, finished)) {
      if (!m.present) continue;
      for (; e != extra.end() && std::string_view(e.key()) <= m.key; ++e) {
        if (std::string_view(e.key()) == m.key) continue;  // replaced by the member
        key(e.key());
        dump_json(e.value(), out);
      }
      key(m.key);
      write(m);
    }
    for (; e != extra.end(); ++e) {
      key(e.key());
      dump_json(e.value(), out);
    }
    out += '}';
    return {n.name, n.phase, std::move(out)};
  } catch (const json::type_error&) {
    // Bytes that are not UTF-8 somewhere: nlohmann's replacing printer.
    return workflow_operator::node_json_text(node_id);
  }
}

json operator_impl::workflow_json_without_nodes() const {
  json j = wf_;
  json st = json::object();
  st["phase"] = phase_;
  if (started_at_) st["startedAt"] = time_text(started_at_);
  if (finished_at_) st["finishedAt"] = time_text(finished_at_);
  if (!message_.empty()) st["message"] = message_;
  json outputs = json::object();
  if (!global_params_.empty()) outputs["parameters"] = global_params_;
  if (!global_artifacts_.empty()) outputs["artifacts"] = global_artifacts_;
  if (!outputs.empty()) st["outputs"] = outputs;
  j["status"] = std::move(st);
  if (suspended_)
    j["spec"]["suspend"] = true;
  else if (j.contains("spec") && j["spec"].is_object())
    j["spec"].erase("suspend");
  if (!shutdown_.empty()) j["spec"]["shutdown"] = shutdown_;
  return j;
}

json operator_impl::workflow_json() const {
  json j = workflow_json_without_nodes();
  json nodes = json::object();
  for (const auto& n : nodes_)
    if (!concealed(n)) nodes[n.id] = node_json(n.id);
  if (!nodes.empty()) j["status"]["nodes"] = std::move(nodes);
  set_progress(j);
  return j;
}

}  // namespace kairos::engine::op
