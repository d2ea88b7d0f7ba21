#include <cctype>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int run_apply(context& ctx, const std::vector<std::string>& files) {
  // Everything is checked before anything is sent, so a bad file applies nothing.
  std::vector<spec::resource> resources;
  std::vector<spec::diagnostic> diagnostics;
  for (const auto& file : files) {
    auto loaded = spec::load_file(file);
    diagnostics.insert(diagnostics.end(), loaded.diagnostics.begin(), loaded.diagnostics.end());
    for (auto& r : loaded.resources) resources.push_back(std::move(r));
  }
  if (!diagnostics.empty()) {
    for (const auto& d : diagnostics) std::cerr << d.to_string() << "\n";
    return fail(std::to_string(diagnostics.size()) + " problem(s) found; nothing applied");
  }
  auto c = ctx.make_client();
  int rc = 0;
  for (auto& r : resources) {
    json manifest = r.manifest;
    const bool namespaced = spec::is_namespaced(r.kind);
    std::string ns;
    if (namespaced) {
      ns = string_at(member(manifest, "metadata"), "namespace");
      if (ns.empty() || ctx.namespace_given()) {
        ns = ctx.globals.ns;
        manifest["metadata"]["namespace"] = ns;
      }
    }
    const auto collection = spec::kind_collection(r.kind);
    const auto label = lower(spec::kind_name(r.kind)) + ".argoproj.io/";
    if (r.kind == spec::kind::workflow) {
      auto created = c.create(collection, ns, manifest);
      if (!created) {
        rc = fail(created.error());
        continue;
      }
      std::cout << label << string_at(member(*created, "metadata"), "name") << " created\n";
      continue;
    }
    const auto& name = r.metadata.name;
    auto existing = c.get(collection, ns, name);
    if (existing) {
      // Replace what is stored; the stored resourceVersion makes a
      // concurrent change a conflict rather than a silent overwrite.
      manifest["metadata"]["resourceVersion"] =
          member(member(*existing, "metadata"), "resourceVersion");
      auto updated = c.update(collection, ns, name, manifest);
      if (!updated) {
        rc = fail(updated.error());
        continue;
      }
      std::cout << label << name << " configured\n";
    } else if (existing.error().code == errc::not_found) {
      auto created = c.create(collection, ns, manifest);
      if (!created) {
        rc = fail(created.error());
        continue;
      }
      std::cout << label << name << " created\n";
    } else {
      return fail(existing.error());
    }
  }
  return rc;
}

}  // namespace

void add_apply_command(CLI::App& app, context& ctx) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("apply", "Create or update the resources of manifest files");
  cmd->add_option("-f,--filename", *files, "manifest files")->required();
  cmd->callback([&ctx, files] { ctx.action = [&ctx, files] { return run_apply(ctx, *files); }; });
}

}  // namespace kairos::cli
