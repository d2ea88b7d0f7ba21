// Steps templates: outer lists in sequence, inner lists in parallel, each
// outer list a StepGroup node "<steps>[i]". A looped step expands into one
// node per item, "<steps>[i].<step>(j:item)", straight under the StepGroup
// (Argo's expandStepGroup); DAG loops keep their TaskGroup (calls.cpp).
#include <algorithm>
#include <string_view>

#include "operator_impl.hpp"

namespace kairos::engine::op {

namespace {

bool continues_on(const spec::template_call& call, const std::string& p) {
  if (!call.continue_on) return false;
  return (p == phase::failed && call.continue_on->failed) ||
         (p == phase::error && call.continue_on->error);
}

}  // namespace

void operator_impl::begin_steps(int idx) {
  auto& ex = *nodes_[idx].ex;
  ex.steps = std::make_unique<steps_state>();
  ex.steps->vars = std::make_shared<scope>();
  ex.steps->vars->parent = ex.local.get();
}

void operator_impl::advance_steps(int idx) {
  auto& ex = *nodes_[idx].ex;
  if (!ex.steps) {
    begin_steps(idx);
    set_phase(idx, phase::running);
  }
  auto& s = *ex.steps;
  const auto& groups = *ex.inv.tmpl->steps;
  auto step_of = [&](int member) -> const spec::workflow_step* {
    if (s.group < 0) return nullptr;
    auto it = s.member_index.find(member);
    if (it == s.member_index.end()) return nullptr;
    return &groups[s.group][s.member_step[it->second]];
  };
  // A member is done (hook included). A looped step's items publish
  // together once the group is done, as Argo aggregates them.
  auto member_done = [&](int member) {
    const auto* step = step_of(member);
    if (step && !is_loop(*step)) publish_outputs(*s.vars, "steps." + step->name, member);
    --s.pending;
  };
  auto events = std::move(ex.events);
  ex.events.clear();
  for (int c : events) {
    const bool is_exit = s.member_index.count(c) == 0;
    int member = c;
    if (is_exit) {
      // An onExit hook of a member finished; find the member it belongs to.
      member = -1;
      const auto& hook = nodes_[c].name;
      constexpr std::string_view suffix = ".onExit";
      if (hook.size() > suffix.size())
        member = find_node(hook.substr(0, hook.size() - suffix.size()));
      if (member < 0 || s.member_index.count(member) == 0) continue;
    } else {
      const auto* step = step_of(c);
      if (step && !step->on_exit.empty() && nodes_[c].phase != phase::skipped) {
        const auto* tmpl = find_template(step->on_exit);
        if (tmpl) {
          publish_outputs(*s.vars, "steps." + step->name, c);
          auto inv = make_invocation(*tmpl, step->on_exit, {}, *s.vars, nodes_[idx].id);
          if (inv) {
            const int e = execute(nodes_[c].name + ".onExit", nodes_[c].display_name + ".onExit",
                                  std::move(*inv), idx);
            add_child(c, e);
            continue;
          }
        }
      }
    }
    member_done(member);
  }
  while (true) {
    if (s.group >= 0 && s.pending > 0) return;
    if (s.group >= 0) {
      // The running group finished: outputs of its loops, its phase, then the next group.
      const auto& group = groups[s.group];
      for (std::size_t i = 0; i < group.size(); ++i) {
        if (!is_loop(group[i])) continue;
        std::vector<int> items;
        bool failed = false;
        for (std::size_t m = 0; m < s.members.size(); ++m) {
          if (s.member_step[m] != i) continue;
          items.push_back(s.members[m]);
          failed = failed || is_failed_or_error(nodes_[s.members[m]].phase);
        }
        const std::string prefix = "steps." + group[i].name;
        s.vars->vars[prefix + ".status"] = failed ? phase::failed : phase::succeeded;
        publish_aggregate(*s.vars, prefix, items);
      }
      std::string failed_id;
      for (std::size_t m = 0; m < s.members.size() && failed_id.empty(); ++m) {
        const auto& p = nodes_[s.members[m]].phase;
        if (is_failed_or_error(p) && !continues_on(group[s.member_step[m]], p))
          failed_id = nodes_[s.members[m]].id;
      }
      s.prev_outbound.clear();
      for (int m : s.members) s.prev_outbound.push_back(nodes_[m].id);
      if (!failed_id.empty()) {
        // Argo: the group and the steps node fail, whatever the child's phase.
        const std::string msg = "child '" + failed_id + "' failed";
        finish_node(s.group_node, phase::failed, msg);
        nodes_[idx].outbound = s.prev_outbound;
        collect_template_outputs(idx, {});
        finish_node(idx, phase::failed, msg);
        return;
      }
      finish_node(s.group_node, phase::succeeded);
    }
    const int next = s.group + 1;
    if (next >= static_cast<int>(groups.size())) {
      nodes_[idx].outbound = s.prev_outbound;
      collect_template_outputs(idx, {});
      finish_node(idx, phase::succeeded);
      return;
    }
    // Start group `next`.
    const std::string gname = nodes_[idx].name + "[" + std::to_string(next) + "]";
    int g = find_node(gname);
    if (g < 0)
      g = create_node(gname, "[" + std::to_string(next) + "]", "StepGroup", ex.inv.template_name,
                      nodes_[idx].id);
    if (!nodes_[g].ex) {
      nodes_[g].ex = std::make_unique<exec>();
      nodes_[g].ex->kind = exec_kind::step_group;
      nodes_[g].ex->parent = -2;  // driven by the steps node, not by events
    }
    if (!is_fulfilled(nodes_[g].phase)) set_phase(g, phase::running);
    if (next == 0) {
      add_child(idx, g);
    } else if (s.members.empty()) {
      add_child(s.group_node, g);
    } else {
      for (int m : s.members) add_child(m, g);
    }
    s.group = next;
    s.group_node = g;
    s.members.clear();
    s.member_step.clear();
    s.member_index.clear();
    const auto& group = groups[next];
    // Like Argo, every loop of the group expands before any step starts, so
    // a bad withParam runs nothing of the group.
    std::vector<std::vector<json>> items(group.size());
    for (std::size_t i = 0; i < group.size(); ++i) {
      if (!is_loop(group[i])) continue;
      auto listed = loop_items(group[i], *s.vars);
      if (!listed) {
        const std::string msg = "step '" + group[i].name + "': " + listed.error().message;
        // Argo errors the group and fails the steps node with its message.
        finish_node(g, phase::error, msg);
        collect_template_outputs(idx, {});
        finish_node(idx, phase::failed, msg);
        return;
      }
      items[i] = std::move(*listed);
    }
    auto add_member = [&](int c, std::size_t step) {
      s.member_index[c] = s.members.size();
      s.members.push_back(c);
      s.member_step.push_back(step);
      add_child(g, c);
    };
    for (std::size_t i = 0; i < group.size(); ++i) {
      const auto& step = group[i];
      const std::string name = gname + "." + step.name;
      if (!is_loop(step)) {
        add_member(start_call(step, name, step.name, *s.vars, nodes_[idx].id, idx, true), i);
        continue;
      }
      if (items[i].empty()) {
        // Nothing to run: Argo shows the step once, Skipped.
        int c = find_node(name);
        if (c < 0) c = create_node(name, step.name, "Skipped", step.template_, nodes_[idx].id);
        nodes_[c].ex = std::make_unique<exec>();
        nodes_[c].ex->parent = idx;
        nodes_[c].ex->kind = exec_kind::loop_group;
        add_member(c, i);
        if (is_fulfilled(nodes_[c].phase))
          child_finished(c);
        else
          finish_node(c, phase::skipped, "Skipped, empty params");
        continue;
      }
      for (std::size_t j = 0; j < items[i].size(); ++j) {
        scope item_scope;
        item_scope.parent = s.vars.get();
        set_item_vars(item_scope, items[i][j]);
        const std::string label = item_label(j, items[i][j]);
        add_member(start_call(step, name + label, step.name + label, item_scope, nodes_[idx].id,
                              idx, true, false),
                   i);
      }
    }
    s.pending = static_cast<int>(s.members.size());
    // Finished members (restored, skipped) reported as events; handle them now.
    if (!ex.events.empty()) {
      auto more = std::move(ex.events);
      ex.events.clear();
      for (int c : more) {
        if (s.member_index.count(c) == 0) continue;
        const auto* step = step_of(c);
        if (step && !step->on_exit.empty() && nodes_[c].phase != phase::skipped) {
          ex.events.push_back(c);  // let the next pass start its hook
          enqueue(idx);
          continue;
        }
        member_done(c);
      }
      // Hooks still to start: the next pass starts them with pending intact.
      if (!ex.events.empty()) return;
    }
  }
}

}  // namespace kairos::engine::op
