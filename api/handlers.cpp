#include "handlers.hpp"

#include <charconv>
#include <sstream>

#include "documents.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"
#include "kairos/cron/controller.hpp"
#include "kairos/engine/progress.hpp"
#include "kairos/sensors/manager.hpp"

namespace kairos::api {

namespace {

using spec::kind;

struct collection {
  std::string_view path;
  kind k;
  std::string_view wrapper_key;
};

// The manifest collections besides workflows, with the key Argo's request
// messages wrap the object in.
constexpr collection manifest_collections[] = {
    {"workflow-templates", kind::workflow_template, "template"},
    {"cluster-workflow-templates", kind::cluster_workflow_template, "template"},
    {"cron-workflows", kind::cron_workflow, "cronWorkflow"},
    {"event-sources", kind::event_source, "eventSource"},
    {"sensors", kind::sensor, "sensor"},
};

error bad_request(std::string message) {
  return make_error(errc::invalid_argument, std::move(message));
}

// The {namespace} of an item or a create, which must be a valid namespace.
result<std::string> required_namespace(const request& req) {
  auto ns = req.param("namespace");
  if (ns.empty()) return bad_request("the request path must name a namespace");
  if (auto why = check_namespace(ns); !why.empty())
    return bad_request("invalid namespace '" + ns + "': " + why);
  return ns;
}

std::string kind_string(kind k) {
  return std::string(spec::kind_name(k));
}

// The namespace a record of `k` lives in, given the request.
result<std::string> record_namespace(const request& req, kind k) {
  if (!spec::is_namespaced(k)) return std::string();
  return required_namespace(req);
}

result<std::vector<label_term>> selector_of(const request& req) {
  auto text = req.query_value("listOptions.labelSelector");
  if (!text) return std::vector<label_term>{};
  return parse_label_selector(*text);
}

// The cron controller keeps a CronWorkflow's status apart from its manifest
// (store state "cron"); Argo clients expect it as the object's status.
void merge_cron_status(store::database& db, nlohmann::json& body, const std::string& ns,
                       const std::string& name) {
  auto state = db.get_state("cron", ns, name);
  if (!state || !*state || !(*state)->is_object() || !body.is_object()) return;
  auto& status = body["status"];
  if (!status.is_object()) status = nlohmann::json::object();
  for (auto& [key, value] : (*state)->items()) status[key] = std::move(value);
}

response list_body(nlohmann::json items) {
  return json_response({{"metadata", nlohmann::json::object()}, {"items", std::move(items)}});
}

// A stored manifest as a record ready for create/update. Server-owned
// metadata is dropped from the body; the store sets it.
store::resource_record to_record(const spec::resource& r) {
  store::resource_record record;
  record.kind = kind_string(r.kind);
  record.namespace_ = spec::is_namespaced(r.kind) ? r.metadata.namespace_ : std::string();
  record.name = r.metadata.name;
  record.body = r.manifest;
  if (auto meta = record.body.find("metadata"); meta != record.body.end() && meta->is_object()) {
    meta->erase("resourceVersion");
    meta->erase("uid");
    meta->erase("creationTimestamp");
  }
  return record;
}

}  // namespace

resource_handlers::resource_handlers(store::database& db, engine::workflow_service& workflows,
                                     const kairos::clock& clock)
    : db_(db), workflows_(workflows), clock_(clock) {}

void resource_handlers::register_routes(router& r) {
  using http::verb;
  auto bind = [this](auto member, auto... args) {
    return [this, member, args...](const request& req) { return (this->*member)(req, args...); };
  };

  for (const auto& c : manifest_collections) {
    const std::string base = "/api/v1/" + std::string(c.path);
    const bool namespaced = spec::is_namespaced(c.k);
    const std::string coll = namespaced ? base + "/{namespace}" : base;
    const std::string item = coll + "/{name}";
    r.add(verb::post, coll, bind(&resource_handlers::create_resource, c.k, c.wrapper_key));
    r.add(verb::get, coll, bind(&resource_handlers::list_resources, c.k));
    if (namespaced) r.add(verb::get, base, bind(&resource_handlers::list_resources, c.k));
    r.add(verb::get, item, bind(&resource_handlers::get_resource, c.k));
    r.add(verb::put, item, bind(&resource_handlers::update_resource, c.k, c.wrapper_key));
    r.add(verb::delete_, item, bind(&resource_handlers::delete_resource, c.k));
    if (c.k != kind::event_source && c.k != kind::sensor)
      r.add(verb::post, coll + "/lint", bind(&resource_handlers::lint, c.k, c.wrapper_key));
  }
  r.add(verb::put, "/api/v1/cron-workflows/{namespace}/{name}/suspend",
        bind(&resource_handlers::set_cron_suspend, true));
  r.add(verb::put, "/api/v1/cron-workflows/{namespace}/{name}/resume",
        bind(&resource_handlers::set_cron_suspend, false));

  r.add(verb::post, "/api/v1/workflows/{namespace}", bind(&resource_handlers::create_workflow));
  r.add(verb::get, "/api/v1/workflows", bind(&resource_handlers::list_workflows));
  r.add(verb::get, "/api/v1/workflows/{namespace}", bind(&resource_handlers::list_workflows));
  r.add(verb::get, "/api/v1/workflows/{namespace}/{name}", bind(&resource_handlers::get_workflow));
  r.add(verb::delete_, "/api/v1/workflows/{namespace}/{name}",
        bind(&resource_handlers::delete_workflow));
  r.add(verb::post, "/api/v1/workflows/{namespace}/lint",
        bind(&resource_handlers::lint, kind::workflow, std::string_view("workflow")));
  r.add(verb::post, "/api/v1/workflows/{namespace}/submit", bind(&resource_handlers::submit_from));
  r.add(verb::get, "/api/v1/workflows/{namespace}/{name}/log",
        bind(&resource_handlers::workflow_logs));
  using engine::workflow_action;
  for (auto action : {workflow_action::retry, workflow_action::resubmit, workflow_action::suspend,
                      workflow_action::resume, workflow_action::stop, workflow_action::terminate}) {
    r.add(verb::put, "/api/v1/workflows/{namespace}/{name}/" + std::string(to_string(action)),
          bind(&resource_handlers::act_on_workflow, action));
  }

  r.add(verb::post, "/api/v1/events/{namespace}/{discriminator}",
        bind(&resource_handlers::post_event));
  r.add(verb::get, "/api/v1/events", bind(&resource_handlers::list_events));
}

response resource_handlers::create_resource(const request& req, kind k,
                                            std::string_view wrapper_key) {
  auto ns = record_namespace(req, k);
  if (!ns) return error_response(ns.error());
  auto body = parse_body(req.body);
  if (!body) return error_response(body.error());
  auto manifest = unwrap_manifest(*body, wrapper_key);
  if (!manifest) return error_response(manifest.error());
  auto validated = validate_manifest(std::move(*manifest), k, *ns);
  if (!validated) return error_response(validated.error());
  auto created = db_.create_resource(to_record(*validated));
  if (!created) return error_response(created.error());
  return json_response(render(*created));
}

response resource_handlers::list_resources(const request& req, kind k) {
  auto selector = selector_of(req);
  if (!selector) return error_response(selector.error());
  auto listed = db_.list_resources(kind_string(k), req.param("namespace"));
  if (!listed) return error_response(listed.error());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : *listed) {
    auto body = render(r);
    if (!labels_match(body, *selector)) continue;
    if (k == kind::cron_workflow) merge_cron_status(db_, body, r.namespace_, r.name);
    items.push_back(std::move(body));
  }
  return list_body(std::move(items));
}

response resource_handlers::get_resource(const request& req, kind k) {
  auto ns = record_namespace(req, k);
  if (!ns) return error_response(ns.error());
  auto found = db_.get_resource(kind_string(k), *ns, req.param("name"));
  if (!found) return error_response(found.error());
  auto body = render(*found);
  if (k == kind::cron_workflow) merge_cron_status(db_, body, found->namespace_, found->name);
  return json_response(std::move(body));
}

response resource_handlers::update_resource(const request& req, kind k,
                                            std::string_view wrapper_key) {
  auto ns = record_namespace(req, k);
  if (!ns) return error_response(ns.error());
  auto body = parse_body(req.body);
  if (!body) return error_response(body.error());
  auto manifest = unwrap_manifest(*body, wrapper_key);
  if (!manifest) return error_response(manifest.error());
  auto expected = manifest_resource_version(*manifest);
  if (!expected) return error_response(expected.error());
  const auto name = req.param("name");
  auto validated = validate_manifest(std::move(*manifest), k, *ns, &name);
  if (!validated) return error_response(validated.error());
  auto updated = db_.update_resource(to_record(*validated), *expected);
  if (!updated) return error_response(updated.error());
  return json_response(render(*updated));
}

response resource_handlers::delete_resource(const request& req, kind k) {
  auto ns = record_namespace(req, k);
  if (!ns) return error_response(ns.error());
  auto deleted = db_.delete_resource(kind_string(k), *ns, req.param("name"));
  if (!deleted) return error_response(deleted.error());
  return json_response(nlohmann::json::object());
}

response resource_handlers::lint(const request& req, kind k, std::string_view wrapper_key) {
  auto ns = record_namespace(req, k);
  if (!ns) return error_response(ns.error());
  auto body = parse_body(req.body);
  if (!body) return error_response(body.error());
  auto manifest = unwrap_manifest(*body, wrapper_key);
  if (!manifest) return error_response(manifest.error());
  auto validated = validate_manifest(std::move(*manifest), k, *ns);
  if (!validated) return error_response(validated.error());
  return json_response(validated->manifest);
}

response resource_handlers::set_cron_suspend(const request& req, bool suspend) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  auto found = db_.get_resource(kind_string(kind::cron_workflow), *ns, req.param("name"));
  if (!found) return error_response(found.error());
  auto record = std::move(*found);
  const auto version = record.resource_version;
  if (!record.body.is_object()) record.body = nlohmann::json::object();
  auto& spec = record.body["spec"];
  if (!spec.is_object()) spec = nlohmann::json::object();
  spec["suspend"] = suspend;
  auto updated = db_.update_resource(std::move(record), version);
  if (!updated) return error_response(updated.error());
  return json_response(render(*updated));
}

response resource_handlers::create_workflow(const request& req) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  auto body = parse_body(req.body);
  if (!body) return error_response(body.error());
  auto manifest = unwrap_manifest(*body, "workflow");
  if (!manifest) return error_response(manifest.error());
  bool dry_run = false;
  if (auto it = body->find("serverDryRun"); it != body->end() && it->is_boolean())
    dry_run = it->get<bool>();
  auto validated = validate_manifest(std::move(*manifest), kind::workflow, *ns);
  if (!validated) return error_response(validated.error());
  if (dry_run) return json_response(validated->manifest);
  auto submitted = workflows_.submit(*validated, {});
  if (!submitted) return error_response(submitted.error());
  return json_response(render(*submitted));
}

response resource_handlers::list_workflows(const request& req) {
  auto selector = selector_of(req);
  if (!selector) return error_response(selector.error());
  std::size_t limit = 0;
  if (auto text = req.query_value("listOptions.limit"); text && !text->empty()) {
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (ec != std::errc() || end != text->data() + text->size())
      return error_response(bad_request("listOptions.limit: expected a non-negative integer"));
  }
  auto listed = db_.list_workflows(req.param("namespace"));
  if (!listed) return error_response(listed.error());
  nlohmann::json items = nlohmann::json::array();
  for (const auto& w : *listed) {
    if (limit != 0 && items.size() >= limit) break;
    auto body = render(w);
    if (!labels_match(body, *selector)) continue;
    // Argo's list carries each workflow's progress; the nodes it is summed
    // from stay out of the list, so they are counted, not read.
    if (body.is_object()) {
      auto counts = db_.count_nodes(w.uid);
      if (!counts) return error_response(counts.error());
      engine::work_progress progress;
      for (const auto& c : *counts) progress.add(c.type, c.phase, c.count, c.progress);
      auto& status = body["status"];
      if (!status.is_object()) status = nlohmann::json::object();
      status["progress"] = progress.text();
    }
    items.push_back(std::move(body));
  }
  return list_body(std::move(items));
}

response resource_handlers::get_workflow(const request& req) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  auto found = db_.get_workflow(*ns, req.param("name"));
  if (!found) return error_response(found.error());
  // The engine stores nodes apart from the workflow (one row each, written
  // as they change); Argo's shape has them under status.nodes.
  auto nodes = db_.list_nodes(found->uid);
  if (!nodes) return error_response(nodes.error());
  auto body = render(*found);
  if (!nodes->empty() && body.is_object()) {
    auto& status = body["status"];
    if (!status.is_object()) status = nlohmann::json::object();
    auto& map = status["nodes"];
    if (!map.is_object()) map = nlohmann::json::object();
    for (auto& n : *nodes) map[n.node_id] = std::move(n.body);
  }
  engine::set_progress(body);
  return json_response(std::move(body));
}

response resource_handlers::delete_workflow(const request& req) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  auto deleted = db_.delete_workflow(*ns, req.param("name"));
  if (!deleted) return error_response(deleted.error());
  return json_response(nlohmann::json::object());
}

response resource_handlers::act_on_workflow(const request& req, engine::workflow_action action) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  auto acted = workflows_.act(*ns, req.param("name"), action);
  if (!acted) return error_response(acted.error());
  return json_response(render(*acted));
}

response resource_handlers::workflow_logs(const request& req) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  const auto name = req.param("name");
  const auto node = req.query_value("podName").value_or("");
  auto text = workflows_.logs(*ns, name, node);
  if (!text) return error_response(text.error());
  // Argo streams one {"result": {...}} object per line.
  response res;
  res.content_type = "application/x-ndjson";
  std::istringstream lines(*text);
  std::string line;
  const auto pod = node.empty() ? name : node;
  while (std::getline(lines, line)) {
    nlohmann::json entry = {{"result", {{"content", line}, {"podName", pod}}}};
    res.body += dump_json_replacing(entry);
    res.body += '\n';
  }
  return res;
}

response resource_handlers::submit_from(const request& req) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  auto parsed = parse_body(req.body);
  if (!parsed) return error_response(parsed.error());
  const auto& body = *parsed;
  if (!body.is_object()) return error_response(bad_request("request body must be a JSON object"));
  const auto resource_kind = body.value("resourceKind", std::string());
  const auto resource_name = body.value("resourceName", std::string());
  if (resource_name.empty()) return error_response(bad_request("resourceName: required"));
  nlohmann::json options = body.value("submitOptions", nlohmann::json::object());
  if (!options.is_object()) return error_response(bad_request("submitOptions: must be an object"));

  nlohmann::json meta = {{"namespace", *ns}, {"generateName", resource_name + "-"}};
  nlohmann::json spec = nlohmann::json::object();
  const auto k = spec::parse_kind(resource_kind);
  if (k == kind::workflow_template || k == kind::cluster_workflow_template) {
    const bool cluster = k == kind::cluster_workflow_template;
    auto found = db_.get_resource(resource_kind, cluster ? std::string() : *ns, resource_name);
    if (!found) return error_response(found.error());
    spec["workflowTemplateRef"] = {{"name", resource_name}};
    if (cluster) spec["workflowTemplateRef"]["clusterScope"] = true;
    meta["labels"][cluster ? "workflows.argoproj.io/cluster-workflow-template"
                           : "workflows.argoproj.io/workflow-template"] = resource_name;
  } else if (k == kind::cron_workflow) {
    auto found = db_.get_resource(resource_kind, *ns, resource_name);
    if (!found) return error_response(found.error());
    // The same Workflow the cron controller creates, with generateName.
    auto made = cron::workflow_manifest_for(found->body, *ns, resource_name);
    if (!made) return error_response(made.error());
    meta = std::move((*made)["metadata"]);
    spec = std::move((*made)["spec"]);
  } else {
    return error_response(
        bad_request("resourceKind: expected WorkflowTemplate, "
                    "ClusterWorkflowTemplate or CronWorkflow, got '" +
                    resource_kind + "'"));
  }

  if (auto n = options.find("name"); n != options.end() && n->is_string() && !n->empty()) {
    meta["name"] = *n;
    meta.erase("generateName");
  } else if (auto g = options.find("generateName");
             g != options.end() && g->is_string() && !g->empty()) {
    meta["generateName"] = *g;
  }
  if (auto e = options.find("entryPoint"); e != options.end() && e->is_string() && !e->empty())
    spec["entrypoint"] = *e;

  engine::submit_options submit;
  if (auto p = options.find("parameters"); p != options.end() && !p->is_null()) {
    if (!p->is_array())
      return error_response(bad_request("submitOptions.parameters: expected a list of name=value"));
    for (const auto& item : *p) {
      if (!item.is_string())
        return error_response(bad_request("submitOptions.parameters: expected strings"));
      auto kv = split_assignment(item.get<std::string>(), "submitOptions.parameters");
      if (!kv) return error_response(kv.error());
      submit.parameters.push_back(std::move(*kv));
    }
  }
  if (auto l = options.find("labels"); l != options.end() && l->is_string()) {
    const auto text = l->get<std::string>();
    std::size_t start = 0;
    while (start < text.size()) {
      auto comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      const auto term = text.substr(start, comma - start);
      start = comma + 1;
      if (term.empty()) continue;
      auto kv = split_assignment(term, "submitOptions.labels");
      if (!kv) return error_response(kv.error());
      submit.labels.push_back(std::move(*kv));
    }
  }

  nlohmann::json manifest = {{"apiVersion", std::string(spec::api_version)},
                             {"kind", "Workflow"},
                             {"metadata", std::move(meta)},
                             {"spec", std::move(spec)}};
  auto validated = validate_manifest(std::move(manifest), kind::workflow, *ns);
  if (!validated) return error_response(validated.error());
  if (options.value("dryRun", false) || options.value("serverDryRun", false))
    return json_response(validated->manifest);
  auto submitted = workflows_.submit(*validated, submit);
  if (!submitted) return error_response(submitted.error());
  return json_response(render(*submitted));
}

response resource_handlers::post_event(const request& req) {
  auto ns = required_namespace(req);
  if (!ns) return error_response(ns.error());
  const auto discriminator = req.param("discriminator");
  if (discriminator.empty())
    return error_response(bad_request("the request path must end in an event discriminator"));
  nlohmann::json payload;
  if (req.body.find_first_not_of(" \t\r\n") != std::string::npos) {
    auto parsed = parse_body(req.body);
    if (!parsed) return error_response(parsed.error());
    payload = std::move(*parsed);
  }

  store::event_record event;
  event.id = req.header("x-request-id").value_or(req.header("ce-id").value_or(""));
  if (event.id.empty()) event.id = random_uuid();
  event.namespace_ = *ns;
  event.source = "api";
  event.subject = discriminator;
  event.type = "api";
  event.time = format_rfc3339(clock_.now());
  event.body = {{"context",
                 {{"id", event.id},
                  {"source", event.source},
                  {"type", event.type},
                  {"subject", event.subject},
                  {"time", event.time},
                  {"datacontenttype", "application/json"},
                  {"specversion", "1.0"}}},
                {"data", std::move(payload)}};
  auto appended = db_.append_event(std::move(event));
  if (!appended) {
    return error_response(
        make_error(errc::unavailable, "cannot record the event: " + appended.error().message));
  }
  return json_response(nlohmann::json::object());
}

// The newest journal events and the sensor triggers that took each one,
// newest first.
response resource_handlers::list_events(const request& req) {
  std::size_t limit = 50;
  if (auto text = req.query_value("limit"); text && !text->empty()) {
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), limit);
    if (ec != std::errc() || end != text->data() + text->size() || limit == 0 || limit > 10000)
      return error_response(bad_request("limit: expected an integer from 1 to 10000"));
  }
  auto recent = sensors::recent_events(db_, limit);
  if (!recent) return error_response(recent.error());
  nlohmann::json items = nlohmann::json::array();
  for (auto it = recent->rbegin(); it != recent->rend(); ++it) {
    items.push_back({{"sequence", it->sequence},
                     {"id", it->id},
                     {"namespace", it->namespace_},
                     {"eventSourceName", it->source},
                     {"eventName", it->subject},
                     {"type", it->type},
                     {"time", it->time},
                     {"consumedBy", it->consumed_by}});
  }
  return list_body(std::move(items));
}

}  // namespace kairos::api
