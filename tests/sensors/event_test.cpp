// Sensor events over journal records whose body the store shares.
#include "kairos/sensors/event.hpp"

#include <memory>

#include <gtest/gtest.h>

#include "support.hpp"

namespace kairos::sensors {
namespace {

using nlohmann::json;
using testing::make_record;

store::event_record shared_record(json body) {
  auto r = make_record("e1", "ci", "push", json::object());
  r.body = nullptr;
  r.shared_body = std::make_shared<const store::event_body>(std::move(body));
  return r;
}

TEST(sensor_event, data_and_context_are_read_in_place_from_a_shared_body) {
  const auto record = shared_record({{"context",
                                      {{"id", "e1"},
                                       {"source", "ci"},
                                       {"subject", "push"},
                                       {"type", "webhook"},
                                       {"time", "2024-05-01T10:00:00Z"}}},
                                     {"data", {{"body", {{"ref", "main"}}}}}});
  const auto body = record.shared_body;
  const auto e = event::from_record(record);
  EXPECT_EQ(&e.data(), &body->value()["data"]);
  EXPECT_EQ(&e.context(), &body->value()["context"]);
  EXPECT_EQ(e.data()["body"]["ref"], "main");
  EXPECT_EQ(e.source(), "ci");
  EXPECT_EQ(e.subject(), "push");
  // The event keeps the body alive after the record and the cache let go.
  EXPECT_GE(body.use_count(), 3);
}

TEST(sensor_event, missing_context_members_are_filled_on_a_copy_not_in_the_shared_body) {
  auto record = shared_record({{"context", {{"id", "e1"}}}, {"data", {{"n", 1}}}});
  const auto body = record.shared_body;
  const auto e = event::from_record(std::move(record));
  EXPECT_EQ(e.context()["source"], "ci");
  EXPECT_EQ(e.context()["subject"], "push");
  EXPECT_EQ(e.context()["time"], "2024-05-01T10:00:00Z");
  EXPECT_FALSE(body->value()["context"].contains("source"));
  // Data needed nothing, so it still is the shared one.
  EXPECT_EQ(&e.data(), &body->value()["data"]);
}

TEST(sensor_event, an_event_over_unparsed_text_is_matched_by_its_columns_and_parsed_once_on_use) {
  auto record = make_record("e1", "ci", "push", json::object());
  record.body = nullptr;
  record.shared_body = std::make_shared<const store::event_body>(
      std::string(R"({"context":{"id":"e1","source":"ci","subject":"push","type":"webhook",)"
                  R"("time":"2024-05-01T10:00:00Z"},"data":{"body":{"ref":"main"}}})"));
  const auto body = record.shared_body;
  const auto e = event::from_record(std::move(record));
  const auto copy = e;
  EXPECT_EQ(e.source(), "ci");
  EXPECT_EQ(e.subject(), "push");
  EXPECT_FALSE(body->parsed());
  EXPECT_EQ(copy.data()["body"]["ref"], "main");
  EXPECT_TRUE(body->parsed());
  // Both copies read the one parse, in place.
  EXPECT_EQ(&e.data(), &body->value()["data"]);
  EXPECT_EQ(&copy.context(), &body->value()["context"]);
  EXPECT_EQ(e.source(), "ci");
  EXPECT_EQ(e.to_json()["data"]["body"]["ref"], "main");
}

TEST(sensor_event, unparsed_text_without_a_context_gets_one_from_the_columns_when_read) {
  auto record = make_record("e2", "ci", "push", json::object());
  record.body = nullptr;
  record.shared_body =
      std::make_shared<const store::event_body>(std::string(R"({"data":{"n":1}})"));
  const auto e = event::from_record(std::move(record));
  EXPECT_EQ(e.context()["id"], "e2");
  EXPECT_EQ(e.context()["source"], "ci");
  EXPECT_EQ(e.context()["time"], "2024-05-01T10:00:00Z");
  EXPECT_EQ(e.data()["n"], 1);
}

TEST(sensor_event, a_changed_context_leaves_copies_of_the_event_alone) {
  auto e = event::from_record(make_record("e1", "ci", "push", {{"n", 1}}));
  const auto copy = e;
  e.mutable_context().erase("time");
  EXPECT_FALSE(e.context().contains("time"));
  EXPECT_EQ(copy.context()["time"], "2024-05-01T10:00:00Z");
}

TEST(sensor_event, an_event_without_data_or_context_reads_as_null_and_empty) {
  auto e = event::from_record(shared_record(json::object()));
  EXPECT_TRUE(e.data().is_null());
  EXPECT_EQ(e.context()["id"], "e1");  // from the record's columns
  const auto stored = event::from_json(e.to_json());
  EXPECT_TRUE(stored.data().is_null());
  EXPECT_EQ(stored.context(), e.context());
  EXPECT_EQ(stored.id, "e1");
}

}  // namespace
}  // namespace kairos::sensors
