#pragma once

// Argo's Kafka event source on librdkafka. A consumer thread polls and queues
// messages; append threads take them in chunks, build their events side by
// side, and hand the chunks to the journal in the order they were taken, so
// a partition's messages are journaled in order however a fetch spreads
// over the threads. An offset is committed only once its message and every
// earlier one of its partition are in the journal. With a
// consumer group offsets go to Kafka; with a fixed partition (no group) the
// next offset is kept in the store (scope "kafka"), so a restart resumes
// where the journal ends instead of at Argo's "newest".

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "kafka/config.hpp"
#include "source.hpp"

namespace kairos::eventsources {

// librdkafka's conf from the settings; an unknown property or a bad value
// is an error that names it. The caller owns the returned conf.
struct kafka_conf_deleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using kafka_conf_ptr = std::unique_ptr<rd_kafka_conf_t, kafka_conf_deleter>;
result<kafka_conf_ptr> make_consumer_conf(const kafka_source_settings& s);

// The journal data of one message, shaped as Argo's KafkaEventData. nullopt
// when jsonBody is set and the value is not JSON (Argo drops such events).
struct kafka_message_view {
  std::string topic;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a null record
  std::int64_t timestamp_ms = -1;
  std::vector<std::pair<std::string, std::string>> headers;
};
std::optional<nlohmann::json> kafka_event_data(const kafka_message_view& m, bool json_body,
                                               const nlohmann::json& metadata);
// The same data printed without building it: JSON text that parses back as
// kafka_event_data's value, with a JSON body copied in as it came instead of
// parsed and printed again. `metadata` is the metadata object's text, empty
// for none. Throws nlohmann::json::type_error where the key, the topic or a
// header is not valid UTF-8 (kafka_event_data's value then needs the
// store's own printing).
std::optional<std::string> kafka_event_text(const kafka_message_view& m, bool json_body,
                                            std::string_view metadata);

class kafka_source final : public source {
 public:
  kafka_source(const source_context& ctx, std::string event_name, kafka_source_settings settings);
  ~kafka_source() override;
  result<void> start() override;
  void stop() override;

  // Messages taken from Kafka and not yet journaled (tests, metrics).
  std::size_t in_flight() const { return in_flight_.load(); }
  // Whether consumption is held: by the in-flight bound (polling waits) or
  // by the journal backlog (partitions paused).
  bool paused() const { return paused_.load() || holding_.load(); }

 private:
  struct item {
    kafka_message_view message;
    std::uint64_t generation = 0;
  };
  // Offsets of one partition between "taken" and "committed".
  struct partition_track {
    std::uint64_t generation = 0;
    std::map<std::int64_t, bool> pending;  // offset -> journaled
    std::int64_t ready = -1;               // next offset safe to commit
    std::int64_t committed = -1;
  };

  static void rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* parts, void* opaque);
  void on_assign(rd_kafka_topic_partition_list_t* parts);
  void on_revoke(rd_kafka_topic_partition_list_t* parts);
  void consume_loop();
  void append_loop();
  // Builds a chunk's events, waits for its turn and queues its append.
  void journal(std::shared_ptr<std::vector<item>> chunk, std::uint64_t ticket);
  // On the store's writer thread, once the chunk's append is over.
  void journaled(const std::shared_ptr<std::vector<item>>& chunk,
                 const std::vector<std::size_t>& appended, const std::vector<emit_result>& results);
  void mark_done(const std::vector<const item*>& items);
  void flow_control();
  // Waits while too many messages are in flight; false when not needed.
  bool hold_while_in_flight();
  // Waits while the sensors are hold_journal_backlog behind; false when not
  // needed, and once a second during a long hold so the group keeps us.
  bool hold_while_behind();
  // Commits what is ready; `only` limits it to some partitions.
  void commit_ready(bool sync, const std::vector<std::int32_t>* only = nullptr);
  std::string state_name(std::int32_t partition) const;

  std::shared_ptr<emitter> out_;
  std::function<std::int64_t()> journal_backlog_;
  std::int64_t backlog_ = 0;  // last value read, on the consumer thread
  std::chrono::steady_clock::time_point backlog_read_{};
  bool behind_ = false;  // holding for the backlog; consumer thread
  std::chrono::steady_clock::time_point behind_since_{};
  event_origin origin_;
  kafka_source_settings settings_;
  std::string id_prefix_;
  // settings_.metadata printed once for every envelope (empty for none);
  // nullopt when it cannot be, and each event is then built as a tree.
  std::optional<std::string> metadata_text_;

  rd_kafka_t* rk_ = nullptr;
  std::thread consumer_;
  std::vector<std::thread> workers_;
  // Messages taken from Kafka, in the order they were taken.
  std::mutex queue_mutex_;
  std::condition_variable queue_cv_;
  std::deque<item> queue_;
  std::uint64_t next_ticket_ = 0;  // numbers the chunks as they are taken
  // A chunk the journal refused goes back to the front of the queue and is
  // taken again no sooner than this.
  std::chrono::steady_clock::time_point retry_at_{};
  std::chrono::milliseconds retry_backoff_{50};
  // Chunks go to the journal in ticket order.
  std::mutex turn_mutex_;
  std::condition_variable turn_cv_;
  std::uint64_t turn_ = 0;             // the ticket whose chunk goes next
  std::size_t outstanding_ = 0;        // chunks with the journal, not yet back
  std::atomic<bool> stopping_{false};  // consumer loop ends
  std::atomic<bool> draining_{false};  // append threads end once the queue is empty
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<bool> paused_{false};   // partitions paused for the backlog
  std::atomic<bool> holding_{false};  // polling held for the in-flight bound or the backlog
  bool started_ = false;

  std::mutex track_mutex_;
  std::condition_variable track_cv_;
  std::map<std::int32_t, partition_track> tracks_;
  std::uint64_t next_generation_ = 1;
};

result<std::vector<std::unique_ptr<source>>> build_kafka_sources(
    const source_context& ctx, const spec::event_source_spec& spec);

}  // namespace kairos::eventsources
