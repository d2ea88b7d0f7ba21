#include <algorithm>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "commands/cron_next.hpp"
#include "output.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;
constexpr std::string_view collection = "cron-workflows";

std::string schedules_of(const json& spec) {
  auto schedule = string_at(spec, "schedule");
  const auto& many = member(spec, "schedules");
  if (many.is_array()) {
    for (const auto& s : many) {
      if (!s.is_string()) continue;
      if (!schedule.empty()) schedule += ",";
      schedule += s.get<std::string>();
    }
  }
  return schedule;
}

bool suspended(const json& spec) {
  const auto& s = member(spec, "suspend");
  return s.is_boolean() && s.get<bool>();
}

std::string field(std::string_view label, std::string_view value) {
  std::string line(label);
  if (line.size() < 30) line.append(30 - line.size(), ' ');
  line += " ";
  line += value;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line + "\n";
}

std::string scalar_text(const json& v) {
  if (v.is_null()) return "";
  return v.is_string() ? v.get<std::string>() : v.dump();
}

int run_cron_list(context& ctx, bool all_namespaces) {
  auto res = ctx.make_client().list(collection, all_namespaces ? "" : ctx.globals.ns);
  if (!res) return fail(res.error());
  const auto now = std::chrono::system_clock::now();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header{"NAME",     "AGE",       "LAST RUN", "NEXT RUN",
                                  "SCHEDULE", "SUSPENDED", "ACTIVE"};
  if (all_namespaces) header.insert(header.begin(), "NAMESPACE");
  rows.push_back(header);
  const auto& items = member(*res, "items");
  if (items.is_array()) {
    for (const auto& cron : items) {
      const auto& meta = member(cron, "metadata");
      const auto& spec = member(cron, "spec");
      std::vector<std::string> row;
      if (all_namespaces) row.push_back(string_at(meta, "namespace"));
      row.push_back(string_at(meta, "name"));
      auto created = time_at(meta, "creationTimestamp");
      row.push_back(created ? format_duration_short(
                                  std::chrono::duration_cast<std::chrono::seconds>(now - *created))
                            : "");
      auto last = time_at(member(cron, "status"), "lastScheduledTime");
      row.push_back(last ? format_duration_short(
                               std::chrono::duration_cast<std::chrono::seconds>(now - *last))
                         : "N/A");
      const auto& status = member(cron, "status");
      auto next = time_at(status, "nextScheduledTime");
      row.push_back(next && !suspended(spec)
                        ? format_duration_short(std::chrono::duration_cast<std::chrono::seconds>(
                              std::max(*next - now, std::chrono::system_clock::duration::zero())))
                        : "N/A");
      row.push_back(schedules_of(spec));
      row.push_back(suspended(spec) ? "true" : "false");
      const auto& active = member(status, "active");
      row.push_back(std::to_string(active.is_array() ? active.size() : 0));
      rows.push_back(std::move(row));
    }
  }
  std::cout << format_table(rows, 3);
  return 0;
}

int run_cron_get(context& ctx, const std::string& name, const std::string& output) {
  auto res = ctx.make_client().get(collection, ctx.globals.ns, name);
  if (!res) return fail(res.error());
  if (!output.empty()) {
    auto text = render_object(*res, output);
    if (!text) return fail(text.error());
    std::cout << *text;
    return 0;
  }
  const auto now = std::chrono::system_clock::now();
  const auto& meta = member(*res, "metadata");
  const auto& spec = member(*res, "spec");
  const auto& status = member(*res, "status");
  std::string out;
  out += field("Name:", string_at(meta, "name"));
  out += field("Namespace:", string_at(meta, "namespace"));
  if (auto created = time_at(meta, "creationTimestamp"))
    out += field("Created:", format_timestamp(*created, now));
  out += field("Schedule:", schedules_of(spec));
  out += field("Suspended:", suspended(spec) ? "true" : "false");
  if (auto tz = string_at(spec, "timezone"); !tz.empty()) out += field("Timezone:", tz);
  if (auto deadline = scalar_text(member(spec, "startingDeadlineSeconds")); !deadline.empty()) {
    out += field("StartingDeadlineSeconds:", deadline);
  }
  if (auto policy = string_at(spec, "concurrencyPolicy"); !policy.empty()) {
    out += field("ConcurrencyPolicy:", policy);
  }
  if (auto last = time_at(status, "lastScheduledTime")) {
    out += field("LastScheduledTime:", format_timestamp(*last, now));
  }
  if (auto next = time_at(status, "nextScheduledTime")) {
    out += field("NextScheduledTime:", format_timestamp(*next, now));
  }
  const auto& active = member(status, "active");
  if (active.is_array() && !active.empty()) {
    std::string names;
    for (const auto& a : active) {
      if (!names.empty()) names += ", ";
      names += a.is_string() ? a.get<std::string>() : string_at(a, "name");
    }
    out += field("Active Workflows:", names);
  }
  if (auto phase = string_at(status, "phase"); !phase.empty()) out += field("Phase:", phase);
  for (const char* count : {"succeeded", "failed"}) {
    if (const auto& n = member(status, count); n.is_number()) {
      std::string label = count;
      label[0] = static_cast<char>(label[0] - 'a' + 'A');
      out += field(label + ":", n.dump());
    }
  }
  if (const auto& conditions = member(status, "conditions"); conditions.is_array()) {
    for (const auto& c : conditions)
      out += field("Condition:", string_at(c, "type") + ": " + string_at(c, "message"));
  }
  std::cout << out;
  return 0;
}

int run_cron_action(context& ctx, const std::vector<std::string>& names, std::string_view action,
                    std::string_view past) {
  auto c = ctx.make_client();
  int rc = 0;
  for (const auto& name : names) {
    auto res = action == "delete" ? [&]() -> result<json> {
      auto r = c.remove(collection, ctx.globals.ns, name);
      if (!r) return r.error();
      return json();
    }()
        : c.act(collection, ctx.globals.ns, name, action);
    if (!res) {
      rc = fail(res.error());
      continue;
    }
    std::cout << "CronWorkflow '" << name << "' " << past << "\n";
  }
  return rc;
}

}  // namespace

void add_cron_command(CLI::App& app, context& ctx) {
  auto* cron = app.add_subcommand("cron", "Manage CronWorkflows");
  cron->require_subcommand(1);
  add_cron_next_command(*cron, ctx);

  auto all = std::make_shared<bool>(false);
  auto* list = cron->add_subcommand("list", "List CronWorkflows");
  list->add_flag("-A,--all-namespaces", *all, "every namespace");
  list->callback([&ctx, all] { ctx.action = [&ctx, all] { return run_cron_list(ctx, *all); }; });

  auto name = std::make_shared<std::string>();
  auto output = std::make_shared<std::string>();
  auto* get = cron->add_subcommand("get", "Show a CronWorkflow");
  get->add_option("name", *name, "CronWorkflow name")->required();
  get->add_option("-o,--output", *output, "json or yaml");
  get->callback([&ctx, name, output] {
    ctx.action = [&ctx, name, output] { return run_cron_get(ctx, *name, *output); };
  });

  struct action {
    const char* name;
    const char* past;
    const char* help;
  };
  static constexpr action actions[] = {
      {"suspend", "suspended", "Stop scheduling a CronWorkflow"},
      {"resume", "resumed", "Resume scheduling a CronWorkflow"},
      {"delete", "deleted", "Delete CronWorkflows"},
  };
  for (const auto& a : actions) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* cmd = cron->add_subcommand(a.name, a.help);
    cmd->add_option("names", *names, "CronWorkflow names")->required();
    cmd->callback([&ctx, names, &a] {
      ctx.action = [&ctx, names, &a] { return run_cron_action(ctx, *names, a.name, a.past); };
    });
  }
}

}  // namespace kairos::cli
