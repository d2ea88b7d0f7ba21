#include "kafka_trigger.hpp"

#include <mutex>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "config.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/sensors/parameters.hpp"
#include "kairos/spec/secret.hpp"

namespace kairos::sensors::kafka_trigger {
namespace {

struct delivery {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void*) {
  auto* d = static_cast<delivery*>(msg->_private);
  if (!d) return;
  d->err = msg->err;
  d->done = true;
}

class action final : public trigger_action {
 public:
  action(std::filesystem::path data_dir, std::chrono::milliseconds timeout)
      : secrets_(std::move(data_dir)), timeout_(timeout) {}
  ~action() override { reset(); }

  result<void> execute(const spec::trigger& t, const firing& f) override {
    auto c = read_config(t, f.events, secrets_);
    if (!c) return std::move(c).error();
    auto payload = build_payload(c->payload, f.events);
    if (!payload) return std::move(payload).error();
    const std::string value = dump_json_replacing(*payload);

    std::lock_guard lock(mutex_);
    if (auto r = ensure_producer(*c); !r) return std::move(r).error();
    rd_kafka_headers_t* headers = rd_kafka_headers_new(c->headers.size());
    for (const auto& [name, v] : c->headers)
      rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    delivery d;
    const std::int32_t partition = c->key ? RD_KAFKA_PARTITION_UA : c->partition;
    // Locals: the librdkafka macros cast their arguments without parentheses.
    void* key = c->key ? const_cast<char*>(c->key->data()) : nullptr;
    const std::size_t key_len = c->key ? c->key->size() : 0;
    void* data = const_cast<char*>(value.data());
    const std::size_t size = value.size();
    const auto err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(c->topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(data, size), RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(&d), RD_KAFKA_V_END);
    if (err) {
      rd_kafka_headers_destroy(headers);
      return make_error(errc::unavailable,
                        fmt::format("kafka {} topic {}: cannot produce: {}", c->brokers, c->topic,
                                    rd_kafka_err2str(err)));
    }
    // message.timeout.ms makes librdkafka report a failure by then; the
    // margin only guards against a report that never comes.
    const auto deadline = std::chrono::steady_clock::now() + timeout_ + std::chrono::seconds(5);
    while (!d.done && std::chrono::steady_clock::now() < deadline) rd_kafka_poll(rk_, 50);
    if (!d.done) {
      // `d` is on this stack: make sure no report can reach it later.
      rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      while (!d.done) rd_kafka_poll(rk_, 50);
    }
    if (d.err)
      return make_error(errc::unavailable,
                        fmt::format("kafka {} topic {}: delivery failed: {}", c->brokers, c->topic,
                                    rd_kafka_err2str(d.err)));
    spdlog::info("sensor {}/{} trigger {}: produced {} bytes to kafka topic {}", f.sensor_namespace,
                 f.sensor_name, f.trigger_name, value.size(), c->topic);
    return {};
  }

 private:
  result<void> ensure_producer(const config& c) {
    std::string identity = c.brokers;
    for (const auto& [k, v] : c.properties) identity += "\n" + k + "=" + v;
    if (rk_ && identity == identity_) return {};
    reset();
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    char errstr[512] = {0};
    std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", c.brokers},
        {"client.id", "kairos"},
        {"message.timeout.ms", std::to_string(timeout_.count())},
        // Java's (and most clients') key hash, so keyed messages land where
        // other producers put the same key.
        {"partitioner", "murmur2_random"},
        {"log_level", "3"},
    };
    props.insert(props.end(), c.properties.begin(), c.properties.end());
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return make_error(errc::invalid_argument,
                          fmt::format("kafka producer property \"{}\": {}", k, errstr));
      }
    }
    rd_kafka_conf_set_dr_msg_cb(conf, &on_delivery);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk_) {
      rd_kafka_conf_destroy(conf);
      return make_error(errc::invalid_argument, fmt::format("kafka producer: {}", errstr));
    }
    identity_ = std::move(identity);
    return {};
  }

  void reset() {
    if (!rk_) return;
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_, 1000);
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  spec::secret_resolver secrets_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  rd_kafka_t* rk_ = nullptr;
  std::string identity_;
};

}  // namespace

result<std::unique_ptr<trigger_action>> make_with_timeout(const spec::trigger& t,
                                                          const trigger_services& services,
                                                          std::chrono::milliseconds timeout) {
  if (!t.template_.kafka) return make_error(errc::internal, "not a kafka trigger");
  if (t.template_.kafka->url.empty() || t.template_.kafka->topic.empty())
    return make_error(
        errc::invalid_argument,
        fmt::format("trigger \"{}\": kafka url and topic are required", t.template_.name));
  return std::unique_ptr<trigger_action>(new action(services.data_dir, timeout));
}

result<std::unique_ptr<trigger_action>> make(const spec::trigger& t,
                                             const trigger_services& services) {
  return make_with_timeout(t, services, default_delivery_timeout);
}

}  // namespace kairos::sensors::kafka_trigger
