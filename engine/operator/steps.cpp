// Steps templates: outer lists in sequence, inner lists in parallel, each
// outer list a StepGroup node "<steps>[i]".
#include <algorithm>

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
    const auto pos = std::find(s.members.begin(), s.members.end(), member);
    if (pos == s.members.end() || s.group < 0) return nullptr;
    return &groups[s.group][pos - s.members.begin()];
  };
  auto events = std::move(ex.events);
  ex.events.clear();
  for (int c : events) {
    const bool is_exit = std::find(s.members.begin(), s.members.end(), c) == s.members.end();
    int member = c;
    if (is_exit) {
      // An onExit hook of a member finished; find the member it belongs to.
      member = -1;
      for (int m : s.members)
        if (nodes_[m].name + ".onExit" == nodes_[c].name) member = m;
      if (member < 0) continue;
    } else {
      const auto* step = step_of(c);
      if (step && !step->on_exit.empty() && nodes_[c].phase != phase::skipped) {
        const auto* tmpl = find_template(step->on_exit);
        if (tmpl) {
          publish_outputs(*s.vars, "steps." + step->name, c);
          auto inv = make_invocation(*tmpl, step->on_exit, {}, *s.vars, nodes_[idx].id);
          if (inv) {
            const int e =
                execute(nodes_[c].name + ".onExit", step->name + ".onExit", std::move(*inv), idx);
            add_child(c, e);
            continue;
          }
        }
      }
    }
    if (const auto* step = step_of(member)) publish_outputs(*s.vars, "steps." + step->name, member);
    --s.pending;
  }
  while (true) {
    if (s.group >= 0 && s.pending > 0) return;
    if (s.group >= 0) {
      // The running group finished: its phase, then the next group.
      std::string failed_id;
      std::string failed_phase;
      for (std::size_t i = 0; i < s.members.size(); ++i) {
        const auto& p = nodes_[s.members[i]].phase;
        if (is_failed_or_error(p) && !continues_on(groups[s.group][i], p) && failed_id.empty()) {
          failed_id = nodes_[s.members[i]].id;
          failed_phase = p;
        }
      }
      s.prev_outbound.clear();
      for (int m : s.members) s.prev_outbound.push_back(nodes_[m].id);
      if (!failed_id.empty()) {
        const std::string msg = "child '" + failed_id + "' failed";
        finish_node(s.group_node, failed_phase, msg);
        nodes_[idx].outbound = s.prev_outbound;
        collect_template_outputs(idx, {});
        finish_node(idx, failed_phase, msg);
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
    s.pending = static_cast<int>(groups[next].size());
    // Members first, so that restored members reporting at once find their index.
    std::vector<std::string> names;
    for (const auto& step : groups[next]) names.push_back(gname + "." + step.name);
    s.members.assign(groups[next].size(), -1);
    for (std::size_t i = 0; i < groups[next].size(); ++i) {
      const auto& step = groups[next][i];
      int existing = find_node(names[i]);
      s.members[i] = existing;  // may be -1 until started
      const int c = start_call(step, names[i], step.name, *s.vars, nodes_[idx].id, idx, true);
      s.members[i] = c;
      add_child(g, c);
    }
    // Finished members (restored, skipped) reported as events; handle them now.
    if (!ex.events.empty()) {
      auto more = std::move(ex.events);
      ex.events.clear();
      for (int c : more) {
        if (std::find(s.members.begin(), s.members.end(), c) == s.members.end()) continue;
        const auto* step = step_of(c);
        if (step && !step->on_exit.empty() && nodes_[c].phase != phase::skipped) {
          ex.events.push_back(c);  // let the next pass start its hook
          enqueue(idx);
          continue;
        }
        if (step) publish_outputs(*s.vars, "steps." + step->name, c);
        --s.pending;
      }
      if (!ex.events.empty()) {
        // Hooks still to start: process them on the next pass with pending intact.
        // Undo the members we counted twice is not needed: only hooks are left.
        return;
      }
    }
  }
}

}  // namespace kairos::engine::op
