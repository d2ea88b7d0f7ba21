#pragma once

#include "kairos/core/clock.hpp"
#include "kairos/engine/workflow_service.hpp"
#include "kairos/store/store.hpp"
#include "router.hpp"

namespace kairos::api {

// The Argo-Server-shaped REST resources. Every handler is blocking (it
// calls the store or the engine) and runs on the server's worker pool.
class resource_handlers {
 public:
  resource_handlers(store::database& db, engine::workflow_service& workflows,
                    const kairos::clock& clock);

  void register_routes(router& r);

 private:
  // Manifests other than Workflow.
  response create_resource(const request& req, spec::kind kind, std::string_view wrapper_key);
  response list_resources(const request& req, spec::kind kind);
  response get_resource(const request& req, spec::kind kind);
  response update_resource(const request& req, spec::kind kind, std::string_view wrapper_key);
  response delete_resource(const request& req, spec::kind kind);
  response lint(const request& req, spec::kind kind, std::string_view wrapper_key);
  response set_cron_suspend(const request& req, bool suspend);

  response create_workflow(const request& req);
  response list_workflows(const request& req);
  response get_workflow(const request& req);
  response delete_workflow(const request& req);
  response act_on_workflow(const request& req, engine::workflow_action action);
  response workflow_logs(const request& req);
  response submit_from(const request& req);

  response post_event(const request& req);
  response list_events(const request& req);

  store::database& db_;
  engine::workflow_service& workflows_;
  const kairos::clock& clock_;
};

}  // namespace kairos::api
