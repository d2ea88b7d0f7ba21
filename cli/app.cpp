#include <iostream>

#include "commands/commands.hpp"
#include "context.hpp"
#include "kairos/core/logging.hpp"
#include "kairos/core/version.hpp"

namespace kairos::cli {
namespace {

constexpr command_entry commands[] = {
    {"serve", add_serve_command},     {"submit", add_submit_command},
    {"list", add_list_command},       {"get", add_get_command},
    {"logs", add_logs_command},       {"wait", add_wait_command},
    {"watch", add_watch_command},     {"delete", add_delete_command},
    {"actions", add_action_commands}, {"apply", add_apply_command},
    {"cron", add_cron_command},       {"template", add_template_command},
    {"lint", add_lint_command},       {"version", add_version_command},
    {"run", add_run_command},         {"events", add_events_command},
    {"dev", add_dev_command},
};

}  // namespace

const CLI::IsMember log_levels({"trace", "debug", "info", "warn", "error", "critical", "off"});

std::span<const command_entry> command_table() {
  return commands;
}

api::client context::make_client() const {
  api::client_settings s;
  s.server = globals.server;
  s.token = globals.token;
  return api::client(std::move(s));
}

int fail(std::string_view message) {
  std::cerr << "kairos: " << message << "\n";
  return 1;
}

int fail(const error& e) {
  if (e.code == errc::unauthenticated) {
    return fail(e.message + " (pass --token or set KAIROS_AUTH_TOKEN)");
  }
  return fail(e.message);
}

int run(int argc, char** argv) {
  CLI::App app{"kairos: Argo Events and Argo Workflows manifests, one binary, no cluster"};
  app.name("kairos");
  app.require_subcommand(1);
  app.fallthrough(true);
  app.set_version_flag("--version", std::string(kairos::version));
  context ctx;
  app.add_option("--server", ctx.globals.server, "URL of the kairos server")
      ->envname("KAIROS_SERVER")
      ->capture_default_str();
  app.add_option("--token", ctx.globals.token, "bearer token for the server")
      ->envname("KAIROS_AUTH_TOKEN");
  ctx.namespace_option =
      app.add_option("-n,--namespace", ctx.globals.ns, "namespace")->capture_default_str();
  app.add_option("--log-level", ctx.globals.log_level,
                 "trace, debug, info, warn, error, critical or off (default: info for serve, "
                 "warn otherwise)")
      ->check(log_levels);
  for (const auto& entry : command_table()) entry.add(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return 0;
  } catch (const CLI::ParseError& e) {
    // CLI11's own exit codes are not ours: every usage error is a 1.
    std::cerr << "kairos: " << e.what() << "\nRun with --help for more information.\n";
    return 1;
  }
  if (!ctx.action) return fail("no command given (see kairos --help)");
  if (!ctx.own_logging) {
    setup_logging(ctx.globals.log_level.empty() ? "warn" : ctx.globals.log_level);
  }
  try {
    return ctx.action();
  } catch (const std::exception& e) {
    return fail(std::string("unexpected error: ") + e.what());
  }
}

}  // namespace kairos::cli
