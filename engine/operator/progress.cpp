#include "kairos/engine/progress.hpp"

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace kairos::engine {

namespace {

using nlohmann::json;

struct units {
  long long done = 0;
  long long total = 0;

  units& operator+=(const units& o) {
    done += o.done;
    total += o.total;
    return *this;
  }
  std::string text() const { return std::to_string(done) + "/" + std::to_string(total); }
};

std::string_view string_of(const json& node, const char* key) {
  if (auto it = node.find(key); it != node.end() && it->is_string())
    return it->get_ref<const std::string&>();
  return {};
}

bool does_work(std::string_view type) {
  return counts_as_work(type);
}

units own_units(const json& node) {
  return {counts_as_done(string_of(node, "phase")) ? 1 : 0, 1};
}

}  // namespace

bool counts_as_work(std::string_view type) {
  return type == "Pod" || type == "HTTP" || type == "Suspend" || type == "Container" ||
         type == "Plugin";
}

bool counts_as_done(std::string_view phase) {
  return phase == "Succeeded" || phase == "Skipped" || phase == "Omitted";
}

void set_progress(json& workflow) {
  if (!workflow.is_object()) return;
  auto& status = workflow["status"];
  if (!status.is_object()) status = json::object();
  units all;
  auto nodes = status.find("nodes");
  if (nodes == status.end() || !nodes->is_object()) {
    status["progress"] = all.text();
    return;
  }
  for (auto& [id, node] : nodes->items()) {
    if (!node.is_object() || !does_work(string_of(node, "type"))) continue;
    const units u = own_units(node);
    node["progress"] = u.text();
    all += u;
  }
  // Each grouping node walks what its children reach; children links run
  // from a task to its dependents, so a DAG's walk covers every task in it.
  std::vector<const json*> stack;
  std::unordered_set<const json*> seen;
  for (auto& [id, node] : nodes->items()) {
    if (!node.is_object() || does_work(string_of(node, "type"))) continue;
    units sum;
    seen.clear();
    stack.assign(1, &node);
    while (!stack.empty()) {
      const json* at = stack.back();
      stack.pop_back();
      auto children = at->find("children");
      if (children == at->end() || !children->is_array()) continue;
      for (const auto& c : *children) {
        if (!c.is_string()) continue;
        auto child = nodes->find(c.get_ref<const std::string&>());
        if (child == nodes->end() || !child->is_object()) continue;
        if (!seen.insert(&*child).second) continue;
        if (does_work(string_of(*child, "type"))) sum += own_units(*child);
        stack.push_back(&*child);
      }
    }
    if (sum.total > 0) node["progress"] = sum.text();
  }
  status["progress"] = all.text();
}

}  // namespace kairos::engine
