#pragma once

#include <CLI/CLI.hpp>

#include "context.hpp"

namespace kairos::cli {

void add_serve_command(CLI::App& app, context& ctx);
void add_submit_command(CLI::App& app, context& ctx);
void add_list_command(CLI::App& app, context& ctx);
void add_get_command(CLI::App& app, context& ctx);
void add_logs_command(CLI::App& app, context& ctx);
void add_wait_command(CLI::App& app, context& ctx);
void add_watch_command(CLI::App& app, context& ctx);
void add_delete_command(CLI::App& app, context& ctx);
void add_action_commands(CLI::App& app, context& ctx);
void add_apply_command(CLI::App& app, context& ctx);
void add_cron_command(CLI::App& app, context& ctx);
void add_template_command(CLI::App& app, context& ctx);
void add_lint_command(CLI::App& app, context& ctx);
void add_version_command(CLI::App& app, context& ctx);
void add_run_command(CLI::App& app, context& ctx);
void add_events_command(CLI::App& app, context& ctx);
void add_dev_command(CLI::App& app, context& ctx);

}  // namespace kairos::cli
