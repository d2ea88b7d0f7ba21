#include <cstdlib>
#include <optional>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "emitter.hpp"
#include "kafka/kafka_source.hpp"
#include "kafka/mock_cluster.hpp"
#include "kairos/core/json_text.hpp"
#include "test_support.hpp"

namespace kairos::testing {
namespace {

using eventsources::kafka_source;
using eventsources::kafka_source_settings;

class kafka : public ::testing::Test {
 protected:
  kafka_source_settings settings(const std::string& topic, bool group = true) {
    kafka_source_settings s;
    s.brokers = cluster_.bootstraps();
    s.topic = topic;
    if (group) {
      s.group = "kairos-test";
      s.oldest = true;
      // The mock cluster keeps a member that left until its session times
      // out; a short session keeps restarts and rebalances quick.
      s.properties = {{"session.timeout.ms", "6000"}, {"heartbeat.interval.ms", "200"}};
    }
    s.poll_timeout = std::chrono::milliseconds(20);
    s.commit_interval = std::chrono::milliseconds(20);
    return s;
  }
  std::unique_ptr<kafka_source> make(kafka_source_settings s, const std::string& event = "orders") {
    eventsources::source_context ctx;
    ctx.namespace_ = "default";
    ctx.name = "bus";
    ctx.out = out_;
    ctx.journal_backlog = [this] { return backlog_.load(); };
    return std::make_unique<kafka_source>(ctx, event, std::move(s));
  }
  std::size_t journaled() { return store_.events().size(); }

  std::atomic<std::int64_t> backlog_{0};
  mock_cluster cluster_;
  temp_store store_;
  manual_clock clock_;
  std::shared_ptr<eventsources::emitter> out_ =
      std::make_shared<eventsources::emitter>(*store_.db, clock_, nullptr, nullptr);
};

TEST_F(kafka, consumer_group_journals_argo_event_data_and_commits_after_append) {
  cluster_.create_topic("orders", 1);
  producer p(cluster_.bootstraps());
  ASSERT_TRUE(p.send("orders", 0, R"({"id":1})", "k1", {{"trace", "a"}, {"trace", "b"}}));
  ASSERT_TRUE(p.send("orders", 0, R"({"id":2})"));
  ASSERT_TRUE(p.flush());

  auto s = settings("orders");
  s.json_body = true;
  s.metadata = {{"team", "data"}};
  auto src = make(s);
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 2; }));
  src->stop();

  auto events = store_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].id, "default/bus/orders/orders/0/0");
  EXPECT_EQ(events[1].id, "default/bus/orders/orders/0/1");
  EXPECT_EQ(events[0].type, "kafka");
  const auto& d = events[0].body["data"];
  EXPECT_EQ(d["topic"], "orders");
  EXPECT_EQ(d["partition"], 0);
  EXPECT_EQ(d["key"], "k1");
  EXPECT_EQ(d["body"]["id"], 1);
  EXPECT_EQ(d["headers"]["trace"], "b");  // a Go map: the last value wins
  EXPECT_EQ(d["metadata"]["team"], "data");
  EXPECT_TRUE(d["timestamp"].get<std::string>().ends_with(" +0000 UTC"));
  EXPECT_EQ(events[1].body["data"]["key"], "");
  EXPECT_EQ(committed_offset(cluster_.bootstraps(), "kairos-test", "orders", 0), 2);
}

TEST_F(kafka, body_without_json_body_is_base64_and_bad_json_is_dropped_but_passed) {
  cluster_.create_topic("raw", 1);
  producer p(cluster_.bootstraps());
  ASSERT_TRUE(p.send("raw", 0, "hello"));
  ASSERT_TRUE(p.flush());
  auto src = make(settings("raw"));
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 1; }));
  src->stop();
  EXPECT_EQ(store_.events()[0].body["data"]["body"], "aGVsbG8=");

  // With jsonBody a value that is not JSON is dropped, as Argo drops it, and
  // the offset still moves past it.
  cluster_.create_topic("json", 1);
  ASSERT_TRUE(p.send("json", 0, "not json"));
  ASSERT_TRUE(p.send("json", 0, "[1]"));
  ASSERT_TRUE(p.flush());
  auto s = settings("json");
  s.json_body = true;
  auto json_src = make(s);
  ASSERT_TRUE(json_src->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 2; }));
  json_src->stop();
  auto events = store_.events();
  EXPECT_EQ(events[1].id, "default/bus/orders/json/0/1");
  EXPECT_EQ(events[1].body["data"]["body"], nlohmann::json::array({1}));
  EXPECT_EQ(committed_offset(cluster_.bootstraps(), "kairos-test", "json", 0), 2);
}

TEST_F(kafka, two_consumers_of_one_group_share_partitions_and_journal_each_message_once) {
  cluster_.create_topic("shared", 4);
  producer p(cluster_.bootstraps());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p.send("shared", i % 4, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  auto a = make(settings("shared"));
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 20; }));
  auto b = make(settings("shared"));
  ASSERT_TRUE(b->start().ok());  // joining rebalances the group
  for (int i = 20; i < 40; ++i) ASSERT_TRUE(p.send("shared", i % 4, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  ASSERT_TRUE(eventually([&] { return journaled() == 40; }));
  // A commit the mock cluster refuses mid-rebalance is made again by the
  // partition's next owner, whose re-read messages are duplicates by id.
  for (int partition = 0; partition < 4; ++partition)
    EXPECT_TRUE(eventually([&] {
      return committed_offset(cluster_.bootstraps(), "kairos-test", "shared", partition) == 10;
    })) << "partition "
        << partition;
  a->stop();
  b->stop();
  std::set<std::string> ids;
  for (const auto& e : store_.events()) ids.insert(e.id);
  EXPECT_EQ(ids.size(), 40u);
  EXPECT_EQ(journaled(), 40u);
}

TEST_F(kafka, sticky_strategy_uses_the_cooperative_protocol) {
  cluster_.create_topic("coop", 2);
  producer p(cluster_.bootstraps());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.send("coop", i % 2, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  auto s = settings("coop");
  s.assignment_strategy = "cooperative-sticky";
  auto a = make(s);
  auto b = make(s);
  ASSERT_TRUE(a->start().ok());
  ASSERT_TRUE(b->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 10; }));
  a->stop();
  b->stop();
  EXPECT_EQ(journaled(), 10u);
}

TEST_F(kafka, restart_mid_stream_journals_every_message_exactly_once) {
  cluster_.create_topic("stream", 2);
  producer p(cluster_.bootstraps());
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(p.send("stream", i % 2, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  auto s = settings("stream");
  s.max_in_flight = 8;
  auto first = make(s);
  ASSERT_TRUE(first->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() >= 10; }));
  first->stop();
  const auto appends_before = store_.db->appends.load();
  auto second = make(s);
  ASSERT_TRUE(second->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 60; }));
  second->stop();
  std::set<std::string> ids;
  for (const auto& e : store_.events()) ids.insert(e.id);
  EXPECT_EQ(ids.size(), 60u);
  EXPECT_TRUE(ids.contains("default/bus/orders/stream/0/0"));
  EXPECT_TRUE(ids.contains("default/bus/orders/stream/1/29"));
  // The second run starts at the committed offsets, not from the beginning.
  EXPECT_LT(store_.db->appends.load() - appends_before, 60 - 10 + 16);
}

TEST_F(kafka, no_offset_is_committed_while_the_journal_refuses_appends) {
  cluster_.create_topic("refused", 1);
  producer p(cluster_.bootstraps());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p.send("refused", 0, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  store_.db->fail_appends = true;
  auto src = make(settings("refused"));
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return store_.db->appends.load() >= 3; }));
  src->stop();
  EXPECT_EQ(journaled(), 0u);
  EXPECT_EQ(committed_offset(cluster_.bootstraps(), "kairos-test", "refused", 0),
            RD_KAFKA_OFFSET_INVALID);

  store_.db->fail_appends = false;
  auto again = make(settings("refused"));
  ASSERT_TRUE(again->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 5; }));
  again->stop();
  EXPECT_EQ(committed_offset(cluster_.bootstraps(), "kairos-test", "refused", 0), 5);
}

TEST_F(kafka, partitions_pause_while_appends_lag_and_resume_after) {
  cluster_.create_topic("slow", 1);
  producer p(cluster_.bootstraps());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(p.send("slow", 0, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  store_.db->fail_appends = true;
  auto s = settings("slow");
  s.max_in_flight = 4;
  s.append_threads = 1;
  auto src = make(s);
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return src->paused(); }));
  EXPECT_LT(src->in_flight(), 20u);
  store_.db->fail_appends = false;
  ASSERT_TRUE(eventually([&] { return journaled() == 20; }));
  ASSERT_TRUE(eventually([&] { return !src->paused(); }));
  src->stop();
  EXPECT_EQ(committed_offset(cluster_.bootstraps(), "kairos-test", "slow", 0), 20);
}

TEST_F(kafka, consumption_pauses_while_the_sensors_lag_behind_the_journal) {
  cluster_.create_topic("behind", 1);
  producer p(cluster_.bootstraps());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.send("behind", 0, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  auto s = settings("behind");
  s.max_journal_backlog = 100;
  s.backlog_check_interval = std::chrono::milliseconds(0);
  backlog_ = 150;  // the sensors are 150 events behind
  auto src = make(s);
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return src->paused(); }));
  // Paused before the first poll: nothing reached the journal.
  EXPECT_EQ(journaled(), 0u);
  backlog_ = 10;  // caught up
  ASSERT_TRUE(eventually([&] { return journaled() == 10; }));
  EXPECT_FALSE(src->paused());
  src->stop();
}

TEST_F(kafka, polling_holds_while_the_sensors_are_behind_and_goes_on_once_they_catch_up) {
  cluster_.create_topic("held", 1);
  producer p(cluster_.bootstraps());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(p.send("held", 0, std::to_string(i)));
  ASSERT_TRUE(p.flush());
  auto s = settings("held");
  s.max_journal_backlog = 0;  // no pausing: only the hold
  s.hold_journal_backlog = 100;
  s.backlog_check_interval = std::chrono::milliseconds(0);
  s.hold_check_interval = std::chrono::milliseconds(1);
  backlog_ = 150;  // the sensors are 150 events behind
  auto src = make(s);
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return src->paused(); }));
  // Held before the first poll; a hold lets one poll through a second, so
  // a very slow run may have taken one message.
  EXPECT_LE(journaled(), 1u);
  backlog_ = 40;  // below half of the bound: polling goes on
  ASSERT_TRUE(eventually([&] { return journaled() == 10; }));
  EXPECT_FALSE(src->paused());
  src->stop();
  EXPECT_EQ(committed_offset(cluster_.bootstraps(), "kairos-test", "held", 0), 10);
}

TEST_F(kafka, fixed_partition_without_group_resumes_from_the_stored_offset) {
  cluster_.create_topic("fixed", 2);
  producer p(cluster_.bootstraps());
  ASSERT_TRUE(p.send("fixed", 1, "before start"));  // Argo starts at the newest offset
  ASSERT_TRUE(p.flush());
  auto s = settings("fixed", false);
  s.partition = 1;
  auto src = make(s);
  auto started = src->start();
  ASSERT_TRUE(started.ok()) << started.error().message;
  ASSERT_TRUE(p.send("fixed", 1, "a"));
  ASSERT_TRUE(p.send("fixed", 0, "other partition"));
  ASSERT_TRUE(p.flush());
  ASSERT_TRUE(eventually([&] { return journaled() == 1; }));
  src->stop();
  ASSERT_TRUE(p.send("fixed", 1, "b"));  // produced while kairos is down
  ASSERT_TRUE(p.flush());
  auto again = make(s);
  ASSERT_TRUE(again->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 2; }));
  again->stop();
  auto events = store_.events();
  EXPECT_EQ(events[0].id, "default/bus/orders/fixed/1/1");
  EXPECT_EQ(events[1].id, "default/bus/orders/fixed/1/2");
  EXPECT_EQ(events[1].body["data"]["body"], "Yg==");
}

TEST_F(kafka, unknown_librdkafka_property_is_a_clear_start_error) {
  auto s = settings("any");
  s.properties.emplace_back("no.such.property", "1");
  auto src = make(s);
  auto started = src->start();
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().message.find("no.such.property"), std::string::npos);
}

TEST(kafka_settings, reads_argo_spec_and_rejects_auto_commit_passthrough) {
  spec::kafka_event_source k;
  k.url = "a:9092,b:9092";
  k.topic = "t";
  k.consumer_group = spec::kafka_consumer_group{"g", true, spec::kafka_rebalance_strategy::sticky};
  k.sasl = spec::sasl_config{spec::sasl_mechanism::scram_sha_512, std::nullopt, std::nullopt};
  k.config = {{"fetch.max.bytes", "1048576"}};
  auto s = eventsources::kafka_settings_from(k, nullptr);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->group, "g");
  EXPECT_TRUE(s->oldest);
  EXPECT_EQ(s->assignment_strategy, "cooperative-sticky");
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"security.protocol", "sasl_plaintext"},
      {"sasl.mechanisms", "SCRAM-SHA-512"},
      {"fetch.max.bytes", "1048576"}};
  EXPECT_EQ(s->properties, expected);
  EXPECT_TRUE(eventsources::make_consumer_conf(*s).ok());

  k.config = {{"enable.auto.commit", "true"}};
  auto forced = eventsources::kafka_settings_from(k, nullptr);
  ASSERT_FALSE(forced.ok());
  EXPECT_NE(forced.error().message.find("enable.auto.commit"), std::string::npos);
}

TEST(kafka_settings, tls_and_sasl_credentials_come_from_secrets) {
  temp_store store;
  store.write_secret("kafka", "ca", "CA PEM");
  store.write_secret("kafka", "user", "alice");
  store.write_secret("kafka", "password", "s3cret");
  spec::secret_resolver secrets(store.dir);
  spec::kafka_event_source k;
  k.url = "a:9093";
  k.topic = "t";
  k.partition_number = 0;
  k.tls = spec::tls_config{};
  k.tls->ca_cert_secret = spec::secret_key_selector{"kafka", "ca"};
  k.sasl = spec::sasl_config{};
  k.sasl->user_secret = spec::secret_key_selector{"kafka", "user"};
  k.sasl->password_secret = spec::secret_key_selector{"kafka", "password"};
  auto s = eventsources::kafka_settings_from(k, &secrets);
  ASSERT_TRUE(s.ok()) << s.error().message;
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"security.protocol", "sasl_ssl"},
      {"ssl.ca.pem", "CA PEM"},
      {"sasl.mechanisms", "PLAIN"},
      {"sasl.username", "alice"},
      {"sasl.password", "s3cret"}};
  EXPECT_EQ(s->properties, expected);

  k.sasl->password_secret = spec::secret_key_selector{"kafka", "missing"};
  EXPECT_FALSE(eventsources::kafka_settings_from(k, &secrets).ok());
}

TEST(kafka_event_data, null_value_is_null_body_and_empty_metadata_is_left_out) {
  eventsources::kafka_message_view m;
  m.topic = "t";
  m.partition = 3;
  m.timestamp_ms = 1700000000123;
  auto d = eventsources::kafka_event_data(m, false, nlohmann::json::object());
  ASSERT_TRUE(d);
  EXPECT_TRUE((*d)["body"].is_null());
  EXPECT_FALSE(d->contains("metadata"));
  EXPECT_EQ((*d)["timestamp"], "2023-11-14 22:13:20.123 +0000 UTC");
  m.value = "{";
  EXPECT_FALSE(eventsources::kafka_event_data(m, true, nlohmann::json::object()));
}

// The envelope printed without a tree must read back as the tree the
// filters and templates would have seen.
TEST(kafka_event_text, reads_back_as_the_event_data_for_each_kind_of_message) {
  eventsources::kafka_message_view m;
  m.topic = "orders";
  m.partition = 7;
  m.timestamp_ms = 1700000000123;
  m.key = "k\"1\n";
  m.headers = {{"trace", "a"}, {"b-side", "x\ty"}, {"trace", "b"}};
  const nlohmann::json metadata = {{"team", "data"}, {"n", 2}};
  struct body_case {
    std::optional<std::string> value;
    bool json_body;
  };
  const body_case cases[] = {
      {R"(  {"z": 1, "a" : [true, null, 2.5], "a": "last"}  )", true},
      {"\xEF\xBB\xBF{\"bom\":1}", true},
      {R"("just a string")", true},
      {"\x01\x02 binary \xff", false},
      {std::nullopt, true},
      {std::nullopt, false},
      {"", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.value.value_or("<null>"));
    m.value = c.value;
    const auto tree = eventsources::kafka_event_data(m, c.json_body, metadata);
    const auto text = eventsources::kafka_event_text(m, c.json_body, dump_json(metadata));
    ASSERT_TRUE(tree);
    ASSERT_TRUE(text);
    EXPECT_EQ(nlohmann::json::parse(*text), *tree);
  }
  // Without metadata, none is printed, as the tree leaves it out.
  m.key.reset();
  m.headers.clear();
  m.value = "[1]";
  const auto text = eventsources::kafka_event_text(m, true, "");
  ASSERT_TRUE(text);
  EXPECT_EQ(nlohmann::json::parse(*text),
            *eventsources::kafka_event_data(m, true, nlohmann::json::object()));
  EXPECT_EQ(text->find("metadata"), std::string::npos);
}

TEST(kafka_event_text, a_body_that_is_not_json_is_refused_and_a_bad_utf8_key_throws) {
  eventsources::kafka_message_view m;
  m.topic = "orders";
  // The last: JSON, a NUL, then more, which nlohmann alone would cut at the NUL.
  for (const auto& bad :
       {std::string("{"), std::string("not json"), std::string("1 2"), std::string(),
        std::string("{\"a\":\"\xff\"}"), std::string("{\"a\":1}\0junk", 12)}) {
    m.value = bad;
    EXPECT_FALSE(eventsources::kafka_event_text(m, true, "")) << bad;
    EXPECT_FALSE(eventsources::kafka_event_data(m, true, nlohmann::json::object())) << bad;
  }
  m.value = "{}";
  m.key = "\xc3";
  EXPECT_THROW(eventsources::kafka_event_text(m, true, ""), nlohmann::json::type_error);
}

TEST_F(kafka, a_key_that_is_not_utf8_is_still_journaled_beside_printed_events) {
  cluster_.create_topic("mixed", 1);
  producer p(cluster_.bootstraps());
  ASSERT_TRUE(p.send("mixed", 0, R"({"n":1})", "plain"));
  ASSERT_TRUE(p.send("mixed", 0, R"({"n":2})", "bad\xff"));
  ASSERT_TRUE(p.send("mixed", 0, R"({"n":3})", "plain"));
  ASSERT_TRUE(p.flush());
  auto s = settings("mixed");
  s.json_body = true;
  auto src = make(s);
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 3; }));
  src->stop();
  const auto events = store_.events();
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(events[i].body["data"]["body"]["n"], i + 1);
  EXPECT_EQ(events[0].body["data"]["key"], "plain");
  EXPECT_TRUE(events[1].body["data"]["key"].get<std::string>().starts_with("bad"));
  EXPECT_EQ(committed_offset(cluster_.bootstraps(), "kairos-test", "mixed", 0), 3);
}

TEST_F(kafka, a_filter_expression_still_sees_the_data_and_drops_what_fails_it) {
  cluster_.create_topic("filtered", 1);
  producer p(cluster_.bootstraps());
  ASSERT_TRUE(p.send("filtered", 0, R"({"n":1})", "keep"));
  ASSERT_TRUE(p.send("filtered", 0, R"({"n":2})", "drop"));
  ASSERT_TRUE(p.send("filtered", 0, R"({"n":3})", "keep"));
  ASSERT_TRUE(p.flush());
  auto s = settings("filtered");
  s.json_body = true;
  s.filter = "key == \"keep\"";
  auto src = make(s);
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually(
      [&] { return committed_offset(cluster_.bootstraps(), "kairos-test", "filtered", 0) == 3; }));
  src->stop();
  const auto events = store_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].body["data"]["body"]["n"], 1);
  EXPECT_EQ(events[1].body["data"]["body"]["n"], 3);
}

TEST_F(kafka, kcat_produced_messages_are_consumed) {
  if (std::system("command -v kcat >/dev/null 2>&1") != 0) GTEST_SKIP() << "kcat is not installed";
  cluster_.create_topic("interop", 1);
  const auto input = store_.dir / "input.txt";
  std::ofstream(input) << "one\ntwo\nthree\n";
  const auto cmd = "kcat -P -b " + cluster_.bootstraps() + " -t interop -p 0 -k key < " +
                   input.string() + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto src = make(settings("interop"));
  ASSERT_TRUE(src->start().ok());
  ASSERT_TRUE(eventually([&] { return journaled() == 3; }));
  src->stop();
  auto events = store_.events();
  EXPECT_EQ(events[0].body["data"]["body"], "b25l");  // "one"
  EXPECT_EQ(events[2].body["data"]["key"], "key");
}

}  // namespace
}  // namespace kairos::testing
