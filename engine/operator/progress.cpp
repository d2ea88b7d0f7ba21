#include "kairos/engine/progress.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kairos::engine {

namespace {

using nlohmann::json;

std::string_view string_of(const json& node, const char* key) {
  if (auto it = node.find(key); it != node.end() && it->is_string())
    return it->get_ref<const std::string&>();
  return {};
}

bool does_work(std::string_view type) {
  return type == "Pod" || type == "HTTP" || type == "Suspend" || type == "Container" ||
         type == "Plugin";
}

// The nodes that templates with their own scope make: what runs inside names
// them as its boundaryID.
bool bounds(std::string_view type) {
  return type == "DAG" || type == "Steps";
}

// A working node's progress is what it reported of itself: this is read
// before the node's own figure is written over it, and reading it again
// gives the same figure.
work_progress own_progress(const json& node) {
  work_progress u;
  u.add(string_of(node, "type"), string_of(node, "phase"), 1, string_of(node, "progress"));
  return u;
}

// Sums and products that stop at the largest count rather than overflow: a
// pod may report counts as large as it likes (bytes, say), and many such
// pods are summed.
std::int64_t saturated_sum(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  return __builtin_add_overflow(a, b, &out) ? std::numeric_limits<std::int64_t>::max() : out;
}

std::int64_t saturated_product(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  return __builtin_mul_overflow(a, b, &out) ? std::numeric_limits<std::int64_t>::max() : out;
}

// A decimal count without sign, as Go's strconv.Atoi reads one here.
std::optional<std::int64_t> count_of(std::string_view digits) {
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

}  // namespace

std::optional<work_progress> work_progress::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto n = count_of(text.substr(0, slash));
  const auto m = count_of(text.substr(slash + 1));
  if (!n || !m || *n > *m || *m == 0) return std::nullopt;
  return work_progress{*n, *m};
}

void work_progress::add(std::string_view node_type, std::string_view node_phase, std::int64_t count,
                        std::string_view reported) {
  if (!does_work(node_type) || count <= 0) return;
  work_progress own{0, 1};
  if (auto r = parse(reported)) own = *r;
  if (node_phase == "Succeeded" || node_phase == "Skipped" || node_phase == "Omitted")
    own.done = own.total;
  total = saturated_sum(total, saturated_product(own.total, count));
  done = saturated_sum(done, saturated_product(own.done, count));
}

work_progress& work_progress::operator+=(const work_progress& other) {
  done = saturated_sum(done, other.done);
  total = saturated_sum(total, other.total);
  return *this;
}

std::string work_progress::text() const {
  return std::to_string(done) + "/" + std::to_string(total);
}

void set_progress(json& workflow) {
  if (!workflow.is_object()) return;
  auto& status = workflow["status"];
  if (!status.is_object()) status = json::object();
  work_progress all;
  auto nodes = status.find("nodes");
  if (nodes == status.end() || !nodes->is_object()) {
    status["progress"] = all.text();
    return;
  }
  auto node_at = [&](std::string_view id) -> json* {
    auto it = nodes->find(std::string(id));
    return it != nodes->end() && it->is_object() ? &*it : nullptr;
  };
  // A DAG or Steps node sums the working nodes within its boundary, however
  // deeply nested: each working node adds itself up its chain of boundaries.
  std::unordered_map<const json*, work_progress> sums;
  std::vector<const json*> chain;
  for (auto& [id, node] : nodes->items()) {
    if (!node.is_object() || !does_work(string_of(node, "type"))) continue;
    const work_progress u = own_progress(node);
    node["progress"] = u.text();
    all += u;
    std::string_view boundary = string_of(node, "boundaryID");
    // Chains are as deep as templates nest; one that comes back on itself
    // (a corrupt document) ends there.
    chain.clear();
    while (!boundary.empty()) {
      const json* b = node_at(boundary);
      if (b == nullptr || std::find(chain.begin(), chain.end(), b) != chain.end()) break;
      chain.push_back(b);
      if (bounds(string_of(*b, "type"))) sums[b] += u;
      boundary = string_of(*b, "boundaryID");
    }
  }
  // A StepGroup, TaskGroup or Retry node sums its children: working ones
  // as themselves, the others by their own sums. Children are summed before
  // their parent with a stack of our own, as groups may nest deeply; a
  // cycle (a corrupt document) adds nothing.
  enum class state { open, summed };
  std::unordered_map<const json*, state> seen;
  auto children_of = [&](const json& node, auto&& each) {
    auto children = node.find("children");
    if (children == node.end() || !children->is_array()) return;
    for (const auto& c : *children)
      if (const json* child = c.is_string() ? node_at(c.get_ref<const std::string&>()) : nullptr)
        each(*child);
  };
  auto groups = [&](const json& node) {
    const auto type = string_of(node, "type");
    return !does_work(type) && !bounds(type);
  };
  std::vector<std::pair<const json*, bool>> stack;  // node, children pushed
  for (auto& [id, node] : nodes->items()) {
    if (!node.is_object() || !groups(node) || seen.count(&node) != 0) continue;
    stack.assign(1, {&node, false});
    while (!stack.empty()) {
      auto [at, expanded] = stack.back();
      if (!expanded) {
        if (seen.count(at) != 0) {
          stack.pop_back();
          continue;
        }
        seen[at] = state::open;
        stack.back().second = true;
        children_of(*at, [&](const json& child) {
          if (groups(child) && seen.count(&child) == 0) stack.emplace_back(&child, false);
        });
        continue;
      }
      stack.pop_back();
      work_progress total;
      children_of(*at, [&](const json& child) {
        if (does_work(string_of(child, "type"))) {
          total += own_progress(child);
        } else if (!groups(child)) {
          total += sums[&child];
        } else if (auto it = seen.find(&child); it != seen.end() && it->second == state::summed) {
          total += sums[&child];
        }
      });
      sums[at] = total;
      seen[at] = state::summed;
    }
  }
  for (auto& [id, node] : nodes->items()) {
    if (!node.is_object() || does_work(string_of(node, "type"))) continue;
    const work_progress u = sums[&node];
    if (u.total > 0) node["progress"] = u.text();
  }
  status["progress"] = all.text();
}

}  // namespace kairos::engine
