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

struct action_spec {
  const char* name;
  const char* past;
  const char* help;
};

constexpr action_spec actions[] = {
    {"retry", "retried", "Retry a failed workflow from its failed nodes"},
    {"resubmit", "resubmitted", "Submit a workflow again as a new workflow"},
    {"suspend", "suspended", "Suspend a running workflow"},
    {"resume", "resumed", "Resume a suspended workflow"},
    {"stop", "stopped", "Stop a workflow, running its exit handlers"},
    {"terminate", "terminated", "Terminate a workflow without running exit handlers"},
};

int run_action(context& ctx, const action_spec& action, const std::vector<std::string>& names) {
  auto c = ctx.make_client();
  int rc = 0;
  for (const auto& given : names) {
    auto name = resolve_workflow_name(c, ctx.globals.ns, given);
    if (!name) return fail(name.error());
    auto res = c.act("workflows", ctx.globals.ns, *name, action.name);
    if (!res) {
      rc = fail(res.error());
      continue;
    }
    auto result_name = string_at(member(*res, "metadata"), "name");
    if (std::string_view(action.name) == "resubmit" && !result_name.empty() &&
        result_name != *name) {
      std::cout << "workflow " << *name << " resubmitted as " << result_name << "\n";
    } else {
      std::cout << "workflow " << *name << " " << action.past << "\n";
    }
  }
  return rc;
}

}  // namespace

void add_action_commands(CLI::App& app, context& ctx) {
  for (const auto& action : actions) {
    auto names = std::make_shared<std::vector<std::string>>();
    auto* cmd = app.add_subcommand(action.name, action.help);
    cmd->add_option("names", *names, "workflow names or @latest")->required();
    cmd->callback([&ctx, names, &action] {
      ctx.action = [&ctx, names, &action] { return run_action(ctx, action, *names); };
    });
  }
}

}  // namespace kairos::cli
