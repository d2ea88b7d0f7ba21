#include "kafka/kafka_source.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <map>
#include <string_view>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "calendar/calendar_source.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/core/text.hpp"

namespace kairos::eventsources {

namespace {

result<void> set_property(rd_kafka_conf_t* conf, const std::string& key, const std::string& value) {
  char errstr[512] = {0};
  if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
      RD_KAFKA_CONF_OK)
    return make_error(errc::invalid_argument, fmt::format("librdkafka property \"{}\": {}", key,
                                                          errstr[0] ? errstr : "rejected"));
  return {};
}

// Argo's timestamp: Go's time.String() of the message time in UTC (the
// zero time when the message has none).
std::string go_timestamp(const kafka_message_view& m) {
  const auto ts =
      m.timestamp_ms >= 0
          ? std::chrono::system_clock::time_point(std::chrono::milliseconds(m.timestamp_ms))
          : std::chrono::system_clock::time_point{};
  return go_time_string(ts, "UTC");
}

}  // namespace

result<kafka_conf_ptr> make_consumer_conf(const kafka_source_settings& s) {
  kafka_conf_ptr conf(rd_kafka_conf_new());
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", s.brokers},
      {"client.id", "kairos"},
      {"auto.offset.reset", s.oldest ? "earliest" : "latest"},
      // Bounds the prefetch queue, so memory stays bounded while paused.
      {"queued.max.messages.kbytes", "16384"},
      {"log_level", "3"},
  };
  if (s.group) {
    props.emplace_back("group.id", *s.group);
    props.emplace_back("partition.assignment.strategy", s.assignment_strategy);
  } else {
    // librdkafka's assign() needs a group id even though no group is joined
    // and no offset is committed to Kafka (the store keeps them).
    props.emplace_back("group.id", "kairos-unjoined-" + s.topic);
  }
  props.insert(props.end(), s.properties.begin(), s.properties.end());
  props.emplace_back("enable.auto.commit", "false");
  props.emplace_back("enable.auto.offset.store", "false");
  for (const auto& [k, v] : props)
    if (auto r = set_property(conf.get(), k, v); !r) return std::move(r).error();
  return conf;
}

std::optional<nlohmann::json> kafka_event_data(const kafka_message_view& m, bool json_body,
                                               const nlohmann::json& metadata) {
  // Argo's KafkaEventData: headers is a Go map (a repeated key keeps the
  // last value), timestamp is Go's time.String(), and the body is the raw
  // JSON with jsonBody, else []byte, which Go's encoder writes as base64.
  nlohmann::json data = nlohmann::json::object();
  auto& d = data.get_ref<nlohmann::json::object_t&>();
  d.emplace("topic", m.topic);
  d.emplace("key", m.key.value_or(""));
  d.emplace("partition", m.partition);
  d.emplace("timestamp", go_timestamp(m));
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [k, v] : m.headers) headers[k] = v;
  d.emplace("headers", std::move(headers));
  if (!metadata.empty()) d.emplace("metadata", metadata);
  if (!m.value) {
    d.emplace("body", nullptr);
  } else if (json_body) {
    auto parsed = parse_json(*m.value);
    if (parsed.is_discarded()) return std::nullopt;
    d.emplace("body", std::move(parsed));
  } else {
    d.emplace("body", base64_encode(*m.value));
  }
  return data;
}

std::optional<std::string> kafka_event_text(const kafka_message_view& m, bool json_body,
                                            std::string_view metadata) {
  std::string_view body;
  if (m.value && json_body) {
    body = *m.value;
    if (!is_json(body)) return std::nullopt;
    // The parser skips a byte order mark at the start; inside the envelope
    // it would not be JSON.
    if (body.substr(0, 3) == "\xEF\xBB\xBF") body.remove_prefix(3);
  }
  std::string out;
  out.reserve(body.size() + m.topic.size() + 128 + metadata.size());
  // Members in the order dump_json prints kafka_event_data's (by name).
  out += R"({"body":)";
  if (!m.value)
    out += "null";
  else if (json_body)
    out += body;
  else
    dump_json_string(base64_encode(*m.value), out);
  out += R"(,"headers":{)";
  if (!m.headers.empty()) {
    // A Go map: a repeated key keeps the last value.
    std::map<std::string_view, std::string_view> headers;
    for (const auto& [k, v] : m.headers) headers[k] = v;
    bool first = true;
    for (const auto& [k, v] : headers) {
      if (!first) out += ',';
      first = false;
      dump_json_string(k, out);
      out += ':';
      dump_json_string(v, out);
    }
  }
  out += R"(},"key":)";
  dump_json_string(m.key ? std::string_view(*m.key) : std::string_view(), out);
  if (!metadata.empty()) {
    out += R"(,"metadata":)";
    out += metadata;
  }
  out += R"(,"partition":)";
  out += std::to_string(m.partition);
  out += R"(,"timestamp":)";
  dump_json_string(go_timestamp(m), out);
  out += R"(,"topic":)";
  dump_json_string(m.topic, out);
  out += '}';
  return out;
}

kafka_source::kafka_source(const source_context& ctx, std::string event_name,
                           kafka_source_settings settings)
    : out_(ctx.out),
      journal_backlog_(ctx.journal_backlog),
      origin_{ctx.namespace_, ctx.name, event_name, "kafka"},
      settings_(std::move(settings)),
      id_prefix_(ctx.namespace_ + "/" + ctx.name + "/" + event_name + "/" + settings_.topic + "/") {
  try {
    metadata_text_ = settings_.metadata.empty() ? std::string() : dump_json(settings_.metadata);
  } catch (const nlohmann::json::exception&) {
    // Not valid UTF-8: every event is built as a tree, which the store
    // prints its own way.
  }
  if (settings_.append_threads == 0) settings_.append_threads = 1;
  if (settings_.max_in_flight == 0) settings_.max_in_flight = 1;
}

kafka_source::~kafka_source() {
  stop();
}

std::string kafka_source::state_name(std::int32_t partition) const {
  return fmt::format("{}/{}/{}/{}", origin_.source, origin_.subject, settings_.topic, partition);
}

result<void> kafka_source::start() {
  if (started_) return {};
  const auto where = fmt::format("kafka event source {}/{} event {}", origin_.namespace_,
                                 origin_.source, origin_.subject);
  auto conf = make_consumer_conf(settings_);
  if (!conf) return make_error(conf.error().code, where + ": " + conf.error().message);
  if (settings_.group) {
    rd_kafka_conf_set_rebalance_cb(conf->get(), &kafka_source::rebalance_cb);
    rd_kafka_conf_set_opaque(conf->get(), this);
  }
  char errstr[512] = {0};
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof errstr);
  if (!rk_) return make_error(errc::invalid_argument, where + ": " + errstr);
  conf->release();  // rd_kafka_new took it
  rd_kafka_poll_set_consumer(rk_);

  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (settings_.group) {
    auto* topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, settings_.topic.c_str(), RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(rk_, topics);
    rd_kafka_topic_partition_list_destroy(topics);
  } else {
    // Resume after the last journaled message; a first start begins at the
    // partition's end, as Argo's OffsetNewest does, resolved now so that
    // whatever is produced after start() returns is consumed.
    std::int64_t offset = RD_KAFKA_OFFSET_END;
    auto state = out_->db().get_state("kafka", origin_.namespace_, state_name(settings_.partition));
    if (state && *state && (**state).contains("offset") &&
        (**state)["offset"].is_number_integer()) {
      offset = (**state)["offset"].get<std::int64_t>();
    } else {
      std::int64_t low = 0, high = 0;
      if (rd_kafka_query_watermark_offsets(rk_, settings_.topic.c_str(), settings_.partition, &low,
                                           &high, 5000) == RD_KAFKA_RESP_ERR_NO_ERROR)
        offset = high;
    }
    {
      std::lock_guard lock(track_mutex_);
      auto& t = tracks_[settings_.partition];
      t.generation = next_generation_++;
      if (offset >= 0) t.ready = t.committed = offset;
    }
    auto* parts = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(parts, settings_.topic.c_str(), settings_.partition)->offset =
        offset;
    err = rd_kafka_assign(rk_, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    if (err) {
      rd_kafka_destroy(rk_);
      rk_ = nullptr;
      return make_error(errc::unavailable,
                        where + ": cannot assign the partition: " + rd_kafka_err2str(err));
    }
  }
  if (err) {
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
    return make_error(errc::unavailable, where + ": cannot subscribe: " + rd_kafka_err2str(err));
  }

  stopping_ = false;
  draining_ = false;
  next_ticket_ = turn_ = 0;
  outstanding_ = 0;
  retry_at_ = {};
  retry_backoff_ = std::chrono::milliseconds(50);
  for (std::size_t i = 0; i < settings_.append_threads; ++i)
    workers_.emplace_back([this] { append_loop(); });
  consumer_ = std::thread([this] { consume_loop(); });
  started_ = true;
  spdlog::info("{}: consuming {} from {}{}", where, settings_.topic, settings_.brokers,
               settings_.group ? " as group " + *settings_.group
                               : fmt::format(" partition {}", settings_.partition));
  return {};
}

void kafka_source::stop() {
  if (!started_) return;
  started_ = false;
  stopping_ = true;
  track_cv_.notify_all();
  if (consumer_.joinable()) consumer_.join();
  // What was taken from Kafka is journaled before the last commit, unless
  // the journal refuses it (then it is not committed and comes again).
  draining_ = true;
  queue_cv_.notify_all();
  for (auto& w : workers_)
    if (w.joinable()) w.join();
  workers_.clear();
  {
    // The last chunks are still with the journal: their offsets are
    // committed below once they are back.
    std::unique_lock lock(turn_mutex_);
    turn_cv_.wait(lock, [&] { return outstanding_ == 0; });
  }
  {
    // Refused chunks queued again after the threads ended: not committed,
    // so consumed again after a restart.
    std::lock_guard lock(queue_mutex_);
    queue_.clear();
  }
  commit_ready(true);
  if (settings_.group) rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
  rk_ = nullptr;
  std::lock_guard lock(track_mutex_);
  tracks_.clear();
  in_flight_ = 0;
  paused_ = false;
  holding_ = false;
}

void kafka_source::rebalance_cb(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<kafka_source*>(opaque);
  const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    self->on_assign(parts);
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_assign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, parts);
    }
    // Partitions assigned while paused join the pause; flow_control only
    // pauses what was assigned when it ran.
    if (self->paused_) rd_kafka_pause_partitions(rk, parts);
  } else {
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) self->on_revoke(parts);
    if (cooperative) {
      if (auto* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
    } else {
      rd_kafka_assign(rk, nullptr);
    }
  }
}

void kafka_source::on_assign(rd_kafka_topic_partition_list_t* parts) {
  std::lock_guard lock(track_mutex_);
  for (int i = 0; i < parts->cnt; ++i) {
    auto& t = tracks_[parts->elems[i].partition];
    t = partition_track{};
    t.generation = next_generation_++;
  }
  spdlog::info("kafka event source {}/{} event {}: {} partition(s) assigned", origin_.namespace_,
               origin_.source, origin_.subject, parts->cnt);
}

void kafka_source::on_revoke(rd_kafka_topic_partition_list_t* parts) {
  std::vector<std::int32_t> revoked;
  for (int i = 0; i < parts->cnt; ++i) revoked.push_back(parts->elems[i].partition);
  {
    // Let what is in flight for these partitions reach the journal, so the
    // next owner does not start before it (it would only be a duplicate).
    std::unique_lock lock(track_mutex_);
    track_cv_.wait_for(lock, std::chrono::seconds(10), [&] {
      // Stopping: the append threads are drained (or gave up) before the
      // consumer is closed, so there is nothing left worth waiting for.
      if (stopping_) return true;
      for (auto p : revoked) {
        auto it = tracks_.find(p);
        if (it == tracks_.end()) continue;
        for (const auto& [offset, done] : it->second.pending)
          if (!done) return false;
      }
      return true;
    });
  }
  commit_ready(true, &revoked);
  std::lock_guard lock(track_mutex_);
  for (auto p : revoked) tracks_.erase(p);
}

void kafka_source::consume_loop() {
  using steady = std::chrono::steady_clock;
  auto window_start = steady::now();
  std::int64_t window_count = 0;
  auto last_commit = steady::now();
  auto last_error_log = steady::time_point{};
  while (!stopping_) {
    flow_control();
    const bool held = hold_while_behind() || hold_while_in_flight();
    // Also while held: what is journaled gets committed however long the
    // sensors take.
    if (steady::now() - last_commit >= settings_.commit_interval) {
      commit_ready(false);
      last_commit = steady::now();
    }
    if (held) continue;
    if (settings_.limit_events_per_second > 0) {
      const auto now = steady::now();
      if (now - window_start >= std::chrono::seconds(1)) {
        window_start = now;
        window_count = 0;
      }
      if (window_count >= settings_.limit_events_per_second) {
        // The next window is at most a second away, far inside
        // max.poll.interval.ms, so the group protocol can wait for it.
        // (rd_kafka_poll() is not allowed once the main queue is
        // forwarded to the consumer queue.)
        std::unique_lock lock(track_mutex_);
        track_cv_.wait_until(lock, window_start + std::chrono::seconds(1),
                             [&] { return stopping_.load(); });
        continue;
      }
    }
    rd_kafka_message_t* msg =
        rd_kafka_consumer_poll(rk_, static_cast<int>(settings_.poll_timeout.count()));
    if (!msg) continue;
    if (msg->err) {
      if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
          steady::now() - last_error_log > std::chrono::seconds(10)) {
        last_error_log = steady::now();
        spdlog::warn("kafka event source {}/{} event {}: {}", origin_.namespace_, origin_.source,
                     origin_.subject, rd_kafka_message_errstr(msg));
      }
      rd_kafka_message_destroy(msg);
      continue;
    }
    item it;
    it.message.topic = rd_kafka_topic_name(msg->rkt);
    it.message.partition = msg->partition;
    it.message.offset = msg->offset;
    if (msg->key) it.message.key.emplace(static_cast<const char*>(msg->key), msg->key_len);
    if (msg->payload) it.message.value.emplace(static_cast<const char*>(msg->payload), msg->len);
    rd_kafka_timestamp_type_t ts_type;
    it.message.timestamp_ms = rd_kafka_message_timestamp(msg, &ts_type);
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR && hdrs) {
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0;
           rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i)
        it.message.headers.emplace_back(
            name, value ? std::string(static_cast<const char*>(value), size) : std::string());
    }
    rd_kafka_message_destroy(msg);
    ++window_count;
    {
      std::lock_guard lock(track_mutex_);
      auto found = tracks_.find(it.message.partition);
      if (found == tracks_.end()) continue;  // revoked meanwhile
      it.generation = found->second.generation;
      found->second.pending.emplace(it.message.offset, false);
    }
    ++in_flight_;
    {
      std::lock_guard lock(queue_mutex_);
      queue_.push_back(std::move(it));
    }
    queue_cv_.notify_one();
  }
}

bool kafka_source::hold_while_in_flight() {
  // Polling stops instead of pausing the partitions: a pause makes
  // librdkafka drop what it has prefetched and fetch it again on resume,
  // which at this bound happens every few thousand messages. What librdkafka
  // prefetches meanwhile is bounded by queued.max.messages.kbytes.
  if (in_flight_.load() < settings_.max_in_flight) return false;
  holding_ = true;
  {
    std::unique_lock lock(track_mutex_);
    // Bounded, so the loop still commits, serves rebalances and sees stop().
    track_cv_.wait_for(lock, settings_.poll_timeout, [&] {
      return stopping_.load() || in_flight_.load() <= settings_.max_in_flight / 2;
    });
  }
  const bool still = in_flight_.load() > settings_.max_in_flight / 2;
  holding_ = still;
  return still;
}

bool kafka_source::hold_while_behind() {
  const auto limit = settings_.hold_journal_backlog;
  if (limit <= 0 || !journal_backlog_) return false;
  // What is in flight joins the journal's backlog within milliseconds: left
  // out, the sensors fell up to max_in_flight events further behind, out of
  // the store's cache, and parsed those events from SQLite again.
  const auto ahead = backlog_ + static_cast<std::int64_t>(in_flight_.load());
  const bool hold = behind_ ? ahead > limit / 2 : ahead >= limit;
  if (!hold) {
    if (behind_) {
      behind_ = false;
      holding_ = false;
    }
    return false;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!behind_) {
    behind_ = true;
    behind_since_ = now;
  } else if (now - behind_since_ >= std::chrono::seconds(1)) {
    // One poll a second, far inside max.poll.interval.ms, keeps this
    // consumer in its group while a sensor is stuck; it takes at most a
    // message.
    behind_since_ = now;
    return false;
  }
  holding_ = true;
  {
    std::unique_lock lock(track_mutex_);
    track_cv_.wait_for(lock, settings_.hold_check_interval, [&] { return stopping_.load(); });
  }
  backlog_ = journal_backlog_();
  backlog_read_ = std::chrono::steady_clock::now();
  return true;
}

void kafka_source::flow_control() {
  const auto n = in_flight_.load();
  if (journal_backlog_) {
    const auto now = std::chrono::steady_clock::now();
    if (now - backlog_read_ >= settings_.backlog_check_interval) {
      backlog_ = journal_backlog_();
      backlog_read_ = now;
    }
  }
  const auto max_backlog = settings_.max_journal_backlog;
  const bool pause = !paused_ && max_backlog > 0 && backlog_ >= max_backlog;
  const bool resume = paused_ && (max_backlog <= 0 || backlog_ <= max_backlog / 2);
  if (!pause && !resume) return;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk_, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  if (pause)
    rd_kafka_pause_partitions(rk_, assigned);
  else
    rd_kafka_resume_partitions(rk_, assigned);
  rd_kafka_topic_partition_list_destroy(assigned);
  paused_ = pause;
  spdlog::debug(
      "kafka event source {}/{} event {}: {} ({} in flight, journal {} ahead of the sensors)",
      origin_.namespace_, origin_.source, origin_.subject, pause ? "paused" : "resumed", n,
      backlog_);
}

void kafka_source::append_loop() {
  // Fewer than this many queued messages are not split between threads: a
  // chunk costs the journal a savepoint and a callback.
  constexpr std::size_t smallest_share = 64;
  const std::size_t threads = std::max<std::size_t>(settings_.append_threads, 1);
  for (;;) {
    auto chunk = std::make_shared<std::vector<item>>();
    std::uint64_t ticket = 0;
    {
      std::unique_lock lock(queue_mutex_);
      for (;;) {
        queue_cv_.wait(lock, [&] { return draining_ || !queue_.empty(); });
        if (queue_.empty()) return;
        if (draining_ || std::chrono::steady_clock::now() >= retry_at_) break;
        queue_cv_.wait_until(lock, retry_at_, [&] { return draining_.load(); });
      }
      // A fetch brings a burst of one partition: it is shared among the
      // threads, which build their chunks side by side.
      const auto share = std::max((queue_.size() + threads - 1) / threads,
                                  std::min(queue_.size(), smallest_share));
      const auto n = std::min(share, std::max<std::size_t>(1, settings_.append_batch));
      chunk->reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        chunk->push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      ticket = next_ticket_++;
    }
    journal(std::move(chunk), ticket);
  }
}

void kafka_source::journal(std::shared_ptr<std::vector<item>> chunk, std::uint64_t ticket) {
  std::vector<std::size_t> appended;  // indexes in the chunk of the events built
  std::vector<const item*> dropped;
  const auto not_json = [&](const item& it) {
    // Argo cannot marshal such an event and drops it; so does kairos, but
    // the offset moves on so the partition is not stuck behind it.
    spdlog::warn("kafka event source {}/{} event {}: {}/{}@{}: body is not JSON; dropped",
                 origin_.namespace_, origin_.source, origin_.subject, it.message.topic,
                 it.message.partition, it.message.offset);
    out_->count_failure(origin_);
    dropped.push_back(&it);
  };
  const auto id_of = [&](const item& it) {
    // <prefix><partition>/<offset>, without fmt's format-string parsing,
    // which was a twentieth of these threads' time.
    std::array<char, 48> digits{};
    auto* end = std::to_chars(digits.data(), digits.data() + 16, it.message.partition).ptr;
    *end++ = '/';
    end = std::to_chars(end, digits.data() + digits.size(), it.message.offset).ptr;
    std::string id;
    id.reserve(id_prefix_.size() + static_cast<std::size_t>(end - digits.data()));
    id.append(id_prefix_).append(digits.data(), end);
    return id;
  };
  emitter::prepared_batch prepared;
  if (metadata_text_ && (!settings_.filter || settings_.filter->empty())) {
    // Nothing here needs the data as a tree: each envelope is printed
    // straight away, and parsed later only if a sensor looks into it.
    std::vector<store::event_record> records;
    records.reserve(chunk->size());
    const auto now = out_->clock().now();
    for (std::size_t i = 0; i < chunk->size(); ++i) {
      const auto& it = (*chunk)[i];
      try {
        auto text = kafka_event_text(it.message, settings_.json_body, *metadata_text_);
        if (!text) {
          not_json(it);
          continue;
        }
        records.push_back(make_event_text(origin_, id_of(it), now, *text));
      } catch (const nlohmann::json::exception&) {
        // Not valid UTF-8: the tree, which the store prints its own way.
        auto data = kafka_event_data(it.message, settings_.json_body, settings_.metadata);
        if (!data) {
          not_json(it);
          continue;
        }
        records.push_back(make_event(origin_, id_of(it), now, std::move(*data)));
      }
      appended.push_back(i);
    }
    prepared = out_->prepare_records(std::move(records));
  } else {
    std::vector<emitter::pending_event> events;
    events.reserve(chunk->size());
    for (std::size_t i = 0; i < chunk->size(); ++i) {
      const auto& it = (*chunk)[i];
      auto data = kafka_event_data(it.message, settings_.json_body, settings_.metadata);
      if (!data) {
        not_json(it);
        continue;
      }
      events.push_back({id_of(it), std::move(*data), std::nullopt});
      appended.push_back(i);
    }
    prepared = out_->prepare_batch(origin_, std::move(events), settings_.filter);
  }
  if (!dropped.empty()) mark_done(dropped);
  // Everything but queueing the append happens before this chunk's turn.
  {
    std::unique_lock lock(turn_mutex_);
    turn_cv_.wait(lock, [&] { return turn_ == ticket; });
    if (!appended.empty()) ++outstanding_;
  }
  if (!appended.empty())
    out_->append_prepared_async(
        origin_, std::move(prepared),
        [this, chunk, appended = std::move(appended)](std::vector<emit_result> results) {
          journaled(chunk, appended, results);
        });
  {
    std::lock_guard lock(turn_mutex_);
    ++turn_;
  }
  turn_cv_.notify_all();
}

void kafka_source::journaled(const std::shared_ptr<std::vector<item>>& chunk,
                             const std::vector<std::size_t>& appended,
                             const std::vector<emit_result>& results) {
  // Duplicates (a retry that finds part of its chunk journaled) and
  // filtered events are done; refused ones are not.
  std::vector<const item*> done;
  std::vector<item> refused;
  for (std::size_t k = 0; k < appended.size(); ++k) {
    auto& it = (*chunk)[appended[k]];
    if (k < results.size() && results[k].status == emit_status::failed)
      refused.push_back(std::move(it));
    else
      done.push_back(&it);
  }
  if (!done.empty()) mark_done(done);
  if (refused.empty()) {
    std::lock_guard lock(queue_mutex_);
    retry_backoff_ = std::chrono::milliseconds(50);
  } else if (stopping_) {
    // Not committed: consumed again after a restart.
    {
      std::lock_guard lock(track_mutex_);
      in_flight_ -= refused.size();
    }
    track_cv_.notify_all();
  } else {
    // Ahead of everything taken after it. Chunks already with the journal
    // may land before it; its offsets are not committed until it does.
    std::lock_guard lock(queue_mutex_);
    retry_at_ = std::chrono::steady_clock::now() + retry_backoff_;
    retry_backoff_ = std::min(retry_backoff_ * 2, std::chrono::milliseconds(5000));
    queue_.insert(queue_.begin(), std::make_move_iterator(refused.begin()),
                  std::make_move_iterator(refused.end()));
    queue_cv_.notify_all();
  }
  {
    std::lock_guard lock(turn_mutex_);
    --outstanding_;
  }
  turn_cv_.notify_all();
}

void kafka_source::mark_done(const std::vector<const item*>& items) {
  {
    std::lock_guard lock(track_mutex_);
    for (const auto* it : items) {
      auto found = tracks_.find(it->message.partition);
      if (found != tracks_.end() && found->second.generation == it->generation) {
        auto& t = found->second;
        t.pending[it->message.offset] = true;
        while (!t.pending.empty() && t.pending.begin()->second) {
          t.ready = t.pending.begin()->first + 1;
          t.pending.erase(t.pending.begin());
        }
      }
    }
    // Under the lock, so a consumer about to wait for it cannot miss it.
    in_flight_ -= items.size();
  }
  track_cv_.notify_all();
}

void kafka_source::commit_ready(bool sync, const std::vector<std::int32_t>* only) {
  std::vector<std::pair<std::int32_t, std::int64_t>> todo;
  {
    std::lock_guard lock(track_mutex_);
    for (auto& [p, t] : tracks_) {
      if (only && std::find(only->begin(), only->end(), p) == only->end()) continue;
      if (t.ready > t.committed) {
        todo.emplace_back(p, t.ready);
        t.committed = t.ready;
      }
    }
  }
  if (todo.empty()) return;
  if (!settings_.group) {
    for (const auto& [p, offset] : todo) {
      auto saved = out_->db().put_state("kafka", origin_.namespace_, state_name(p),
                                        nlohmann::json{{"offset", offset}});
      if (!saved)
        spdlog::warn("kafka event source {}/{} event {}: cannot save offset {} of partition {}: {}",
                     origin_.namespace_, origin_.source, origin_.subject, offset, p,
                     saved.error().message);
    }
    return;
  }
  auto* list = rd_kafka_topic_partition_list_new(static_cast<int>(todo.size()));
  for (const auto& [p, offset] : todo)
    rd_kafka_topic_partition_list_add(list, settings_.topic.c_str(), p)->offset = offset;
  const auto err = rd_kafka_commit(rk_, list, sync ? 0 : 1);
  rd_kafka_topic_partition_list_destroy(list);
  if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
    spdlog::warn("kafka event source {}/{} event {}: offset commit failed: {}", origin_.namespace_,
                 origin_.source, origin_.subject, rd_kafka_err2str(err));
}

result<std::vector<std::unique_ptr<source>>> build_kafka_sources(
    const source_context& ctx, const spec::event_source_spec& spec) {
  std::vector<std::unique_ptr<source>> out;
  for (const auto& [name, k] : spec.kafka) {
    auto s = kafka_settings_from(k, ctx.secrets);
    if (!s)
      return make_error(s.error().code, fmt::format("kafka event {}: {}", name, s.error().message));
    out.push_back(std::make_unique<kafka_source>(ctx, name, std::move(*s)));
  }
  return out;
}

}  // namespace kairos::eventsources
