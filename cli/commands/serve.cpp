#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <spdlog/spdlog.h>

#include "commands/commands.hpp"
#include "data_dir_lock.hpp"
#include "kairos/api/server.hpp"
#include "kairos/core/clock.hpp"
#include "kairos/core/logging.hpp"
#include "kairos/core/version.hpp"
#include "kairos/spec/kind.hpp"
#include "kairos/spec/loader.hpp"
#include "kairos/store/store.hpp"
#include "listen_address.hpp"
#include "local_runner.hpp"
#include "services.hpp"

namespace kairos::cli {
namespace {

namespace fs = std::filesystem;

struct serve_options {
  std::string listen = "127.0.0.1:2746";
  std::string data_dir = ".kairos";
  std::string manifests = "manifests";
  std::string auth_token;
  std::string port_file;
  std::string log_level;
  std::string webhook_address = "127.0.0.1";
};

// Writes through a temporary file and a rename, so a reader polling for the
// file never sees it half written.
result<void> write_port_file(const fs::path& path, std::uint16_t port) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out) return make_error(errc::internal, "cannot write port file " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return make_error(errc::internal,
                      "cannot write port file " + path.string() + ": " + ec.message());
  return {};
}

// Every manifest but Workflows is stored; Workflows there are examples for
// `kairos submit`, not work to start.
result<void> load_manifests(store::database& db, const fs::path& dir, bool explicit_dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (explicit_dir)
      return make_error(errc::invalid_argument,
                        "manifests directory " + dir.string() + " does not exist");
    spdlog::warn("no manifests directory at {}; starting with none", dir.string());
    return {};
  }
  auto loaded = spec::load_directory(dir);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
    return make_error(errc::invalid_argument, "manifests in " + dir.string() + " have " +
                                                  std::to_string(loaded.diagnostics.size()) +
                                                  " problem(s)");
  }
  std::size_t stored = 0;
  std::size_t examples = 0;
  for (const auto& r : loaded.resources) {
    if (r.kind == spec::kind::workflow) {
      spdlog::debug("{}:{}: Workflow {} is an example; submit it with `kairos submit {}`", r.file,
                    r.line, r.metadata.name.empty() ? r.metadata.generate_name : r.metadata.name,
                    r.file);
      ++examples;
      continue;
    }
    store::resource_record record;
    record.kind = std::string(spec::kind_name(r.kind));
    record.namespace_ = spec::is_namespaced(r.kind) ? r.metadata.namespace_ : std::string();
    record.name = r.metadata.name;
    record.body = r.manifest;
    auto applied = db.apply_resource(std::move(record));
    if (!applied) {
      return make_error(applied.error().code, r.file + ": cannot store " +
                                                  std::string(spec::kind_name(r.kind)) + " " +
                                                  r.metadata.name + ": " + applied.error().message);
    }
    ++stored;
  }
  spdlog::info("loaded {} manifest(s) from {}", stored, dir.string());
  if (examples > 0) {
    spdlog::info(
        "{} Workflow(s) there are examples, not started; run one with `kairos submit FILE`",
        examples);
  }
  return {};
}

int run_serve(context& ctx, const serve_options& opts, bool manifests_explicit) {
  auto listen = parse_listen_address(opts.listen);
  if (!listen) return fail(listen.error());
  setup_logging(!opts.log_level.empty()          ? opts.log_level
                : !ctx.globals.log_level.empty() ? ctx.globals.log_level
                                                 : "info");

  // Held until the server is gone: before the store opens, so that a
  // second server on the same directory writes nothing, not even manifests.
  auto lock = data_dir_lock::acquire(opts.data_dir);
  if (!lock) return fail(lock.error());

  store::settings store_settings;
  store_settings.data_dir = opts.data_dir;
  auto db = store::database::open(store_settings);
  if (!db) return fail("cannot open the store in " + opts.data_dir + ": " + db.error().message);

  if (auto loaded = load_manifests(**db, opts.manifests, manifests_explicit); !loaded) {
    return fail(loaded.error());
  }

  auto engine = engine_host::start(**db, opts.data_dir);
  if (!engine) return fail(engine.error());
  if (auto caps = (*engine)->capabilities(); !caps.private_mounts) {
    spdlog::warn("nodes share /tmp and workflows with volumeMounts fail: {}",
                 caps.private_mounts_reason);
  }
  auto resumed = (*engine)->runtime().recover();
  if (!resumed) return fail("cannot resume workflows: " + resumed.error().message);
  if (*resumed > 0) spdlog::info("resumed {} unfinished workflow(s)", *resumed);
  auto& workflows = (*engine)->runtime();
  api::server_settings settings;
  settings.address = listen->host;
  settings.port = listen->port;
  settings.auth_token = opts.auth_token;
  api::server server(settings, **db, workflows);
  if (auto started = server.start(); !started) return fail(started.error());
  spdlog::info("kairos {} listening on {}:{}{}", kairos::version, settings.address, server.port(),
               settings.auth_token.empty() ? " (no authentication)" : "");
  services_settings controllers;
  controllers.data_dir = opts.data_dir;
  controllers.webhook_address = opts.webhook_address;
  controllers.metrics = server.metrics_registry();
  auto running = services::start(controllers, **db, workflows, system_clock::instance());
  if (!running) {
    server.request_stop();
    server.wait();
    return fail(running.error());
  }
  if (!opts.port_file.empty()) {
    if (auto written = write_port_file(opts.port_file, server.port()); !written) {
      (*running)->stop();
      server.request_stop();
      server.wait();
      return fail(written.error());
    }
  }
  server.wait();
  (*running)->stop();
  spdlog::info("kairos stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, context& ctx) {
  auto opts = std::make_shared<serve_options>();
  auto* cmd =
      app.add_subcommand("serve", "Run the kairos server: API, event sources, sensors, cron");
  cmd->add_option("--listen", opts->listen, "HOST:PORT to listen on (port 0 picks one)")
      ->capture_default_str();
  cmd->add_option("--data-dir", opts->data_dir, "where the store lives")->capture_default_str();
  auto* manifests =
      cmd->add_option("--manifests", opts->manifests, "directory of manifests to load at start")
          ->capture_default_str();
  cmd->add_option("--auth-token", opts->auth_token, "bearer token clients must send")
      ->envname("KAIROS_AUTH_TOKEN");
  cmd->add_option("--webhook-address", opts->webhook_address,
                  "address the event sources' webhook ports bind (0.0.0.0: every interface)")
      ->capture_default_str();
  cmd->add_option("--port-file", opts->port_file, "write the bound port here once listening");
  cmd->add_option("--log-level", opts->log_level, "log level (overrides the global one)")
      ->check(log_levels);
  cmd->callback([&ctx, opts, manifests] {
    bool explicit_dir = manifests->count() > 0;
    ctx.own_logging = true;
    ctx.action = [&ctx, opts, explicit_dir] { return run_serve(ctx, *opts, explicit_dir); };
  });
}

}  // namespace kairos::cli
