#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

int run_delete(context& ctx, const std::vector<std::string>& names, bool all) {
  auto c = ctx.make_client();
  std::vector<std::string> targets;
  if (all) {
    if (!names.empty()) return fail("give workflow names or --all, not both");
    auto list = c.list("workflows", ctx.globals.ns);
    if (!list) return fail(list.error());
    const auto& items = member(*list, "items");
    if (items.is_array()) {
      for (const auto& wf : items) targets.push_back(string_at(member(wf, "metadata"), "name"));
    }
  } else {
    if (names.empty()) return fail("give at least one workflow name, or --all");
    for (const auto& given : names) {
      auto name = resolve_workflow_name(c, ctx.globals.ns, given);
      if (!name) return fail(name.error());
      targets.push_back(*name);
    }
  }
  int rc = 0;
  for (const auto& name : targets) {
    if (auto res = c.remove("workflows", ctx.globals.ns, name); !res) {
      rc = fail(res.error());
      continue;
    }
    std::cout << "Workflow '" << name << "' deleted\n";
  }
  return rc;
}

}  // namespace

void add_delete_command(CLI::App& app, context& ctx) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto all = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("delete", "Delete workflows");
  cmd->add_option("names", *names, "workflow names or @latest");
  cmd->add_flag("--all", *all, "delete every workflow of the namespace");
  cmd->callback([&ctx, names, all] {
    ctx.action = [&ctx, names, all] { return run_delete(ctx, *names, *all); };
  });
}

}  // namespace kairos::cli
