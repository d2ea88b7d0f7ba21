#include <iostream>

#include "commands/commands.hpp"
#include "kairos/core/version.hpp"
#include "printer.hpp"

namespace kairos::cli {

void add_version_command(CLI::App& app, context& ctx) {
  auto* cmd =
      app.add_subcommand("version", "Print the client's version, and the server's if reachable");
  cmd->callback([&ctx] {
    ctx.action = [&ctx] {
      std::cout << "kairos: " << kairos::version << "\n";
      auto server = ctx.make_client().version();
      if (server) {
        auto v = member(*server, "version");
        std::cout << "server: " << (v.is_string() ? v.get<std::string>() : v.dump()) << " ("
                  << ctx.globals.server << ")\n";
      } else {
        std::cout << "server: not reachable (" << server.error().message << ")\n";
      }
      return 0;
    };
  });
}

}  // namespace kairos::cli
