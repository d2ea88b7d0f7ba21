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

int run_wait(context& ctx, const std::vector<std::string>& names) {
  auto c = ctx.make_client();
  int rc = 0;
  for (const auto& given : names) {
    auto name = resolve_workflow_name(c, ctx.globals.ns, given);
    if (!name) return fail(name.error());
    auto done = wait_for_workflow(c, ctx.globals.ns, *name);
    if (done) std::cout << *name << " " << string_at(member(*done, "status"), "phase") << "\n";
    if (finish_wait(done) != 0) rc = 1;
  }
  return rc;
}

int run_watch(context& ctx, const std::string& given, bool no_utf8) {
  auto c = ctx.make_client();
  auto name = resolve_workflow_name(c, ctx.globals.ns, given);
  if (!name) return fail(name.error());
  auto done = wait_for_workflow(c, ctx.globals.ns, *name, [&](const json& wf) {
    clear_screen();
    std::cout << render_workflow(wf, text_options(no_utf8)) << std::flush;
  });
  return finish_wait(done);
}

}  // namespace

void add_wait_command(CLI::App& app, context& ctx) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("wait", "Wait for workflows to finish");
  cmd->add_option("names", *names, "workflow names or @latest")->required();
  cmd->callback([&ctx, names] { ctx.action = [&ctx, names] { return run_wait(ctx, *names); }; });
}

void add_watch_command(CLI::App& app, context& ctx) {
  auto name = std::make_shared<std::string>();
  auto no_utf8 = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("watch", "Show a workflow's progress until it finishes");
  cmd->add_option("name", *name, "workflow name or @latest")->required();
  cmd->add_flag("--no-utf8", *no_utf8, "ASCII instead of icons and box drawing");
  cmd->callback([&ctx, name, no_utf8] {
    ctx.action = [&ctx, name, no_utf8] { return run_watch(ctx, *name, *no_utf8); };
  });
}

}  // namespace kairos::cli
