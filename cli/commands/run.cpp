#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

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
  std::string parameter_file;
  std::string output;
  std::string data_dir;
  bool no_utf8 = false;
};

int run_run(const run_options& opts) {
  local_run_settings settings;
  settings.data_dir = opts.data_dir;
  auto engine = std::make_unique<local_run>(settings);  // opens while the manifest is read
  auto loaded = spec::load_file(opts.file);
  if (!loaded.ok()) return print_diagnostics(loaded.diagnostics);
  spec::resource* workflow = nullptr;
  std::vector<const spec::resource*> templates;
  for (auto& r : loaded.resources) {
    if (r.kind == spec::kind::workflow_template || r.kind == spec::kind::cluster_workflow_template)
      templates.push_back(&r);
    if (r.kind != spec::kind::workflow) continue;
    if (workflow != nullptr) return fail(opts.file + ": kairos run takes exactly one Workflow");
    workflow = &r;
  }
  if (workflow == nullptr) return fail(opts.file + ": no Workflow to run");
  auto params = collect_parameters(opts.parameters,
                                   opts.parameter_file.empty()
                                       ? std::nullopt
                                       : std::optional<std::filesystem::path>(opts.parameter_file));
  if (!params) return fail(params.error());
  if (auto submitted = engine->submit(std::move(*workflow), templates, *params); !submitted)
    return fail(submitted.error());
  // The engine keeps what it needs; the manifest's trees are freed while
  // the workflow runs rather than after it.
  workflow = nullptr;
  templates.clear();
  loaded = {};
  auto finished = engine->wait();
  if (!finished) return fail(finished.error());
  // The store's last checkpoint and the engine's threads wind down while
  // the result is printed; the process ends after both.
  std::jthread closing([e = std::move(engine)]() mutable { e.reset(); });
  if (opts.output == "json" || opts.output == "yaml") {
    auto text = render_object(*finished, opts.output);
    if (!text) return fail(text.error());
    std::cout << *text;
  } else {
    render_options ro;
    ro.utf8 = !opts.no_utf8;
    std::cout << render_workflow(*finished, ro);
  }
  return string_at(member(*finished, "status"), "phase") == "Succeeded" ? 0 : 1;
}

}  // namespace

void add_run_command(CLI::App& app, context& ctx) {
  auto opts = std::make_shared<run_options>();
  auto* cmd = app.add_subcommand("run",
                                 "Run a Workflow in-process with the engine (WorkflowTemplates in "
                                 "the file are available to it)");
  cmd->add_option("file", opts->file, "manifest file")->required();
  cmd->add_option("-p,--parameter", opts->parameters, "input parameter name=value (repeatable)");
  cmd->add_option("--parameter-file", opts->parameter_file, "YAML or JSON map of parameters");
  cmd->add_option("-o,--output", opts->output, "json, yaml or wide (the tree)");
  cmd->add_option("--data-dir", opts->data_dir,
                  "keep the store, logs and artifacts here (default: a temporary directory)");
  cmd->add_flag("--no-utf8", opts->no_utf8, "ASCII instead of icons");
  cmd->callback([&ctx, opts] { ctx.action = [opts] { return run_run(*opts); }; });
}

}  // namespace kairos::cli
