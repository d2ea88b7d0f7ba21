#include <cctype>
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>

#include "commands/commands.hpp"
#include "commands/common.hpp"
#include "printer.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;

struct logs_options {
  std::string name;
  std::string node;  // node id, name or display name; empty: every node
  bool follow = false;
};

// Each NDJSON line carries {"result": {"content", "podName"}}; a line that
// is not JSON is printed as it came rather than dropped.
std::vector<std::string> log_lines(const std::string& ndjson) {
  std::vector<std::string> lines;
  std::istringstream in(ndjson);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto entry = json::parse(line, nullptr, false);
    if (entry.is_discarded() || !entry.is_object()) {
      lines.push_back(line);
      continue;
    }
    const auto& result = member(entry, "result");
    auto content = string_at(result, "content");
    auto pod = string_at(result, "podName");
    lines.push_back(pod.empty() ? content : pod + ": " + content);
  }
  return lines;
}

std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out += static_cast<char>(ch);
    } else {
      out += '%';
      out += hex[ch >> 4];
      out += hex[ch & 15];
    }
  }
  return out;
}

int run_logs(context& ctx, const logs_options& opts) {
  auto c = ctx.make_client();
  auto name = resolve_workflow_name(c, ctx.globals.ns, opts.name);
  if (!name) return fail(name.error());
  auto target = api::client::item_path("workflows", ctx.globals.ns, *name) + "/log";
  if (!opts.node.empty()) target += "?podName=" + url_encode(opts.node);
  std::size_t printed = 0;
  for (;;) {
    // Read the phase before the logs, so the final fetch after a finish
    // cannot miss lines written just before it.
    bool finished = true;
    if (opts.follow) {
      auto wf = c.get("workflows", ctx.globals.ns, *name);
      if (!wf) return fail(wf.error());
      finished = is_finished_phase(string_at(member(*wf, "status"), "phase"));
    }
    auto text = c.request_text("GET", target);
    if (!text) return fail(text.error());
    auto lines = log_lines(*text);
    for (std::size_t i = printed; i < lines.size(); ++i) {
      std::cout << lines[i];
      if (lines[i].empty() || lines[i].back() != '\n') std::cout << "\n";
    }
    std::cout << std::flush;
    printed = std::max(printed, lines.size());
    if (finished) return 0;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace

void add_logs_command(CLI::App& app, context& ctx) {
  auto opts = std::make_shared<logs_options>();
  auto* cmd = app.add_subcommand("logs", "Print a workflow's logs");
  cmd->add_option("name", opts->name, "workflow name or @latest")->required();
  cmd->add_option("node", opts->node, "only this node (id, name or display name)");
  cmd->add_flag("-f,--follow", opts->follow, "keep printing while the workflow runs");
  cmd->callback([&ctx, opts] { ctx.action = [&ctx, opts] { return run_logs(ctx, *opts); }; });
}

}  // namespace kairos::cli
