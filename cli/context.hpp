#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "kairos/api/client.hpp"
#include "kairos/core/result.hpp"
#include "workflow_util.hpp"

namespace kairos::cli {

struct global_options {
  std::string server = "http://127.0.0.1:2746";
  std::string token;
  std::string ns = "default";
  std::string log_level;  // empty: info for serve, warn for client commands
};

// What every subcommand shares: the global options and the action the
// parsed subcommand chose. Parsing only records the action; it runs after
// CLI11 is done, so its errors never mix with usage errors.
struct context {
  global_options globals;
  CLI::Option* namespace_option = nullptr;
  std::function<int()> action;
  // Set by commands that install logging themselves (serve).
  bool own_logging = false;

  api::client make_client() const;
  bool namespace_given() const {
    return namespace_option != nullptr && namespace_option->count() > 0;
  }
};

// The values --log-level accepts (spdlog's level names).
extern const CLI::IsMember log_levels;

// Prints `kairos: <message>` on stderr and returns the failure exit code.
int fail(std::string_view message);
int fail(const error& e);

using register_fn = void (*)(CLI::App& app, context& ctx);
struct command_entry {
  std::string_view name;
  register_fn add;
};

// Every subcommand, in `kairos --help` order.
std::span<const command_entry> command_table();

// The whole program: parses, runs the chosen subcommand, returns the exit code.
int run(int argc, char** argv);

}  // namespace kairos::cli
