#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"
#include "output.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

struct template_options {
  bool cluster = false;
  std::string output;
  std::vector<std::string> args;
  bool all_namespaces = false;
};

std::string_view collection_of(const template_options& o) {
  return o.cluster ? "cluster-workflow-templates" : "workflow-templates";
}
std::string_view kind_of(const template_options& o) {
  return o.cluster ? "ClusterWorkflowTemplate" : "WorkflowTemplate";
}

std::string summary(const json& t) {
  const auto& meta = member(t, "metadata");
  auto line = [](std::string_view label, const std::string& value) {
    std::string out(label);
    out.append(out.size() < 20 ? 20 - out.size() : 0, ' ');
    out += " " + value;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line("Name:", string_at(meta, "name"));
  if (auto ns = string_at(meta, "namespace"); !ns.empty()) out += line("Namespace:", ns);
  if (auto created = time_at(meta, "creationTimestamp")) {
    out += line("Created:", format_timestamp(*created, std::chrono::system_clock::now()));
  }
  return out;
}

int run_create(context& ctx, const template_options& o) {
  std::vector<spec::resource> resources;
  std::vector<spec::diagnostic> diagnostics;
  for (const auto& file : o.args) {
    auto loaded = spec::load_file(file);
    diagnostics.insert(diagnostics.end(), loaded.diagnostics.begin(), loaded.diagnostics.end());
    for (auto& r : loaded.resources) resources.push_back(std::move(r));
  }
  if (!diagnostics.empty()) {
    for (const auto& d : diagnostics) std::cerr << d.to_string() << "\n";
    return fail(std::to_string(diagnostics.size()) + " problem(s) found");
  }
  const auto want =
      o.cluster ? spec::kind::cluster_workflow_template : spec::kind::workflow_template;
  auto c = ctx.make_client();
  int rc = 0;
  for (auto& r : resources) {
    if (r.kind != want) {
      rc = fail(r.file + ": " + std::string(spec::kind_name(r.kind)) + " " + r.metadata.name +
                " is not a " + std::string(kind_of(o)));
      continue;
    }
    json manifest = r.manifest;
    std::string ns;
    if (!o.cluster) {
      ns = string_at(member(manifest, "metadata"), "namespace");
      if (ns.empty() || ctx.namespace_given()) {
        ns = ctx.globals.ns;
        manifest["metadata"]["namespace"] = ns;
      }
    }
    auto created = c.create(collection_of(o), ns, manifest);
    if (!created) {
      rc = fail(created.error());
      continue;
    }
    std::cout << summary(*created);
  }
  return rc;
}

int run_list(context& ctx, const template_options& o) {
  auto res = ctx.make_client().list(collection_of(o), o.all_namespaces ? "" : ctx.globals.ns);
  if (!res) return fail(res.error());
  const auto& items = member(*res, "items");
  if (o.output == "name") {
    if (items.is_array()) {
      for (const auto& t : items) std::cout << string_at(member(t, "metadata"), "name") << "\n";
    }
    return 0;
  }
  if (!o.output.empty()) {
    auto text = render_object(items.is_array() ? items : json::array(), o.output);
    if (!text) return fail(text.error());
    std::cout << *text;
    return 0;
  }
  const bool show_ns = o.all_namespaces && !o.cluster;
  std::vector<std::vector<std::string>> rows;
  rows.push_back(show_ns ? std::vector<std::string>{"NAMESPACE", "NAME"}
                         : std::vector<std::string>{"NAME"});
  if (items.is_array()) {
    for (const auto& t : items) {
      const auto& meta = member(t, "metadata");
      if (show_ns) {
        rows.push_back({string_at(meta, "namespace"), string_at(meta, "name")});
      } else {
        rows.push_back({string_at(meta, "name")});
      }
    }
  }
  std::cout << format_table(rows, 3);
  return 0;
}

int run_get(context& ctx, const template_options& o) {
  auto c = ctx.make_client();
  for (const auto& name : o.args) {
    auto res = c.get(collection_of(o), ctx.globals.ns, name);
    if (!res) return fail(res.error());
    if (!o.output.empty()) {
      auto text = render_object(*res, o.output);
      if (!text) return fail(text.error());
      std::cout << *text;
    } else {
      std::cout << summary(*res);
    }
  }
  return 0;
}

int run_delete(context& ctx, const template_options& o) {
  auto c = ctx.make_client();
  int rc = 0;
  for (const auto& name : o.args) {
    if (auto res = c.remove(collection_of(o), ctx.globals.ns, name); !res) {
      rc = fail(res.error());
      continue;
    }
    std::cout << kind_of(o) << " '" << name << "' deleted\n";
  }
  return rc;
}

}  // namespace

void add_template_command(CLI::App& app, context& ctx) {
  auto* tmpl = app.add_subcommand("template", "Manage WorkflowTemplates");
  tmpl->require_subcommand(1);
  auto add = [&](const char* name, const char* help, const char* arg_help, bool arg_required,
                 bool with_output, int (*fn)(context&, const template_options&)) {
    auto o = std::make_shared<template_options>();
    auto* cmd = tmpl->add_subcommand(name, help);
    cmd->add_flag("--cluster", o->cluster, "ClusterWorkflowTemplates instead");
    if (arg_help != nullptr) {
      auto* a = cmd->add_option("args", o->args, arg_help);
      if (arg_required) a->required();
    }
    if (with_output) cmd->add_option("-o,--output", o->output, "name, json or yaml");
    cmd->callback([&ctx, o, fn] { ctx.action = [&ctx, o, fn] { return fn(ctx, *o); }; });
    return std::make_pair(cmd, o);
  };
  add("create", "Create WorkflowTemplates from manifest files", "manifest files", true, false,
      run_create);
  auto [list, list_opts] = add("list", "List WorkflowTemplates", nullptr, false, true, run_list);
  list->add_flag("-A,--all-namespaces", list_opts->all_namespaces, "every namespace");
  add("get", "Show WorkflowTemplates", "names", true, true, run_get);
  add("delete", "Delete WorkflowTemplates", "names", true, false, run_delete);
}

}  // namespace kairos::cli
