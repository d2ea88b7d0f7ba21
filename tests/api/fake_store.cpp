#include "fake_store.hpp"

namespace kairos::testing {

void fake_store::stamp(store::resource_record& r) {
  r.resource_version = ++version_;
  auto& meta = r.body["metadata"];
  meta["resourceVersion"] = std::to_string(r.resource_version);
  meta["uid"] = r.uid;
  meta["creationTimestamp"] = r.created_at;
}

result<store::resource_record> fake_store::create_resource(store::resource_record r) {
  std::lock_guard lock(mutex_);
  key k{r.kind, r.namespace_, r.name};
  if (resources_.count(k))
    return make_error(errc::already_exists, r.kind + " " + r.name + " exists");
  r.uid = "uid-" + std::to_string(++uid_counter_);
  r.created_at = "2024-01-01T00:00:00Z";
  stamp(r);
  resources_[k] = r;
  return r;
}

result<store::resource_record> fake_store::update_resource(
    store::resource_record r, std::optional<std::int64_t> expected_version) {
  std::lock_guard lock(mutex_);
  auto it = resources_.find({r.kind, r.namespace_, r.name});
  if (it == resources_.end())
    return make_error(errc::not_found, r.kind + " " + r.name + " not found");
  if (expected_version && *expected_version != it->second.resource_version)
    return make_error(errc::conflict, "the object has been modified");
  r.uid = it->second.uid;
  r.created_at = it->second.created_at;
  stamp(r);
  it->second = r;
  return r;
}

result<store::resource_record> fake_store::apply_resource(store::resource_record r) {
  {
    std::lock_guard lock(mutex_);
    if (!resources_.count({r.kind, r.namespace_, r.name})) {
      r.uid = "uid-" + std::to_string(++uid_counter_);
      r.created_at = "2024-01-01T00:00:00Z";
      stamp(r);
      resources_[{r.kind, r.namespace_, r.name}] = r;
      return r;
    }
  }
  return update_resource(std::move(r), std::nullopt);
}

result<store::resource_record> fake_store::get_resource(const std::string& kind,
                                                        const std::string& ns,
                                                        const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = resources_.find({kind, ns, name});
  if (it == resources_.end()) return make_error(errc::not_found, kind + " " + name + " not found");
  return it->second;
}

result<std::vector<store::resource_record>> fake_store::list_resources(const std::string& kind,
                                                                       const std::string& ns) {
  std::lock_guard lock(mutex_);
  std::vector<store::resource_record> out;
  for (const auto& [k, r] : resources_)
    if (r.kind == kind && (ns.empty() || r.namespace_ == ns)) out.push_back(r);
  return out;
}

result<void> fake_store::delete_resource(const std::string& kind, const std::string& ns,
                                         const std::string& name) {
  std::lock_guard lock(mutex_);
  if (resources_.erase({kind, ns, name}) == 0)
    return make_error(errc::not_found, kind + " " + name + " not found");
  return {};
}

result<store::workflow_record> fake_store::create_workflow(store::workflow_record w) {
  std::lock_guard lock(mutex_);
  auto k = std::pair{w.namespace_, w.name};
  if (workflows_.count(k))
    return make_error(errc::already_exists, "workflow " + w.name + " exists");
  w.resource_version = ++version_;
  w.body["metadata"]["resourceVersion"] = std::to_string(w.resource_version);
  workflows_[k] = w;
  return w;
}

result<store::workflow_record> fake_store::update_workflow(store::workflow_record w) {
  std::lock_guard lock(mutex_);
  auto it = workflows_.find({w.namespace_, w.name});
  if (it == workflows_.end())
    return make_error(errc::not_found, "workflow " + w.name + " not found");
  w.resource_version = ++version_;
  it->second = w;
  return w;
}

result<store::workflow_record> fake_store::get_workflow(const std::string& ns,
                                                        const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = workflows_.find({ns, name});
  if (it == workflows_.end())
    return make_error(errc::not_found, "workflow " + ns + "/" + name + " not found");
  return it->second;
}

result<std::vector<store::workflow_record>> fake_store::list_workflows(const std::string& ns,
                                                                       std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<store::workflow_record> out;
  for (const auto& [k, w] : workflows_)
    if (ns.empty() || w.namespace_ == ns) out.push_back(w);
  return out;
}

result<void> fake_store::delete_workflow(const std::string& ns, const std::string& name) {
  std::lock_guard lock(mutex_);
  if (workflows_.erase({ns, name}) == 0)
    return make_error(errc::not_found, "workflow " + ns + "/" + name + " not found");
  return {};
}

result<void> fake_store::put_nodes(const std::vector<store::node_record>&) {
  return {};
}

result<std::vector<store::node_record>> fake_store::list_nodes(const std::string&) {
  return std::vector<store::node_record>{};
}

result<store::append_outcome> fake_store::append_event(store::event_record e) {
  std::lock_guard lock(mutex_);
  if (fail_appends_) return make_error(errc::internal, "disk full");
  for (const auto& existing : events_)
    if (existing.id == e.id) return store::append_outcome{existing.sequence, true};
  e.sequence = static_cast<std::int64_t>(events_.size()) + 1;
  events_.push_back(e);
  return store::append_outcome{e.sequence, false};
}

result<std::vector<store::event_record>> fake_store::read_events(std::int64_t after,
                                                                 std::size_t limit) {
  std::lock_guard lock(mutex_);
  std::vector<store::event_record> out;
  for (const auto& e : events_)
    if (e.sequence > after && (limit == 0 || out.size() < limit)) out.push_back(e);
  return out;
}

result<std::size_t> fake_store::trim_events(const std::string&, std::size_t) {
  return std::size_t{0};
}

result<void> fake_store::put_state(const std::string& scope, const std::string& ns,
                                   const std::string& name, const nlohmann::json& state) {
  std::lock_guard lock(mutex_);
  state_[{scope, ns, name}] = state;
  return {};
}

result<std::optional<nlohmann::json>> fake_store::get_state(const std::string& scope,
                                                            const std::string& ns,
                                                            const std::string& name) {
  std::function<void()> hook;
  {
    std::lock_guard lock(mutex_);
    hook = get_state_hook_;
  }
  if (hook) hook();
  std::lock_guard lock(mutex_);
  auto it = state_.find({scope, ns, name});
  if (it == state_.end()) return std::optional<nlohmann::json>{};
  return std::optional<nlohmann::json>{it->second};
}

result<void> fake_store::delete_state(const std::string& scope, const std::string& ns,
                                      const std::string& name) {
  std::lock_guard lock(mutex_);
  state_.erase({scope, ns, name});
  return {};
}

}  // namespace kairos::testing
