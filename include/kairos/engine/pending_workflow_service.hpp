#pragma once

#include <string>

#include "kairos/core/clock.hpp"
#include "kairos/core/result.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/spec/resource.hpp"
#include "kairos/store/store.hpp"

namespace kairos::engine {

// Stores submitted workflows in phase Pending and runs nothing. It stands in
// for the workflow controller until that exists, so the API, sensors and cron
// can be built and tested against the real submit contract.
class pending_workflow_service final : public workflow_service {
 public:
  pending_workflow_service(store::database& db, const kairos::clock& clock);

  result<store::workflow_record> submit(const spec::resource& workflow,
                                        const submit_options& options) override;
  result<store::workflow_record> act(const std::string& ns, const std::string& name,
                                     workflow_action action) override;
  result<std::string> logs(const std::string& ns, const std::string& name,
                           const std::string& node) override;

 private:
  store::database& db_;
  const kairos::clock& clock_;
};

}  // namespace kairos::engine
