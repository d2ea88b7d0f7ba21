#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "kafka/mock_cluster.hpp"
#include "support.hpp"
#include "triggers/kafka/kafka_trigger.hpp"

namespace kairos::sensors::testing {
namespace {

using kairos::testing::eventually;
using kairos::testing::mock_cluster;

struct received {
  std::string value;
  std::string key;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Reads the first message of a topic partition.
std::optional<received> first_message(const std::string& brokers, const std::string& topic,
                                      int partition) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "group.id", "reader", errstr, sizeof errstr);  // assign() needs one
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  rd_kafka_poll_set_consumer(rk);
  auto* parts = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(parts, topic.c_str(), partition)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, parts);
  rd_kafka_topic_partition_list_destroy(parts);
  std::optional<received> out;
  eventually([&] {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) return false;
    if (!m->err) {
      received r;
      r.value.assign(static_cast<const char*>(m->payload), m->len);
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); ++i)
          r.headers.emplace_back(name, std::string(static_cast<const char*>(value), size));
      }
      out = r;
    }
    rd_kafka_message_destroy(m);
    return out.has_value();
  });
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

spec::trigger_parameter param(const std::string& data_key, const std::string& dest) {
  spec::trigger_parameter p;
  p.src.dependency_name = "dep";
  p.src.data_key = data_key;
  p.dest = dest;
  return p;
}

class kafka_trigger_test : public ::testing::Test {
 protected:
  spec::trigger make_trigger(const std::string& brokers, const std::string& topic) {
    spec::trigger t;
    t.template_.name = "to-kafka";
    spec::kafka_trigger k;
    k.url = brokers;
    k.topic = topic;
    k.payload = {param("body.id", "id")};
    t.template_.kafka = k;
    return t;
  }
  firing fire() {
    firing f;
    f.sensor_namespace = "default";
    f.sensor_name = "s";
    f.trigger_name = "to-kafka";
    f.events["dep"] = make_event("e1", {{"body", {{"id", 7}, {"user", "alice"}}}});
    return f;
  }
  result<void> run(const spec::trigger& t,
                   std::chrono::milliseconds timeout = kafka_trigger::default_delivery_timeout) {
    trigger_services services;
    services.data_dir = std::filesystem::temp_directory_path();
    auto action = kafka_trigger::make_with_timeout(t, services, timeout);
    if (!action) return std::move(action).error();
    return (*action)->execute(t, fire());
  }
  mock_cluster cluster_;
};

TEST_F(kafka_trigger_test, produces_payload_to_the_configured_partition_with_headers) {
  cluster_.create_topic("out", 3);
  auto t = make_trigger(cluster_.bootstraps(), "out");
  t.template_.kafka->partition = 2;
  t.template_.kafka->headers = {{"X-Source", "kairos"}};
  auto r = run(t);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto m = first_message(cluster_.bootstraps(), "out", 2);
  ASSERT_TRUE(m);
  // Argo payload values are strings unless useRawData is set.
  EXPECT_EQ(nlohmann::json::parse(m->value), nlohmann::json({{"id", "7"}}));
  EXPECT_EQ(m->key, "");
  ASSERT_EQ(m->headers.size(), 1u);
  EXPECT_EQ(m->headers[0], (std::pair<std::string, std::string>{"X-Source", "kairos"}));
}

TEST_F(kafka_trigger_test, partitioning_key_and_topic_come_from_parameters) {
  cluster_.create_topic("keyed", 1);
  auto t = make_trigger(cluster_.bootstraps(), "placeholder");
  t.template_.kafka->parameters = {param("body.user", "partitioningKey")};
  spec::trigger_parameter topic;
  topic.src.dependency_name = "dep";
  topic.src.value = "keyed";
  topic.src.data_key = "body.missing";
  topic.dest = "kafka.topic";
  t.parameters = {topic};
  auto r = run(t);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto m = first_message(cluster_.bootstraps(), "keyed", 0);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->key, "alice");
}

TEST_F(kafka_trigger_test, broker_refusing_the_produce_fails_the_trigger) {
  cluster_.create_topic("refused", 1);
  // Produce (API key 0) answered with a non-retriable error.
  rd_kafka_mock_push_request_errors(
      cluster_.get(), 0, 5, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  auto r = run(make_trigger(cluster_.bootstraps(), "refused"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("delivery failed"), std::string::npos) << r.error().message;
}

TEST_F(kafka_trigger_test, unreachable_broker_fails_when_the_delivery_report_times_out) {
  auto r = run(make_trigger("127.0.0.1:1", "any"), std::chrono::milliseconds(300));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("delivery failed"), std::string::npos) << r.error().message;
}

TEST_F(kafka_trigger_test, registry_builds_kafka_triggers) {
  trigger_services services;
  auto action = make_trigger_action(make_trigger(cluster_.bootstraps(), "t"), services);
  EXPECT_TRUE(action.ok());
}

}  // namespace
}  // namespace kairos::sensors::testing
