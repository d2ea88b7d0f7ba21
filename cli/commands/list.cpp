#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "output.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

struct list_options {
  std::string output;
  bool all_namespaces = false;
};

int run_list(context& ctx, const list_options& opts) {
  auto c = ctx.make_client();
  auto res = c.list("workflows", opts.all_namespaces ? "" : ctx.globals.ns);
  if (!res) return fail(res.error());
  const auto& items = member(*res, "items");
  if (opts.output == "name") {
    if (items.is_array()) {
      for (const auto& wf : items) std::cout << string_at(member(wf, "metadata"), "name") << "\n";
    }
    return 0;
  }
  if (opts.output == "json" || opts.output == "yaml") {
    auto text = render_object(items.is_array() ? items : json::array(), opts.output);
    if (!text) return fail(text.error());
    std::cout << *text;
    return 0;
  }
  if (!opts.output.empty() && opts.output != "wide") {
    return fail("unknown output format \"" + opts.output + "\" (want name, json, yaml or wide)");
  }
  const bool wide = opts.output == "wide";
  if (!wide || !items.is_array()) {
    std::cout << render_workflow_list(items, text_options(false), opts.all_namespaces, wide);
    return 0;
  }
  // The list leaves out each workflow's nodes (they can run to thousands);
  // the wide view counts pods by phase, so it reads each workflow whole. One
  // deleted since the list keeps its listed form.
  json full = json::array();
  for (const auto& wf : items) {
    const json meta = member(wf, "metadata");
    auto got = c.get("workflows", string_at(meta, "namespace"), string_at(meta, "name"));
    full.push_back(got ? std::move(*got) : wf);
  }
  std::cout << render_workflow_list(full, text_options(false), opts.all_namespaces, true);
  return 0;
}

}  // namespace

void add_list_command(CLI::App& app, context& ctx) {
  auto opts = std::make_shared<list_options>();
  auto* cmd = app.add_subcommand("list", "List workflows");
  cmd->add_option("-o,--output", opts->output, "name, json, yaml or wide");
  cmd->add_flag("-A,--all-namespaces", opts->all_namespaces, "workflows of every namespace");
  cmd->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return run_list(ctx, *opts); }; });
}

}  // namespace kairos::cli
