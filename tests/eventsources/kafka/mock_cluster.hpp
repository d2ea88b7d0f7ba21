#pragma once

// An in-process librdkafka mock cluster and a small producer, shared by the
// Kafka event-source and trigger tests.

#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace kairos::testing {

// Waits for a condition that depends on the mock cluster (a real network
// peer), not on time: the deadline is only a generous failure bound.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class mock_cluster {
 public:
  explicit mock_cluster(int brokers = 1) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk_) throw std::runtime_error(errstr);
    mc_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (!mc_) throw std::runtime_error("cannot start the mock cluster");
  }
  ~mock_cluster() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(rk_);
  }
  mock_cluster(const mock_cluster&) = delete;
  mock_cluster& operator=(const mock_cluster&) = delete;

  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(mc_); }
  void create_topic(const std::string& topic, int partitions) {
    rd_kafka_mock_topic_create(mc_, topic.c_str(), partitions, 1);
  }
  rd_kafka_mock_cluster_t* get() { return mc_; }

 private:
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
};

class producer {
 public:
  explicit producer(const std::string& brokers) {
    char errstr[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk_) throw std::runtime_error(errstr);
  }
  ~producer() {
    rd_kafka_flush(rk_, 10000);
    rd_kafka_destroy(rk_);
  }
  producer(const producer&) = delete;
  producer& operator=(const producer&) = delete;

  bool send(const std::string& topic, int partition, const std::string& value,
            const std::string& key = {},
            const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [k, v] : headers)
      rd_kafka_header_add(hdrs, k.c_str(), static_cast<ssize_t>(k.size()), v.data(),
                          static_cast<ssize_t>(v.size()));
    // Locals: the librdkafka macros cast their arguments without parentheses.
    void* data = const_cast<char*>(value.data());
    void* key_data = key.empty() ? nullptr : const_cast<char*>(key.data());
    const auto err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_VALUE(data, value.size()), RD_KAFKA_V_KEY(key_data, key.size()),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err) rd_kafka_headers_destroy(hdrs);
    return !err;
  }
  bool flush() { return rd_kafka_flush(rk_, 20000) == RD_KAFKA_RESP_ERR_NO_ERROR; }

 private:
  rd_kafka_t* rk_ = nullptr;
};

// The offset a group has committed for a partition (RD_KAFKA_OFFSET_INVALID
// when none).
inline std::int64_t committed_offset(const std::string& brokers, const std::string& group,
                                     const std::string& topic, int partition) {
  char errstr[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "group.id", group.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  auto* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, topic.c_str(), partition);
  std::int64_t out = -2;
  if (rd_kafka_committed(rk, list, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
    out = list->elems[0].offset;
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
  return out;
}

}  // namespace kairos::testing
