// emitter::emit_async: events go to the store's writer, each caller hears
// its own outcome, and nothing queued is lost when the emitter goes.
#include "emitter.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "callback_log.hpp"
#include "kairos/core/clock.hpp"
#include "kairos/core/json_text.hpp"
#include "kairos/eventsources/event.hpp"
#include "test_support.hpp"

namespace kairos::eventsources {
namespace {

const event_origin origin{"default", "hooks", "push", "webhook"};

struct outcomes : kairos::testing::callback_log<emit_result> {
  emitter::emit_callback callback() {
    return [this](emit_result r) { add(std::move(r)); };
  }
  std::size_t count(emit_status s) {
    const auto results = heard();
    return static_cast<std::size_t>(std::count_if(
        results.begin(), results.end(), [&](const emit_result& r) { return r.status == s; }));
  }
};

TEST(emitter, async_events_from_many_threads_are_each_journaled_once_and_answered) {
  testing::temp_store store;
  kairos::system_clock clock;
  std::atomic<int> wakeups{0};
  emitter out(*store.db, clock, nullptr, [&] { ++wakeups; });
  outcomes got;
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i)
        out.emit_async(origin, "e-" + std::to_string(t) + "-" + std::to_string(i), {{"n", i}},
                       std::nullopt, got.callback());
    });
  for (auto& s : senders) s.join();
  ASSERT_TRUE(got.wait_for(200));
  EXPECT_EQ(got.count(emit_status::committed), 200u);
  const auto events = store.events();
  EXPECT_EQ(events.size(), 200u);
  std::set<std::string> ids;
  for (const auto& e : events) ids.insert(e.id);
  EXPECT_EQ(ids.size(), 200u);
  EXPECT_GE(wakeups.load(), 1);
  EXPECT_EQ(out.head(), events.back().sequence);
}

// The emitter frees the data's tree on the emitting thread and hands the
// store the printed envelope alone: a reader of the store's memory of recent
// events gets text, parsed only when someone looks into it, and it reads
// back as the data that was emitted.
TEST(emitter, an_emitted_event_reaches_the_store_as_text_and_reads_back_as_its_data) {
  testing::temp_store store;
  kairos::system_clock clock;
  emitter out(*store.db, clock, nullptr, nullptr);
  // The first read of the journal turns the store's memory of events on.
  ASSERT_TRUE(store.db->read_events_shared(0, 10).ok());
  const nlohmann::json data = {{"body", {{"ref", "refs/heads/main"}, {"n", 7}}}};
  outcomes got;
  out.emit_async(origin, "text-1", data, std::nullopt, got.callback());
  ASSERT_TRUE(got.wait_for(1));
  ASSERT_EQ(got.count(emit_status::committed), 1u);
  auto events = store.db->read_events_shared(0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  const auto& body = (*events)[0].shared_body;
  ASSERT_NE(body, nullptr);
  EXPECT_FALSE(body->parsed());
  EXPECT_EQ(body->value().at("data"), data);
  EXPECT_EQ(body->value().at("context").at("id"), "text-1");
}

TEST(make_event_text, the_printed_envelope_reads_back_as_make_events_body) {
  const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000123));
  const event_origin odd{"ns", "src \"q\"", "sub\\ject", "kafka"};
  const nlohmann::json data = {{"body", {{"z", 1}, {"a", {true, nullptr}}}}, {"key", "k\n"}};
  for (const auto* content_type : {"application/json", "text/plain"}) {
    const auto tree = make_event(odd, "id/1", when, data, content_type);
    const auto text = make_event_text(odd, "id/1", when, dump_json(data), content_type);
    EXPECT_TRUE(text.body.is_null());
    EXPECT_EQ(text.text, dump_json(tree.body));
    EXPECT_EQ(nlohmann::json::parse(text.text), tree.body);
    EXPECT_EQ(text.time, tree.time);
    EXPECT_EQ(text.source, tree.source);
  }
  // The data is copied in as given: any JSON text, whatever its spacing.
  const auto spaced = make_event_text(origin, "id/2", when, R"( { "n" : [ 1 ] } )");
  EXPECT_EQ(nlohmann::json::parse(spaced.text)["data"]["n"][0], 1);
}

TEST(emitter, prepared_records_are_all_journaled_and_answered_in_order) {
  testing::temp_store store;
  kairos::system_clock clock;
  emitter out(*store.db, clock, nullptr, nullptr);
  std::vector<store::event_record> records;
  for (int i = 0; i < 3; ++i)
    records.push_back(make_event_text(origin, "r-" + std::to_string(i), clock.now(),
                                      "{\"n\":" + std::to_string(i) + "}"));
  records.push_back(records.front());  // the same id again: a duplicate
  std::promise<std::vector<emit_result>> heard;
  out.append_prepared_async(origin, out.prepare_records(std::move(records)),
                            [&](std::vector<emit_result> r) { heard.set_value(std::move(r)); });
  const auto results = heard.get_future().get();
  ASSERT_EQ(results.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(results[i].status, emit_status::committed);
  EXPECT_EQ(results[3].status, emit_status::duplicate);
  const auto events = store.events();
  ASSERT_EQ(events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i].id, "r-" + std::to_string(i));
    EXPECT_EQ(events[i].body["data"]["n"], i);
    EXPECT_EQ(events[i].body["context"]["type"], "webhook");
  }
}

TEST(emitter, async_duplicate_and_filtered_events_are_answered_without_a_new_event) {
  testing::temp_store store;
  kairos::system_clock clock;
  emitter out(*store.db, clock, nullptr, nullptr);
  outcomes got;
  out.emit_async(origin, "same", {{"n", 1}}, std::nullopt, got.callback());
  ASSERT_TRUE(got.wait_for(1));
  out.emit_async(origin, "same", {{"n", 1}}, std::nullopt, got.callback());
  ASSERT_TRUE(got.wait_for(2));
  // A filtered event is answered on the caller's thread, before it returns.
  out.emit_async(origin, "other", {{"body", {{"n", 1}}}}, std::string("body.n == 2"),
                 got.callback());
  EXPECT_EQ(got.count(emit_status::committed), 1u);
  EXPECT_EQ(got.count(emit_status::duplicate), 1u);
  EXPECT_EQ(got.count(emit_status::filtered), 1u);
  EXPECT_EQ(store.events().size(), 1u);
}

TEST(emitter, async_append_failure_answers_failed_and_stores_nothing) {
  testing::temp_store store;
  kairos::system_clock clock;
  emitter out(*store.db, clock, nullptr, nullptr);
  store.db->fail_appends = true;
  outcomes got;
  out.emit_async(origin, "x", {{"n", 1}}, std::nullopt, got.callback());
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.count(emit_status::failed), 1u);
  EXPECT_NE(got.heard()[0].message.find("disk full"), std::string::npos);
  EXPECT_TRUE(store.events().empty());
}

TEST(emitter, events_queued_when_the_emitter_is_destroyed_are_journaled_first) {
  testing::temp_store store;
  kairos::system_clock clock;
  outcomes got;
  {
    emitter out(*store.db, clock, nullptr, nullptr);
    for (int i = 0; i < 100; ++i)
      out.emit_async(origin, "q-" + std::to_string(i), {{"n", i}}, std::nullopt, got.callback());
  }
  EXPECT_EQ(got.heard().size(), 100u);
  EXPECT_EQ(got.count(emit_status::committed), 100u);
  EXPECT_EQ(store.events().size(), 100u);
}

}  // namespace
}  // namespace kairos::eventsources
