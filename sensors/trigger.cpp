#include "kairos/sensors/trigger.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "kairos/core/digest.hpp"
#include "kairos/core/json_path.hpp"
#include "kairos/sensors/parameters.hpp"
#include "trigger_parameters.hpp"

namespace kairos::sensors {
namespace {

class client_sender final : public http_sender {
 public:
  result<http_client::response> send(const http_client::request& r) override {
    return http_client::perform(r);
  }
};

std::string sanitize(std::string_view s) {
  std::string out;
  for (char c : s) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '-' || l == '.';
    out.push_back(ok ? l : '-');
  }
  while (!out.empty() && (out.front() == '-' || out.front() == '.')) out.erase(out.begin());
  return out;
}

}  // namespace

std::shared_ptr<http_sender> default_http_sender() {
  return std::make_shared<client_sender>();
}

std::string firing_key(const event_map& events) {
  std::vector<std::string> ids;
  for (const auto& [name, e] : events) ids.push_back(e.id);
  std::sort(ids.begin(), ids.end());
  std::string joined;
  for (const auto& id : ids) joined += id + "\n";
  return digest::sha256_hex(joined);
}

std::string workflow_name_for(const std::string& sensor, const std::string& trigger,
                              const std::string& key) {
  std::string name = sanitize(sensor) + "-" + sanitize(trigger) + "-" + key.substr(0, 16);
  // A Workflow name is a DNS subdomain: at most 253 characters.
  if (name.size() > 253) name = name.substr(name.size() - 253);
  while (!name.empty() && (name.front() == '-' || name.front() == '.')) name.erase(name.begin());
  return name;
}

result<spec::trigger> apply_template_parameters(const spec::trigger& t, const event_map& events) {
  if (t.parameters.empty()) return t;
  // A JSON view of the template fields kairos lets parameters rewrite, with
  // Argo's field names so that dests written for Argo work.
  nlohmann::json view = nlohmann::json::object();
  view["name"] = t.template_.name;
  if (t.template_.argo_workflow)
    view["argoWorkflow"]["source"]["resource"] = t.template_.argo_workflow->source.resource;
  if (t.template_.k8s) view["k8s"]["source"]["resource"] = t.template_.k8s->source.resource;
  if (t.template_.http) {
    view["http"]["url"] = t.template_.http->url;
    view["http"]["method"] = t.template_.http->method;
    view["http"]["headers"] = t.template_.http->headers;
  }
  if (auto r = apply_parameters(view, t.parameters, events); !r) return std::move(r).error();
  spec::trigger out = t;
  if (out.template_.argo_workflow)
    out.template_.argo_workflow->source.resource = view["argoWorkflow"]["source"]["resource"];
  if (out.template_.k8s) out.template_.k8s->source.resource = view["k8s"]["source"]["resource"];
  if (out.template_.http) {
    out.template_.http->url = json_path::get_string(view, "http.url");
    out.template_.http->method = json_path::get_string(view, "http.method");
    out.template_.http->headers.clear();
    if (view["http"]["headers"].is_object())
      for (const auto& [k, v] : view["http"]["headers"].items())
        out.template_.http->headers[k] = json_path::to_string(v);
  }
  return out;
}

}  // namespace kairos::sensors
