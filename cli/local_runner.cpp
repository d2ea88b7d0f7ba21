#include "local_runner.hpp"

namespace kairos::cli {

result<nlohmann::json> run_workflow_locally(const spec::resource& /*workflow*/,
                                            const parameter_list& /*parameters*/) {
  return make_error(errc::unavailable, "workflow execution is not available yet in this build");
}

}  // namespace kairos::cli
