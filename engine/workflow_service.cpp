#include "kairos/engine/workflow_service.hpp"

namespace kairos::engine {

std::string_view to_string(workflow_action a) noexcept {
  switch (a) {
    case workflow_action::retry:
      return "retry";
    case workflow_action::resubmit:
      return "resubmit";
    case workflow_action::suspend:
      return "suspend";
    case workflow_action::resume:
      return "resume";
    case workflow_action::stop:
      return "stop";
    case workflow_action::terminate:
      return "terminate";
  }
  return "unknown";
}

}  // namespace kairos::engine
