#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands/commands.hpp"
#include "output.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

int run_events_list(context& ctx, std::size_t limit, const std::string& output) {
  auto res = ctx.make_client().request("GET", "/api/v1/events?limit=" + std::to_string(limit));
  if (!res) return fail(res.error());
  if (output == "json") {
    auto text = render_object(*res, output);
    if (!text) return fail(text.error());
    std::cout << *text;
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"TIME", "NAMESPACE", "EVENTSOURCE", "EVENT", "TYPE", "ID", "TAKEN BY"}};
  const auto& items = member(*res, "items");
  if (items.is_array()) {
    for (const auto& e : items) {
      std::string taken;
      const auto& by = member(e, "consumedBy");
      if (by.is_array()) {
        for (const auto& b : by) {
          if (!b.is_string()) continue;
          if (!taken.empty()) taken += ",";
          taken += b.get<std::string>();
        }
      }
      rows.push_back({string_at(e, "time"), string_at(e, "namespace"),
                      string_at(e, "eventSourceName"), string_at(e, "eventName"),
                      string_at(e, "type"), string_at(e, "id"), taken.empty() ? "-" : taken});
    }
  }
  std::cout << format_table(rows, 3);
  return 0;
}

}  // namespace

void add_events_command(CLI::App& app, context& ctx) {
  auto* events = app.add_subcommand("events", "Inspect the event journal");
  events->require_subcommand(1);
  auto limit = std::make_shared<std::size_t>(50);
  auto output = std::make_shared<std::string>();
  auto* list = events->add_subcommand("list", "Recent events and the sensors that took them");
  list->add_option("--limit", *limit, "how many events, newest first")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  list->add_option("-o,--output", *output, "json for the raw list")->check(CLI::IsMember({"json"}));
  list->callback([&ctx, limit, output] {
    ctx.action = [&ctx, limit, output] { return run_events_list(ctx, *limit, *output); };
  });
}

}  // namespace kairos::cli
