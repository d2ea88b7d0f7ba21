#include <cctype>
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"
#include "output.hpp"
#include "parameters.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

struct submit_options {
  std::string file;
  std::vector<std::string> parameters;
  std::string parameter_file;
  bool wait = false;
  bool watch = false;
  std::string output;
  bool no_utf8 = false;
  std::string from;  // kind/name of a template or cron workflow to submit from
};

// `--from workflowtemplate/NAME` as Argo spells it: kind names in lower case,
// with Argo's short forms.
result<std::pair<std::string, std::string>> parse_from(std::string_view from) {
  auto slash = from.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == from.size()) {
    return make_error(errc::invalid_argument,
                      "--from wants KIND/NAME, e.g. workflowtemplate/my-template");
  }
  std::string kind(from.substr(0, slash));
  for (auto& ch : kind) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::string name(from.substr(slash + 1));
  if (kind == "workflowtemplate" || kind == "wftmpl")
    return std::pair{std::string("WorkflowTemplate"), name};
  if (kind == "clusterworkflowtemplate" || kind == "cwftmpl") {
    return std::pair{std::string("ClusterWorkflowTemplate"), name};
  }
  if (kind == "cronworkflow" || kind == "cronwf")
    return std::pair{std::string("CronWorkflow"), name};
  return make_error(errc::invalid_argument,
                    "--from: unknown kind \"" + kind +
                        "\" (want workflowtemplate, clusterworkflowtemplate or cronworkflow)");
}

result<std::vector<json>> workflows_in(const std::string& file) {
  auto loaded = spec::load_file(file);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
    return make_error(errc::invalid_argument, std::to_string(loaded.diagnostics.size()) +
                                                  " problem(s) found; nothing submitted");
  }
  std::vector<json> workflows;
  for (const auto& r : loaded.resources) {
    if (r.kind != spec::kind::workflow) {
      return make_error(errc::invalid_argument, file + ": " + std::string(spec::kind_name(r.kind)) +
                                                    " " + r.metadata.name +
                                                    " is not a Workflow (use kairos apply)");
    }
    workflows.push_back(r.manifest);
  }
  if (workflows.empty())
    return make_error(errc::invalid_argument, file + ": no Workflow to submit");
  return workflows;
}

int run_submit(context& ctx, const submit_options& opts) {
  if (opts.file.empty() == opts.from.empty()) {
    return fail("give either a manifest FILE or --from KIND/NAME");
  }
  auto params = collect_parameters(opts.parameters,
                                   opts.parameter_file.empty()
                                       ? std::nullopt
                                       : std::optional<std::filesystem::path>(opts.parameter_file));
  if (!params) return fail(params.error());
  auto c = ctx.make_client();
  std::vector<std::pair<std::string, std::string>> created;  // namespace, name
  if (!opts.from.empty()) {
    auto from = parse_from(opts.from);
    if (!from) return fail(from.error());
    json request = {{"resourceKind", from->first},
                    {"resourceName", from->second},
                    {"submitOptions", {{"parameters", json::array()}}}};
    for (const auto& [name, value] : *params) {
      request["submitOptions"]["parameters"].push_back(name + "=" + value);
    }
    auto res = c.request(
        "POST", api::client::collection_path("workflows", ctx.globals.ns) + "/submit", &request);
    if (!res) return fail(res.error());
    created.emplace_back(ctx.globals.ns, string_at(member(*res, "metadata"), "name"));
    if (int rc = print_workflow(*res, opts.output, opts.no_utf8); rc != 0) return rc;
  } else {
    auto workflows = workflows_in(opts.file);
    if (!workflows) return fail(workflows.error());
    for (auto& wf : *workflows) {
      apply_parameters(wf, *params);
      std::string ns = string_at(member(wf, "metadata"), "namespace");
      if (ns.empty() || ctx.namespace_given()) {
        ns = ctx.globals.ns;
        wf["metadata"]["namespace"] = ns;
      }
      auto res = c.create("workflows", ns, wf);
      if (!res) return fail(res.error());
      created.emplace_back(ns, string_at(member(*res, "metadata"), "name"));
      if (int rc = print_workflow(*res, opts.output, opts.no_utf8); rc != 0) return rc;
    }
  }
  if (!opts.wait && !opts.watch) return 0;
  int rc = 0;
  for (const auto& [ns, name] : created) {
    std::function<void(const json&)> show;
    if (opts.watch) {
      show = [&](const json& wf) {
        clear_screen();
        std::cout << render_workflow(wf, text_options(opts.no_utf8)) << std::flush;
      };
    }
    auto done = wait_for_workflow(c, ns, name, show);
    if (done && !opts.watch)
      std::cout << name << " " << string_at(member(*done, "status"), "phase") << "\n";
    if (finish_wait(done) != 0) rc = 1;
  }
  return rc;
}

}  // namespace

void add_submit_command(CLI::App& app, context& ctx) {
  auto opts = std::make_shared<submit_options>();
  auto* cmd = app.add_subcommand("submit", "Submit the Workflows of a manifest file");
  cmd->add_option("file", opts->file, "manifest file (YAML or JSON)");
  cmd->add_option("--from", opts->from,
                  "submit from workflowtemplate/NAME, clusterworkflowtemplate/NAME or "
                  "cronworkflow/NAME instead of a file");
  cmd->add_option("-p,--parameter", opts->parameters, "input parameter name=value (repeatable)");
  cmd->add_option("-f,--parameter-file", opts->parameter_file, "YAML or JSON map of parameters");
  auto* wait = cmd->add_flag("--wait", opts->wait, "wait for the workflow to finish");
  cmd->add_flag("--watch", opts->watch, "show the workflow's progress until it finishes")
      ->excludes(wait);
  cmd->add_option("-o,--output", opts->output, "name, json or yaml");
  cmd->add_flag("--no-utf8", opts->no_utf8, "ASCII instead of icons");
  cmd->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return run_submit(ctx, *opts); }; });
}

}  // namespace kairos::cli
