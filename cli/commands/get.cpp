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

struct get_options {
  std::string name;
  std::string output;
  bool no_utf8 = false;
};

int run_get(context& ctx, const get_options& opts) {
  auto c = ctx.make_client();
  auto name = resolve_workflow_name(c, ctx.globals.ns, opts.name);
  if (!name) return fail(name.error());
  auto wf = c.get("workflows", ctx.globals.ns, *name);
  if (!wf) return fail(wf.error());
  return print_workflow(*wf, opts.output, opts.no_utf8);
}

}  // namespace

void add_get_command(CLI::App& app, context& ctx) {
  auto opts = std::make_shared<get_options>();
  auto* cmd = app.add_subcommand("get", "Show a workflow and its node tree");
  cmd->add_option("name", opts->name, "workflow name or @latest")->required();
  cmd->add_option("-o,--output", opts->output, "json or yaml");
  cmd->add_flag("--no-utf8", opts->no_utf8, "ASCII instead of icons and box drawing");
  cmd->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return run_get(ctx, *opts); }; });
}

}  // namespace kairos::cli
