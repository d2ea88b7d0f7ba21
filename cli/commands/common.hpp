#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/spec/diagnostic.hpp"
#include "printer.hpp"

namespace kairos::cli {

// Prints each diagnostic on stderr, then the one-line summary; returns 1.
int print_diagnostics(const std::vector<spec::diagnostic>& diagnostics);
render_options text_options(bool no_utf8);
// Clears a terminal before a redraw; on a pipe, separates frames instead.
void clear_screen();
// Prints a workflow as -o asks: name, json, yaml, or the `get` layout.
int print_workflow(const nlohmann::json& wf, const std::string& output, bool no_utf8);
// The exit code of a wait: 0 only for a Succeeded workflow.
int finish_wait(const result<nlohmann::json>& wf);

}  // namespace kairos::cli
