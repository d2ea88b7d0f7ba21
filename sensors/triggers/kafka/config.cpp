#include "config.hpp"

#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kairos/core/json_path.hpp"
#include "kairos/sensors/parameters.hpp"
#include "kairos/spec/kafka_security.hpp"

namespace kairos::sensors::kafka_trigger {

namespace {

result<std::string> secret(const spec::secret_resolver& secrets,
                           const spec::secret_key_selector& ref, std::string_view what) {
  auto v = secrets.resolve(ref);
  if (!v) return make_error(v.error().code, fmt::format("{}: {}", what, v.error().message));
  return v->reveal();
}

nlohmann::json view_of(const spec::kafka_trigger& k) {
  nlohmann::json v = {
      {"url", k.url}, {"topic", k.topic}, {"partition", k.partition}, {"headers", k.headers}};
  if (k.partitioning_key) v["partitioningKey"] = *k.partitioning_key;
  return v;
}

}  // namespace

result<config> read_config(const spec::trigger& t, const event_map& events,
                           const spec::secret_resolver& secrets) {
  if (!t.template_.kafka) return make_error(errc::internal, "not a kafka trigger");
  const auto& k = *t.template_.kafka;
  // Trigger-level dests address the template (`kafka.topic`); the kafka
  // block's own parameters address the block (`topic`, `partitioningKey`).
  nlohmann::json doc = {{"kafka", view_of(k)}};
  std::vector<spec::trigger_parameter> template_params;
  for (const auto& p : t.parameters)
    if (p.dest.starts_with("kafka.")) template_params.push_back(p);
  if (auto r = apply_parameters(doc, template_params, events); !r) return std::move(r).error();
  nlohmann::json view = doc["kafka"];
  if (auto r = apply_parameters(view, k.parameters, events); !r) return std::move(r).error();

  config c;
  c.brokers = json_path::to_string(view.value("url", nlohmann::json("")));
  c.topic = json_path::to_string(view.value("topic", nlohmann::json("")));
  if (c.brokers.empty())
    return make_error(errc::invalid_argument,
                      fmt::format("trigger \"{}\": kafka url is empty", t.template_.name));
  if (c.topic.empty())
    return make_error(errc::invalid_argument,
                      fmt::format("trigger \"{}\": kafka topic is empty", t.template_.name));
  const auto& partition = view["partition"];
  if (partition.is_number_integer() && partition.get<std::int64_t>() >= 0 &&
      partition.get<std::int64_t>() <= INT32_MAX)
    c.partition = partition.get<std::int32_t>();
  else if (!partition.is_null())
    return make_error(errc::invalid_argument,
                      fmt::format("trigger \"{}\": kafka partition {} is not a partition number",
                                  t.template_.name, partition.dump()));
  if (view.contains("partitioningKey") && !view["partitioningKey"].is_null())
    c.key = json_path::to_string(view["partitioningKey"]);
  if (view["headers"].is_object())
    for (const auto& [name, value] : view["headers"].items())
      c.headers.emplace_back(name, json_path::to_string(value));
  for (const auto& h : k.secure_headers) {
    auto v = secret(secrets, h.secret_key_ref, "secure header \"" + h.name + "\"");
    if (!v) return std::move(v).error();
    c.headers.emplace_back(h.name, std::move(*v));
  }
  c.properties.emplace_back("acks", std::to_string(k.required_acks));
  // sarama's codec when Argo's `compress` is set.
  if (k.compress) c.properties.emplace_back("compression.codec", "snappy");
  auto security = spec::kafka_security_properties(k.tls, k.sasl, &secrets);
  if (!security) return std::move(security).error();
  for (auto& p : *security) c.properties.push_back(std::move(p));
  c.payload = k.payload;
  return c;
}

}  // namespace kairos::sensors::kafka_trigger
