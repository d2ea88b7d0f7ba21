#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "kairos/core/result.hpp"
#include "kairos/spec/resource.hpp"
#include "parameters.hpp"

namespace kairos::cli {

// Runs one validated Workflow in-process, without a server, and returns the
// finished Workflow object (metadata, spec, status). The engine replaces this
// stand-in; `kairos run` only renders what it returns.
result<nlohmann::json> run_workflow_locally(const spec::resource& workflow,
                                            const parameter_list& parameters);

}  // namespace kairos::cli
