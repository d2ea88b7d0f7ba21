// `kairos dev kafka`: a throwaway Kafka cluster for local pipelines and
// benchmarks, librdkafka's in-process mock cluster. It prints the bootstrap
// address on stdout and runs until SIGINT/SIGTERM.

#include <csignal>
#include <iostream>
#include <memory>
#include <string>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>

#include "commands/commands.hpp"

namespace kairos::cli {
namespace {

struct dev_kafka_options {
  int brokers = 1;
  std::string topic;
  int partitions = 1;
  long produce = 0;
  std::size_t size = 100;
};

struct delivery_count {
  long delivered = 0;
  long failed = 0;
  std::string first_error;
};

// Produces `n` messages of `size` bytes (a JSON object padded to size)
// round-robin over the topic's partitions, waiting for every delivery.
int produce(const std::string& bootstraps, const dev_kafka_options& o) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps.c_str(), errstr, sizeof errstr);
  rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof errstr);
  // Counted, so that a benchmark knows how many messages the topic holds.
  delivery_count count;
  rd_kafka_conf_set_opaque(conf, &count);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* c = static_cast<delivery_count*>(opaque);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++c->delivered;
    } else {
      if (c->failed++ == 0) c->first_error = rd_kafka_err2str(m->err);
    }
  });
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::cerr << "kairos dev kafka: " << errstr << "\n";
    return 1;
  }
  for (long i = 0; i < o.produce; ++i) {
    std::string value = "{\"n\":" + std::to_string(i) + ",\"pad\":\"";
    if (value.size() + 2 < o.size) value.append(o.size - value.size() - 2, 'x');
    value += "\"}";
    for (;;) {
      const auto err =
          rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(o.topic.c_str()),
                            RD_KAFKA_V_PARTITION(static_cast<int32_t>(i % o.partitions)),
                            RD_KAFKA_V_VALUE(value.data(), value.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk, 10);
    }
    rd_kafka_poll(rk, 0);
  }
  const bool flushed = rd_kafka_flush(rk, 120000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_destroy(rk);
  std::cerr << "kairos dev kafka: produced " << count.delivered << " messages to " << o.topic;
  if (count.failed > 0)
    std::cerr << " (" << count.failed << " not delivered: " << count.first_error << ")";
  std::cerr << "\n";
  return flushed && count.failed == 0 ? 0 : 1;
}

int run_dev_kafka(const dev_kafka_options& o) {
  // Signals are taken with sigwait; every thread librdkafka starts inherits
  // the mask, so none of them gets SIGINT/SIGTERM first.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof errstr);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::cerr << "kairos dev kafka: " << errstr << "\n";
    return 1;
  }
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(rk, o.brokers);
  if (!mc) {
    std::cerr << "kairos dev kafka: cannot start the mock cluster\n";
    rd_kafka_destroy(rk);
    return 1;
  }
  const std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mc);
  if (!o.topic.empty()) rd_kafka_mock_topic_create(mc, o.topic.c_str(), o.partitions, 1);
  std::cout << bootstraps << std::endl;
  int rc = 0;
  if (o.produce > 0 && !o.topic.empty()) rc = produce(bootstraps, o);
  int sig = 0;
  sigwait(&signals, &sig);
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return rc;
}

}  // namespace

void add_dev_command(CLI::App& app, context& ctx) {
  auto* dev = app.add_subcommand("dev", "Local development helpers");
  dev->require_subcommand(1);
  auto opts = std::make_shared<dev_kafka_options>();
  auto* kafka = dev->add_subcommand(
      "kafka",
      "Run an in-process Kafka mock cluster; prints its bootstrap address, runs until SIGINT");
  kafka->add_option("--brokers", opts->brokers, "number of brokers")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  kafka->add_option("--topic", opts->topic, "create this topic");
  kafka->add_option("--partitions", opts->partitions, "partitions of --topic")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  kafka->add_option("--produce", opts->produce, "produce this many messages to --topic")
      ->check(CLI::NonNegativeNumber);
  kafka->add_option("--size", opts->size, "bytes per produced message")->capture_default_str();
  kafka->callback([&ctx, opts] {
    ctx.action = [opts] {
      if (opts->produce > 0 && opts->topic.empty()) {
        std::cerr << "kairos dev kafka: --produce needs --topic\n";
        return 2;
      }
      return run_dev_kafka(*opts);
    };
  });
}

}  // namespace kairos::cli
