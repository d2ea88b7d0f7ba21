#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kairos/api/client.hpp"
#include "kairos/core/result.hpp"

namespace kairos::cli {

// Workflow helpers shared by several commands.
bool is_finished_phase(std::string_view phase);
// The newest workflow of a list response's items, by creationTimestamp.
std::optional<std::string> latest_workflow_name(const nlohmann::json& items);
// NAME as given, or the newest workflow of the namespace for "@latest".
result<std::string> resolve_workflow_name(const api::client& c, const std::string& ns,
                                          const std::string& name);
// Polls until the workflow's phase is final; `on_update` sees every poll.
result<nlohmann::json> wait_for_workflow(
    const api::client& c, const std::string& ns, const std::string& name,
    const std::function<void(const nlohmann::json&)>& on_update = {});

}  // namespace kairos::cli
