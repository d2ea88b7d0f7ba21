#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace kairos::cli {

struct render_options {
  // ASCII status words and tree connectors instead of icons and box drawing.
  bool utf8 = true;
  // "Now", for relative ages and the duration of what is still running;
  // injected so that output is reproducible in tests.
  std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
};

// `kairos get`: the header (Name, Namespace, ... Parameters) and, when the
// workflow has nodes, the STEP / TEMPLATE / PODNAME / DURATION / MESSAGE tree
// in the layout `argo get` uses.
std::string render_workflow(const nlohmann::json& wf, const render_options& options);

// `kairos list`: NAME STATUS AGE DURATION PRIORITY MESSAGE, with a leading
// NAMESPACE column when `all_namespaces`, and P/R/C and PARAMETERS when `wide`.
std::string render_workflow_list(const nlohmann::json& items, const render_options& options,
                                 bool all_namespaces, bool wide);

// "Running (Suspended)", "Failed (Terminated)", "Pending", ...
std::string workflow_status(const nlohmann::json& wf);

// Compact durations for table cells: 45s, 1m30s, 2h5m, 3d4h.
std::string format_duration_short(std::chrono::seconds d);
// Spelled-out durations for the header: "1 minute 30 seconds".
std::string format_duration_long(std::chrono::seconds d);
// "Mon Jan 02 15:04:05 +0000 (2 minutes ago)".
std::string format_timestamp(std::chrono::system_clock::time_point t,
                             std::chrono::system_clock::time_point now);

// Left-aligned columns separated by `padding` spaces; widths count UTF-8
// code points, and trailing blanks are dropped.
std::string format_table(const std::vector<std::vector<std::string>>& rows, std::size_t padding);

// A member of a JSON object, or null when absent or not an object.
const nlohmann::json& member(const nlohmann::json& object, std::string_view key);
// A string member of a JSON object, or "" when absent or not a string.
std::string string_at(const nlohmann::json& object, std::string_view key);
std::optional<std::chrono::system_clock::time_point> time_at(const nlohmann::json& object,
                                                             std::string_view key);

}  // namespace kairos::cli
