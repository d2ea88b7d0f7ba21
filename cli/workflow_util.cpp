#include "workflow_util.hpp"

#include <chrono>
#include <thread>

#include "printer.hpp"

namespace kairos::cli {

bool is_finished_phase(std::string_view phase) {
  return phase == "Succeeded" || phase == "Failed" || phase == "Error";
}

std::optional<std::string> latest_workflow_name(const nlohmann::json& items) {
  if (!items.is_array()) return std::nullopt;
  std::optional<std::string> best;
  std::optional<std::chrono::system_clock::time_point> best_time;
  for (const auto& wf : items) {
    if (!wf.is_object()) continue;
    const auto& meta = member(wf, "metadata");
    auto name = string_at(meta, "name");
    if (name.empty()) continue;
    auto created = time_at(meta, "creationTimestamp");
    // Ties keep the earlier item: the server lists newest first.
    if (!best || (created && (!best_time || *created > *best_time))) {
      best = name;
      best_time = created;
    }
  }
  return best;
}

result<std::string> resolve_workflow_name(const api::client& c, const std::string& ns,
                                          const std::string& name) {
  if (name != "@latest") return name;
  auto list = c.list("workflows", ns);
  if (!list) return list.error();
  auto latest = latest_workflow_name(member(*list, "items"));
  if (!latest) return make_error(errc::not_found, "no workflows in namespace " + ns);
  return *latest;
}

result<nlohmann::json> wait_for_workflow(
    const api::client& c, const std::string& ns, const std::string& name,
    const std::function<void(const nlohmann::json&)>& on_update) {
  for (;;) {
    auto wf = c.get("workflows", ns, name);
    if (!wf) return wf.error();
    if (on_update) on_update(*wf);
    auto phase = string_at(member(*wf, "status"), "phase");
    if (is_finished_phase(phase)) return wf;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

}  // namespace kairos::cli
