#include "commands/common.hpp"

#include <unistd.h>
#include <iostream>

#include "context.hpp"
#include "output.hpp"

namespace kairos::cli {

using json = nlohmann::json;

int print_diagnostics(const std::vector<spec::diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) std::cerr << d.to_string() << "\n";
  return fail(std::to_string(diagnostics.size()) + " problem(s) found");
}

render_options text_options(bool no_utf8) {
  render_options o;
  o.utf8 = !no_utf8;
  o.now = std::chrono::system_clock::now();
  return o;
}

void clear_screen() {
  if (::isatty(STDOUT_FILENO)) {
    std::cout << "\x1b[H\x1b[2J";
  } else {
    std::cout << "\n";
  }
}

int print_workflow(const json& wf, const std::string& output, bool no_utf8) {
  if (output == "name") {
    std::cout << string_at(member(wf, "metadata"), "name") << "\n";
    return 0;
  }
  if (output == "json" || output == "yaml") {
    auto text = render_object(wf, output);
    if (!text) return fail(text.error());
    std::cout << *text;
    return 0;
  }
  if (!output.empty() && output != "wide") return fail("unknown output format \"" + output + "\"");
  std::cout << render_workflow(wf, text_options(no_utf8));
  return 0;
}

int finish_wait(const result<json>& wf) {
  if (!wf) return fail(wf.error());
  auto phase = string_at(member(*wf, "status"), "phase");
  if (phase != "Succeeded") {
    return fail("workflow " + string_at(member(*wf, "metadata"), "name") + " " + phase);
  }
  return 0;
}

}  // namespace kairos::cli
