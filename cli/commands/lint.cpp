#include <filesystem>
#include <iostream>
#include <memory>

#include "commands/commands.hpp"
#include "kairos/spec/loader.hpp"

namespace kairos::cli {
namespace {

int run_lint(const std::vector<std::string>& paths) {
  std::size_t resources = 0;
  std::size_t problems = 0;
  for (const auto& path : paths) {
    std::error_code ec;
    auto loaded = std::filesystem::is_directory(path, ec) ? spec::load_directory(path)
                                                          : spec::load_file(path);
    resources += loaded.resources.size();
    problems += loaded.diagnostics.size();
    for (const auto& d : loaded.diagnostics) std::cout << d.to_string() << "\n";
  }
  if (problems > 0) return fail(std::to_string(problems) + " problem(s) found");
  std::cout << "no problems found in " << resources << " resource" << (resources == 1 ? "" : "s")
            << "\n";
  return 0;
}

}  // namespace

void add_lint_command(CLI::App& app, context& ctx) {
  auto paths = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("lint", "Check manifests offline (directories recursively)");
  cmd->add_option("paths", *paths, "files or directories")->required();
  cmd->callback([&ctx, paths] { ctx.action = [paths] { return run_lint(*paths); }; });
}

}  // namespace kairos::cli
