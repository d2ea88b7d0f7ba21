#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"
#include "local_runner.hpp"
#include "output.hpp"
#include "parameters.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

struct run_options {
  std::string file;
  std::vector<std::string> parameters;
  std::string output;
};

int run_run(const run_options& opts) {
  auto loaded = spec::load_file(opts.file);
  if (!loaded.ok()) return print_diagnostics(loaded.diagnostics);
  const spec::resource* workflow = nullptr;
  for (const auto& r : loaded.resources) {
    if (r.kind != spec::kind::workflow) continue;
    if (workflow != nullptr) return fail(opts.file + ": kairos run takes exactly one Workflow");
    workflow = &r;
  }
  if (workflow == nullptr) return fail(opts.file + ": no Workflow to run");
  auto params = collect_parameters(opts.parameters, std::nullopt);
  if (!params) return fail(params.error());
  auto finished = run_workflow_locally(*workflow, *params);
  if (!finished) return fail(finished.error());
  if (opts.output == "json" || opts.output == "yaml") {
    auto text = render_object(*finished, opts.output);
    if (!text) return fail(text.error());
    std::cout << *text;
  } else {
    std::cout << render_workflow(*finished, render_options{});
  }
  return string_at(member(*finished, "status"), "phase") == "Succeeded" ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app, context& ctx) {
  auto opts = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand("run", "Run a Workflow locally without a server");
  cmd->add_option("file", opts->file, "manifest file")->required();
  cmd->add_option("-p,--parameter", opts->parameters, "input parameter name=value (repeatable)");
  cmd->add_option("-o,--output", opts->output, "json or yaml");
  cmd->callback([&ctx, opts] { ctx.action = [opts] { return run_run(*opts); }; });
}

}  // namespace kairos::cli
