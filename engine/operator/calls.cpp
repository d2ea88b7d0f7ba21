// A task's or step's call of a template: `when`, loops (withItems,
// withParam, withSequence) into a TaskGroup, and publishing a finished
// node's outputs into the caller's scope.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "kairos/core/expr.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "operator_impl.hpp"

namespace kairos::engine::op {

std::string item_text(const json& item) {
  if (item.is_string()) return item.get<std::string>();
  return dump_json_replacing(item);
}

std::string item_label(std::size_t i, const json& item) {
  std::string text;
  if (item.is_object()) {
    // Keys in order (json objects are sorted), "key:value" joined by commas.
    for (const auto& [k, v] : item.items()) {
      if (!text.empty()) text += ",";
      text += k + ":" + item_text(v);
    }
  } else {
    text = item_text(item);
  }
  return "(" + std::to_string(i) + ":" + text + ")";
}

namespace {

std::optional<long long> parse_int(const std::string& s) {
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || end == s.c_str() || *end != '\0') return std::nullopt;
  return v;
}

}  // namespace

bool is_loop(const spec::template_call& call) {
  return !call.with_items.empty() || !call.with_param.empty() || call.with_sequence.has_value();
}

void set_item_vars(scope& sc, const json& item) {
  sc.vars["item"] = item_text(item);
  if (item.is_object())
    for (const auto& [k, v] : item.items()) sc.vars["item." + k] = item_text(v);
}

result<std::vector<json>> operator_impl::loop_items(const spec::template_call& call,
                                                    const scope& sc) {
  std::vector<json> items;
  if (!call.with_items.empty()) {
    items = call.with_items;
  } else if (!call.with_param.empty()) {
    auto text = substitute(call.with_param, sc);
    if (!text) return make_error(errc::invalid_argument, "withParam: " + text.error().message);
    auto parsed = parse_json(*text);
    if (parsed.is_discarded() || !parsed.is_array())
      return make_error(errc::invalid_argument,
                        "withParam value could not be parsed as a JSON list: " + *text);
    for (auto& v : parsed) items.push_back(std::move(v));
  } else {
    const auto& seq = *call.with_sequence;
    auto get = [&](const std::optional<std::string>& v) -> std::optional<long long> {
      if (!v) return std::nullopt;
      auto t = substitute(*v, sc);
      if (!t) return std::nullopt;
      return parse_int(*t);
    };
    const auto count = get(seq.count), start = get(seq.start), end = get(seq.end);
    if ((seq.count && !count) || (seq.start && !start) || (seq.end && !end))
      return make_error(errc::invalid_argument,
                        "withSequence: count, start and end must be integers");
    if (count && end)
      return make_error(errc::invalid_argument, "withSequence: set count or end, not both");
    long long from = start.value_or(0), to = 0;
    if (count) {
      if (*count < 0)
        return make_error(errc::invalid_argument, "withSequence: count must not be negative");
      to = from + *count - 1;
    } else {
      to = end.value_or(0);
    }
    const long long step = to >= from ? 1 : -1;
    const long long n = count ? *count : (to - from) * step + 1;
    if (n > 1000000) return make_error(errc::invalid_argument, "withSequence: too many items");
    for (long long i = 0, v = from; i < n; ++i, v += step) {
      if (!seq.format.empty()) {
        char buf[128];
        std::snprintf(buf, sizeof buf, seq.format.c_str(), v);
        items.emplace_back(std::string(buf));
      } else {
        items.emplace_back(std::to_string(v));
      }
    }
  }
  return items;
}

int operator_impl::start_call(const spec::template_call& call, const std::string& name,
                              const std::string& display, const scope& sc,
                              const std::string& boundary_id, int parent, bool evaluate_when,
                              bool expand_loop) {
  // A node that already exists and is fulfilled (a restore) is reported as it is.
  if (int existing = find_node(name);
      existing >= 0 && is_fulfilled(nodes_[existing].phase) && !nodes_[existing].ex) {
    nodes_[existing].ex = std::make_unique<exec>();
    nodes_[existing].ex->parent = parent;
    nodes_[existing].ex->kind = exec_kind::loop_group;
    child_finished(existing);
    return existing;
  }
  auto fail = [&](const std::string& type, const std::string& message) {
    int idx = find_node(name);
    if (idx < 0) idx = create_node(name, display, type, call.template_, boundary_id);
    nodes_[idx].ex = std::make_unique<exec>();
    nodes_[idx].ex->parent = parent;
    nodes_[idx].ex->kind = exec_kind::loop_group;
    finish_node(idx, phase::error, message);
    return idx;
  };
  if (evaluate_when && !call.when.empty()) {
    auto text = substitute(call.when, sc);
    if (!text) return fail("Skipped", "when '" + call.when + "': " + text.error().message);
    auto r = expr::evaluate_govaluate(*text);
    if (!r)
      return fail("Skipped", "when '" + *text + "': invalid expression: " + r.error().message);
    if (!*r) {
      int idx = find_node(name);
      if (idx < 0) idx = create_node(name, display, "Skipped", call.template_, boundary_id);
      nodes_[idx].ex = std::make_unique<exec>();
      nodes_[idx].ex->parent = parent;
      nodes_[idx].ex->kind = exec_kind::loop_group;
      finish_node(idx, phase::skipped, "when '" + *text + "' evaluated false");
      return idx;
    }
  }
  const bool loop = expand_loop && is_loop(call);
  if (!loop) {
    auto inv = make_invocation(call, sc, boundary_id);
    if (!inv) return fail("Pod", inv.error().message);
    return execute(name, display, std::move(*inv), parent);
  }

  auto listed = loop_items(call, sc);
  if (!listed) return fail("TaskGroup", listed.error().message);
  const auto& items = *listed;
  int idx = find_node(name);
  if (idx < 0) idx = create_node(name, display, "TaskGroup", call.template_, boundary_id);
  auto& n = nodes_[idx];
  n.ex = std::make_unique<exec>();
  n.ex->parent = parent;
  n.ex->kind = exec_kind::loop_group;
  n.ex->group = std::make_unique<group_state>();
  auto& g = *n.ex->group;
  for (std::size_t i = 0; i < items.size(); ++i) {
    scope item_scope;
    item_scope.parent = &sc;
    set_item_vars(item_scope, items[i]);
    auto inv = make_invocation(call, item_scope, boundary_id);
    if (!inv) {
      finish_node(idx, phase::error, inv.error().message);
      return idx;
    }
    const std::string label = item_label(i, items[i]);
    g.planned.push_back({name + label, display + label, std::move(*inv)});
  }
  enqueue(idx);
  return idx;
}

void operator_impl::advance_group(int idx) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  if (!ex.group) return;
  auto& g = *ex.group;
  if (!ex.begun) {
    ex.begun = true;
    set_phase(idx, phase::running);
  }
  for (int c : ex.events) {
    --g.active;
    ++g.done;
    if (is_failed_or_error(nodes_[c].phase) && g.failed_child.empty())
      g.failed_child = nodes_[c].id;
  }
  ex.events.clear();
  while (g.next < g.planned.size() && (g.parallelism <= 0 || g.active < g.parallelism)) {
    auto& p = g.planned[g.next++];
    ++g.active;
    const int child = execute(p.name, p.display, std::move(p.inv), idx);
    add_child(idx, child);
  }
  if (g.done < static_cast<int>(g.planned.size())) return;
  // Aggregate the children's outputs as Argo does for tasks.X.outputs.*.
  json results = json::array();
  bool any_result = false;
  for (const auto& id : n.children) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) continue;
    const auto& o = nodes_[it->second].outputs;
    if (o.is_object() && o.contains("result") && o["result"].is_string()) {
      any_result = true;
      const std::string r = o["result"];
      auto parsed = parse_json(r);
      results.push_back(!parsed.is_discarded() && parsed.is_object() ? parsed : json(r));
    }
  }
  if (any_result) n.outputs = {{"result", dump_json_replacing(results)}};
  if (!g.failed_child.empty())
    finish_node(idx, phase::failed, "child '" + g.failed_child + "' failed");
  else
    finish_node(idx, phase::succeeded);
}

// Argo's outputs of a fanned-out call: the items' results as a JSON list,
// and their parameters as a list of {name: value} and a list per name.
void operator_impl::publish_aggregate(scope& sc, const std::string& prefix,
                                      const std::vector<int>& children) {
  json results = json::array();
  json params = json::array();
  std::map<std::string, json> by_name;
  for (int c : children) {
    const auto& o = nodes_[c].outputs;
    if (!o.is_object()) continue;
    if (o.contains("result") && o["result"].is_string()) {
      const std::string r = o["result"];
      auto parsed = parse_json(r);
      results.push_back(!parsed.is_discarded() && parsed.is_object() ? parsed : json(r));
    }
    if (o.contains("parameters") && o["parameters"].is_array()) {
      json one = json::object();
      for (const auto& p : o["parameters"]) {
        const std::string pn = p.value("name", "");
        one[pn] = p.value("value", "");
        auto& list = by_name[pn];
        if (list.is_null()) list = json::array();
        list.push_back(p.value("value", ""));
      }
      params.push_back(std::move(one));
    }
  }
  sc.vars[prefix + ".outputs.result"] = dump_json_replacing(results);
  sc.vars[prefix + ".outputs.parameters"] = dump_json_replacing(params);
  for (const auto& [pn, list] : by_name)
    sc.vars[prefix + ".outputs.parameters." + pn] = dump_json_replacing(list);
}

void operator_impl::publish_outputs(scope& sc, const std::string& prefix, int idx) {
  const auto& n = nodes_[idx];
  sc.vars[prefix + ".status"] = n.phase;
  sc.vars[prefix + ".id"] = n.id;
  if (n.started_at) sc.vars[prefix + ".startedAt"] = format_rfc3339(*n.started_at);
  if (n.finished_at) sc.vars[prefix + ".finishedAt"] = format_rfc3339(*n.finished_at);
  if (n.type == "TaskGroup") {
    std::vector<int> children;
    for (const auto& id : n.children)
      if (auto it = by_id_.find(id); it != by_id_.end()) children.push_back(it->second);
    publish_aggregate(sc, prefix, children);
    return;
  }
  if (!n.outputs.is_object()) return;
  const auto& o = n.outputs;
  if (o.contains("result") && o["result"].is_string())
    sc.vars[prefix + ".outputs.result"] = o["result"].get<std::string>();
  if (o.contains("exitCode") && o["exitCode"].is_string())
    sc.vars[prefix + ".exitCode"] = o["exitCode"].get<std::string>();
  if (o.contains("parameters") && o["parameters"].is_array()) {
    sc.vars[prefix + ".outputs.parameters"] = dump_json_replacing(o["parameters"]);
    for (const auto& p : o["parameters"])
      if (p.is_object())
        sc.vars[prefix + ".outputs.parameters." + p.value("name", "")] = p.value("value", "");
  }
  if (o.contains("artifacts") && o["artifacts"].is_array())
    for (const auto& a : o["artifacts"])
      if (a.is_object()) sc.artifacts[prefix + ".outputs.artifacts." + a.value("name", "")] = a;
}

void operator_impl::collect_template_outputs(int idx, const std::string& result) {
  auto& n = nodes_[idx];
  auto& ex = *n.ex;
  const auto& t = *ex.inv.tmpl;
  const scope& sc = ex.dag ? *ex.dag->vars : ex.steps ? *ex.steps->vars : *ex.local;
  json out = json::object();
  if (!result.empty()) out["result"] = result;
  json params = json::array();
  for (const auto& p : t.outputs.parameters) {
    std::optional<std::string> value;
    if (p.value_from && !p.value_from->parameter.empty()) {
      auto r = substitute(p.value_from->parameter, sc);
      if (r)
        value = *r;
      else if (p.value_from->default_)
        value = *p.value_from->default_;
    } else if (p.value_from && !p.value_from->expression.empty()) {
      auto r = expr::evaluate(p.value_from->expression, sc.expr_env());
      if (r)
        value = r->is_string() ? r->get<std::string>() : dump_json_replacing(*r);
      else if (p.value_from->default_)
        value = *p.value_from->default_;
    } else if (p.value) {
      auto r = substitute(*p.value, sc);
      if (r) value = *r;
    } else if (p.value_from && p.value_from->default_) {
      value = *p.value_from->default_;
    }
    if (!value) continue;
    params.push_back({{"name", p.name}, {"value", *value}});
    if (!p.global_name.empty()) {
      globals_->vars["workflow.outputs.parameters." + p.global_name] = *value;
      global_params_.push_back({{"name", p.global_name}, {"value", *value}});
      status_changed_ = true;
    }
  }
  if (!params.empty()) out["parameters"] = params;
  json arts = json::array();
  for (const auto& a : t.outputs.artifacts) {
    if (a.from.empty()) continue;
    std::string ref = a.from;
    auto b = ref.find("{{"), e = ref.rfind("}}");
    if (b == std::string::npos || e == std::string::npos) continue;
    ref = ref.substr(b + 2, e - b - 2);
    ref.erase(0, ref.find_first_not_of(' '));
    ref.erase(ref.find_last_not_of(' ') + 1);
    if (const json* found = sc.find_artifact(ref)) {
      json aj = *found;
      aj["name"] = a.name;
      arts.push_back(aj);
      if (!a.global_name.empty()) {
        json g = aj;
        g["name"] = a.global_name;
        globals_->artifacts["workflow.outputs.artifacts." + a.global_name] = g;
        global_artifacts_.push_back(g);
        status_changed_ = true;
      }
    }
  }
  if (!arts.empty()) out["artifacts"] = arts;
  if (!out.empty()) n.outputs = std::move(out);
}

}  // namespace kairos::engine::op
