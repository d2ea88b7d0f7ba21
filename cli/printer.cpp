#include "printer.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <date/date.h>

#include "kairos/core/text.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;
using time_point = std::chrono::system_clock::time_point;

std::size_t display_width(std::string_view s) {
  // Counts code points: every byte that is not a UTF-8 continuation byte.
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string plural(long long n, std::string_view unit) {
  std::string out = std::to_string(n) + " " + std::string(unit);
  if (n != 1) out += "s";
  return out;
}

std::string header_line(std::string_view label, std::string_view value) {
  // Labels are padded to 20 columns, values follow after one space.
  std::string line(label);
  if (line.size() < 20) line.append(20 - line.size(), ' ');
  line += " ";
  line += value;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  line += "\n";
  return line;
}

std::chrono::seconds seconds_between(time_point from, time_point to) {
  auto d = std::chrono::duration_cast<std::chrono::seconds>(to - from);
  return d.count() < 0 ? std::chrono::seconds{0} : d;
}

// Runs from startedAt to finishedAt, or to now while not finished; empty
// when it has not started.
std::string short_duration_of(const json& status, time_point now) {
  auto started = time_at(status, "startedAt");
  if (!started) return "";
  auto finished = time_at(status, "finishedAt");
  return format_duration_short(seconds_between(*started, finished ? *finished : now));
}

// The index Argo puts in the names of expanded items ("step(3:value)"), or
// -1 when the name has none, so items sort numerically rather than as text.
long recover_index(std::string_view name) {
  auto open = name.rfind('(');
  if (open == std::string_view::npos) return -1;
  auto rest = name.substr(open + 1);
  auto end = rest.find_first_of(":)");
  if (end == 0 || end == std::string_view::npos) return -1;
  long value = 0;
  for (char c : rest.substr(0, end)) {
    if (c < '0' || c > '9') return -1;
    value = value * 10 + (c - '0');
    if (value > 1'000'000'000) return -1;
  }
  return value;
}

enum class node_role { boundary, group, leaf };

node_role role_of(const std::string& type) {
  if (type == "DAG" || type == "Steps") return node_role::boundary;
  if (type == "StepGroup" || type == "Retry" || type == "TaskGroup") return node_role::group;
  return node_role::leaf;
}

struct tree_node {
  std::string id;
  const json* status = nullptr;
  node_role role = node_role::leaf;
  std::vector<tree_node*> children;
  bool has_parent = false;
};

struct glyphs {
  std::string_view last, middle, only, first, bar, blank;
};

constexpr glyphs utf8_glyphs{"└─", "├─", "──", "┬─", "│ ", "  "};
constexpr glyphs ascii_glyphs{"`-", "|-", "--", "+-", "| ", "  "};

std::string phase_icon(const json& node, bool utf8) {
  auto phase = string_at(node, "phase");
  auto type = string_at(node, "type");
  if (type == "Suspend" && phase == "Running") return utf8 ? "ǁ" : "Suspend";
  static const std::map<std::string, std::pair<std::string, std::string>, std::less<>> icons{
      {"Pending", {"◷", "Pending"}},     {"Running", {"●", "Running"}},
      {"Succeeded", {"✔", "Succeeded"}}, {"Skipped", {"○", "Skipped"}},
      {"Omitted", {"○", "Omitted"}},     {"Failed", {"✖", "Failed"}},
      {"Error", {"⚠", "Error"}},
  };
  auto it = icons.find(phase.empty() ? "Pending" : phase);
  if (it == icons.end()) return utf8 ? "?" : phase;
  return utf8 ? it->second.first : it->second.second;
}

class tree_renderer {
 public:
  tree_renderer(const json& wf, const render_options& options)
      : wf_(wf), options_(options), glyphs_(options.utf8 ? utf8_glyphs : ascii_glyphs) {}

  // Empty when the workflow has no root node yet.
  std::string render() {
    const json* nodes = nullptr;
    if (auto st = wf_.find("status"); st != wf_.end() && st->is_object()) {
      if (auto n = st->find("nodes"); n != st->end() && n->is_object()) nodes = &*n;
    }
    if (nodes == nullptr) return "";
    build(*nodes);
    auto wf_name = string_at(member(wf_, "metadata"), "name");
    tree_node* main_root = find_root([&](const tree_node& n) { return n.id == wf_name; });
    if (main_root == nullptr) {
      main_root =
          find_root([&](const tree_node& n) { return string_at(*n.status, "name") == wf_name; });
    }
    if (main_root == nullptr) return "";
    rows_.push_back({"STEP", "TEMPLATE", "PODNAME", "DURATION", "MESSAGE"});
    render_node(*main_root, " ", " ");
    auto on_exit_name = wf_name + ".onExit";
    if (auto* exit_root = find_root(
            [&](const tree_node& n) { return string_at(*n.status, "name") == on_exit_name; })) {
      rows_.push_back({"", "", "", "", ""});
      render_node(*exit_root, " ", " ");
    }
    return format_table(rows_, 2);
  }

 private:
  void build(const json& nodes) {
    for (const auto& [id, status] : nodes.items()) {
      if (!status.is_object()) continue;
      auto& n = nodes_[id];
      n.id = id;
      n.status = &status;
      n.role = role_of(string_at(status, "type"));
    }
    // A group (step group, retry) adopts its listed children; everything else
    // hangs under the boundary (the steps or DAG template) it ran in.
    std::map<std::string, tree_node*> group_of;
    for (auto& [id, n] : nodes_) {
      if (n.role != node_role::group) continue;
      auto children = n.status->find("children");
      if (children == n.status->end() || !children->is_array()) continue;
      for (const auto& child : *children) {
        if (child.is_string() && child.get<std::string>() != id)
          group_of[child.get<std::string>()] = &n;
      }
    }
    for (auto& [id, n] : nodes_) {
      tree_node* parent = nullptr;
      if (auto g = group_of.find(id); g != group_of.end()) {
        parent = g->second;
      } else if (auto boundary = string_at(*n.status, "boundaryID"); !boundary.empty()) {
        if (auto b = nodes_.find(boundary);
            b != nodes_.end() && b->second.role == node_role::boundary && boundary != id) {
          parent = &b->second;
        }
      }
      if (parent != nullptr) {
        parent->children.push_back(&n);
        n.has_parent = true;
      }
    }
    for (auto& [id, n] : nodes_) {
      std::stable_sort(n.children.begin(), n.children.end(),
                       [](const tree_node* a, const tree_node* b) { return before(*a, *b); });
    }
  }

  static bool before(const tree_node& a, const tree_node& b) {
    auto ta = time_at(*a.status, "startedAt").value_or(time_point::max());
    auto tb = time_at(*b.status, "startedAt").value_or(time_point::max());
    if (ta != tb) return ta < tb;
    auto na = display_name(a);
    auto nb = display_name(b);
    auto ia = recover_index(na);
    auto ib = recover_index(nb);
    if (ia >= 0 && ib >= 0) return ia < ib;
    return na < nb;
  }

  static std::string display_name(const tree_node& n) {
    auto name = string_at(*n.status, "displayName");
    return name.empty() ? string_at(*n.status, "name") : name;
  }

  template <class Pred>
  tree_node* find_root(Pred pred) {
    for (auto& [id, n] : nodes_) {
      if (!n.has_parent && pred(n)) return &n;
    }
    return nullptr;
  }

  // Step groups are not rows of their own: their steps fan out from the
  // group's connector. A retry with one attempt, and omitted nodes, are
  // hidden the same way.
  std::pair<bool, bool> hidden(const tree_node& n) const {
    auto type = string_at(*n.status, "type");
    if (type == "StepGroup") return {true, true};
    if (type == "Retry" && n.children.size() == 1) return {true, false};
    if (type == "Skipped" && string_at(*n.status, "phase") == "Omitted") return {true, false};
    return {false, false};
  }

  void add_row(const tree_node& n, const std::string& prefix) {
    const json& s = *n.status;
    std::string step = prefix + phase_icon(s, options_.utf8) + " " + display_name(n);
    std::string template_name;
    if (auto ref = s.find("templateRef"); ref != s.end() && ref->is_object()) {
      template_name = string_at(*ref, "name") + "/" + string_at(*ref, "template");
    } else {
      template_name = string_at(s, "templateName");
    }
    std::string pod, duration;
    if (string_at(s, "type") == "Pod") {
      pod = string_at(s, "podName");
      if (pod.empty()) pod = n.id;
      duration = short_duration_of(s, options_.now);
    }
    rows_.push_back({step, template_name, pod, duration, string_at(s, "message")});
  }

  void render_node(const tree_node& n, const std::string& node_prefix,
                   const std::string& child_prefix) {
    // Malformed input may make a node its own ancestor.
    if (!visiting_.insert(n.id).second) return;
    auto [is_hidden, indent_children] = hidden(n);
    if (!is_hidden) add_row(n, node_prefix);
    const std::size_t count = n.children.size();
    for (std::size_t i = 0; i < count; ++i) {
      const bool last = i + 1 == count;
      std::string_view part, sub;
      if (!is_hidden) {
        part = last ? glyphs_.last : glyphs_.middle;
        sub = last ? glyphs_.blank : glyphs_.bar;
      } else if (indent_children) {
        if (count == 1) {
          part = glyphs_.only;
          sub = glyphs_.blank;
        } else if (i == 0) {
          part = glyphs_.first;
          sub = glyphs_.bar;
        } else {
          part = last ? glyphs_.last : glyphs_.middle;
          sub = last ? glyphs_.blank : glyphs_.bar;
        }
      }
      std::string next_node_prefix =
          (is_hidden && i == 0 ? node_prefix : child_prefix) + std::string(part);
      render_node(*n.children[i], next_node_prefix, child_prefix + std::string(sub));
    }
    visiting_.erase(n.id);
  }

  const json& wf_;
  const render_options& options_;
  glyphs glyphs_;
  std::map<std::string, tree_node> nodes_;
  std::set<std::string> visiting_;
  std::vector<std::vector<std::string>> rows_;
};

std::string age_since(const std::optional<time_point>& t, time_point now) {
  if (!t) return "";
  return format_duration_short(seconds_between(*t, now));
}

}  // namespace

const json& member(const json& object, std::string_view key) {
  static const json null_value;
  if (!object.is_object()) return null_value;
  auto it = object.find(key);
  return it == object.end() ? null_value : *it;
}

std::string string_at(const json& object, std::string_view key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::optional<time_point> time_at(const json& object, std::string_view key) {
  auto text = string_at(object, key);
  if (text.empty()) return std::nullopt;
  return parse_rfc3339(text);
}

std::string format_duration_short(std::chrono::seconds d) {
  long long s = d.count();
  if (s < 0) s = 0;
  auto two = [](long long big, const char* bu, long long small, const char* su) {
    std::string out = std::to_string(big) + bu;
    if (small > 0) out += std::to_string(small) + su;
    return out;
  };
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return two(s / 60, "m", s % 60, "s");
  if (s < 86400) return two(s / 3600, "h", (s % 3600) / 60, "m");
  return two(s / 86400, "d", (s % 86400) / 3600, "h");
}

std::string format_duration_long(std::chrono::seconds d) {
  long long s = d.count();
  if (s < 0) s = 0;
  auto two = [](long long big, std::string_view bu, long long small, std::string_view su) {
    std::string out = plural(big, bu);
    if (small > 0) out += " " + plural(small, su);
    return out;
  };
  if (s < 60) return plural(s, "second");
  if (s < 3600) return two(s / 60, "minute", s % 60, "second");
  if (s < 86400) return two(s / 3600, "hour", (s % 3600) / 60, "minute");
  return two(s / 86400, "day", (s % 86400) / 3600, "hour");
}

std::string format_timestamp(time_point t, time_point now) {
  auto stamp = date::format("%a %b %d %H:%M:%S +0000", std::chrono::floor<std::chrono::seconds>(t));
  auto delta = std::chrono::duration_cast<std::chrono::seconds>(now - t).count();
  const bool future = delta < 0;
  long long s = future ? -delta : delta;
  std::string amount;
  if (s < 1) return stamp + " (now)";
  if (s < 60) {
    amount = plural(s, "second");
  } else if (s < 3600) {
    amount = plural(s / 60, "minute");
  } else if (s < 86400) {
    amount = plural(s / 3600, "hour");
  } else {
    amount = plural(s / 86400, "day");
  }
  return stamp + " (" + amount + (future ? " from now)" : " ago)");
}

std::string format_table(const std::vector<std::vector<std::string>>& rows, std::size_t padding) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    // The last cell of a row is not a column: it is never padded.
    for (std::size_t c = 0; c + 1 < row.size(); ++c) {
      if (widths.size() <= c) widths.resize(c + 1, 0);
      widths[c] = std::max(widths[c], display_width(row[c]));
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line.append(widths[c] - display_width(row[c]) + padding, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += "\n";
  }
  return out;
}

std::string workflow_status(const json& wf) {
  const json& status = member(wf, "status");
  const json& spec = member(wf, "spec");
  auto phase = string_at(status, "phase");
  if (phase == "Running") {
    if (auto s = spec.find("suspend");
        spec.is_object() && s != spec.end() && s->is_boolean() && s->get<bool>()) {
      return "Running (Suspended)";
    }
    return phase;
  }
  if (phase == "Failed" && !string_at(spec, "shutdown").empty()) return "Failed (Terminated)";
  if (phase.empty() || phase == "Pending") {
    const json& meta = member(wf, "metadata");
    return string_at(meta, "creationTimestamp").empty() ? "Unknown" : "Pending";
  }
  return phase;
}

std::string render_workflow(const json& wf, const render_options& options) {
  if (!wf.is_object()) return "";
  const json& meta = member(wf, "metadata");
  const json& spec = member(wf, "spec");
  const json& status = member(wf, "status");
  std::string out;
  out += header_line("Name:", string_at(meta, "name"));
  out += header_line("Namespace:", string_at(meta, "namespace"));
  auto account = string_at(spec, "serviceAccountName");
  if (account.empty()) {
    account = spec.is_object() && spec.contains("workflowTemplateRef")
                  ? "unset"
                  : "unset (will run with the default ServiceAccount)";
  }
  out += header_line("ServiceAccount:", account);
  out += header_line("Status:", workflow_status(wf));
  if (auto message = string_at(status, "message"); !message.empty()) {
    out += header_line("Message:", message);
  }
  if (auto created = time_at(meta, "creationTimestamp")) {
    out += header_line("Created:", format_timestamp(*created, options.now));
  }
  auto started = time_at(status, "startedAt");
  auto finished = time_at(status, "finishedAt");
  if (started) out += header_line("Started:", format_timestamp(*started, options.now));
  if (finished) out += header_line("Finished:", format_timestamp(*finished, options.now));
  if (started) {
    out += header_line("Duration:", format_duration_long(seconds_between(
                                        *started, finished ? *finished : options.now)));
  }
  out += header_line("Progress:", string_at(status, "progress"));
  const json arguments =
      spec.is_object() ? spec.value("arguments", json::object()) : json::object();
  if (auto params = arguments.find("parameters"); arguments.is_object() &&
                                                  params != arguments.end() && params->is_array() &&
                                                  !params->empty()) {
    out += header_line("Parameters:", "");
    for (const auto& p : *params) {
      if (!p.is_object() || !p.contains("value")) continue;
      const auto& v = p["value"];
      out += header_line("  " + string_at(p, "name") + ":",
                         v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  const json outputs =
      status.is_object() ? status.value("outputs", json::object()) : json::object();
  if (auto params = outputs.find("parameters");
      outputs.is_object() && params != outputs.end() && params->is_array() && !params->empty()) {
    out += header_line("Output Parameters:", "");
    for (const auto& p : *params) {
      if (!p.is_object() || !p.contains("value")) continue;
      const auto& v = p["value"];
      out += header_line("  " + string_at(p, "name") + ":",
                         v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  auto tree = tree_renderer(wf, options).render();
  if (!tree.empty()) {
    out += "\n";
    out += tree;
  }
  return out;
}

std::string render_workflow_list(const json& items, const render_options& options,
                                 bool all_namespaces, bool wide) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  if (all_namespaces) header.push_back("NAMESPACE");
  for (const char* h : {"NAME", "STATUS", "AGE", "DURATION", "PRIORITY", "MESSAGE"})
    header.push_back(h);
  if (wide) {
    header.insert(header.end() - 1, "P/R/C");
    header.insert(header.end() - 1, "PARAMETERS");
  }
  rows.push_back(header);
  if (items.is_array()) {
    for (const auto& wf : items) {
      if (!wf.is_object()) continue;
      const json& meta = member(wf, "metadata");
      const json& spec = member(wf, "spec");
      const json& status = member(wf, "status");
      std::vector<std::string> row;
      if (all_namespaces) row.push_back(string_at(meta, "namespace"));
      row.push_back(string_at(meta, "name"));
      row.push_back(workflow_status(wf));
      row.push_back(age_since(time_at(meta, "creationTimestamp"), options.now));
      auto duration = short_duration_of(status, options.now);
      row.push_back(duration.empty() ? "0s" : duration);
      long long priority = 0;
      if (spec.is_object()) {
        if (auto p = spec.find("priority"); p != spec.end() && p->is_number_integer()) {
          priority = p->get<long long>();
        }
      }
      row.push_back(std::to_string(priority));
      if (wide) {
        int pending = 0, running = 0, completed = 0;
        if (auto nodes = status.find("nodes");
            status.is_object() && nodes != status.end() && nodes->is_object()) {
          for (const auto& [id, node] : nodes->items()) {
            if (string_at(node, "type") != "Pod") continue;
            auto phase = string_at(node, "phase");
            if (phase == "Pending" || phase.empty()) {
              ++pending;
            } else if (phase == "Running") {
              ++running;
            } else {
              ++completed;
            }
          }
        }
        row.push_back(std::to_string(pending) + "/" + std::to_string(running) + "/" +
                      std::to_string(completed));
        std::string params;
        const json arguments =
            spec.is_object() ? spec.value("arguments", json::object()) : json::object();
        if (auto ps = arguments.find("parameters");
            arguments.is_object() && ps != arguments.end() && ps->is_array()) {
          for (const auto& p : *ps) {
            if (!p.is_object() || !p.contains("value")) continue;
            if (!params.empty()) params += ",";
            const auto& v = p["value"];
            params +=
                string_at(p, "name") + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
          }
        }
        row.push_back(params);
      }
      row.push_back(string_at(status, "message"));
      rows.push_back(std::move(row));
    }
  }
  return format_table(rows, 3);
}

}  // namespace kairos::cli
