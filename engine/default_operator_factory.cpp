// Kept in its own file so that a program (or test) that passes its own
// factory does not need the operator library's code.
#include "kairos/engine/runtime.hpp"

namespace kairos::engine {

operator_factory default_operator_factory() {
  return [](nlohmann::json workflow,
            operator_environment env) -> result<std::unique_ptr<workflow_operator>> {
#if KAIROS_NO_OPERATOR
    (void)workflow;
    (void)env;
    return make_error(errc::unavailable, "the workflow operator is not part of this build");
#else
    return workflow_operator::create(std::move(workflow), std::move(env));
#endif
  };
}

}  // namespace kairos::engine
