#include <map>
#include <mutex>
#include <string>

#include <gtest/gtest.h>

#include "http_test_server.hpp"
#include "kairos/core/sigv4.hpp"
#include "manager_fixture.hpp"
#include "minio/config.hpp"
#include "minio/list_objects.hpp"
#include "minio/minio_source.hpp"

namespace {

using kairos::eventsources::parse_list_objects_v2;
using kairos::testing::http_test_server;

std::string percent_decode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// An S3 store for the listing: a key -> etag map served as ListObjectsV2,
// two keys per page, refusing requests whose signature is not AWS SigV4 over
// the test credentials.
class fake_s3 {
 public:
  fake_s3() : server_([this](const http_test_server::request& req) { return answer(req); }) {}

  void put(const std::string& key, const std::string& etag, const std::string& modified) {
    std::lock_guard lock(mutex_);
    objects_[key] = {etag, modified};
  }
  void erase(const std::string& key) {
    std::lock_guard lock(mutex_);
    objects_.erase(key);
  }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(server_.port()); }
  int requests() const { return requests_; }
  std::string last_target() {
    std::lock_guard lock(mutex_);
    return last_target_;
  }

 private:
  std::optional<http_test_server::response> answer(const http_test_server::request& req) {
    std::lock_guard lock(mutex_);
    ++requests_;
    last_target_ = std::string(req.target());
    const std::string auth(req["Authorization"]);
    // Recompute the signature from what arrived: the server's view of it.
    kairos::sigv4::request r;
    r.method = "GET";
    const auto q = last_target_.find('?');
    r.path = last_target_.substr(0, q);
    std::string token;
    std::string query = q == std::string::npos ? "" : last_target_.substr(q + 1);
    for (std::size_t start = 0; start < query.size();) {
      auto amp = query.find('&', start);
      if (amp == std::string::npos) amp = query.size();
      const auto pair = query.substr(start, amp - start);
      const auto eq = pair.find('=');
      std::string name = pair.substr(0, eq), value = percent_decode(pair.substr(eq + 1));
      if (name == "continuation-token") token = value;
      r.query.emplace_back(name, value);
      start = amp + 1;
    }
    r.payload_hash = std::string(req["x-amz-content-sha256"]);
    const std::string date(req["x-amz-date"]);
    r.headers = {{"host", std::string(req["Host"])},
                 {"x-amz-content-sha256", r.payload_hash},
                 {"x-amz-date", date}};
    const auto expected = kairos::sigv4::sign(r, {"AKTEST", "sekret", ""}, "eu-west-1", "s3", date);
    if (auth != expected.authorization)
      return http_test_server::make(
          403, "<Error><Code>SignatureDoesNotMatch</Code><Message>nope</Message></Error>");

    std::string body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    int index = 0;
    const int first = token.empty() ? 0 : std::stoi(token.substr(1));
    bool truncated = false;
    for (const auto& [key, o] : objects_) {
      if (index++ < first) continue;
      if (index > first + 2) {
        truncated = true;
        break;
      }
      body += "<Contents><Key>" + key + "</Key><LastModified>" + o.second +
              "</LastModified><ETag>&quot;" + o.first + "&quot;</ETag><Size>5</Size></Contents>";
    }
    if (truncated)
      body += "<IsTruncated>true</IsTruncated><NextContinuationToken>t" +
              std::to_string(first + 2) + "</NextContinuationToken>";
    else
      body += "<IsTruncated>false</IsTruncated>";
    body += "</ListBucketResult>";
    return http_test_server::make(200, body);
  }

  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, std::string>> objects_;
  std::atomic<int> requests_{0};
  std::string last_target_;
  http_test_server server_;
};

class minio_source : public kairos::testing::manager_fixture {
 protected:
  void SetUp() override {
    manager_fixture::SetUp();
    store_.write_secret("s3", "access", "AKTEST\n");
    store_.write_secret("s3", "secret", "sekret");
  }
  std::string manifest(const std::string& extra = "",
                       const std::string& events = "[s3:ObjectCreated:Put]") {
    return "apiVersion: argoproj.io/v1alpha1\nkind: EventSource\nmetadata:\n  name: store\n"
           "  namespace: ns\nspec:\n  minio:\n    uploads:\n      endpoint: " +
           s3_.endpoint() +
           "\n      insecure: true\n      region: eu-west-1\n      bucket:\n        name: data\n"
           "      accessKey: {name: s3, key: access}\n      secretKey: {name: s3, key: secret}\n"
           "      events: " +
           events + "\n      pollInterval: 30s\n      metadata: {team: etl}\n" + extra;
  }
  void next_listing() {
    clock_.advance(std::chrono::seconds(30));
    manager_->check_timers();
  }
  fake_s3 s3_;
};

TEST_F(minio_source, objects_present_at_the_first_listing_are_recorded_not_emitted) {
  s3_.put("old.csv", "e1", "2023-11-14T22:00:00.000Z");
  start();
  apply(manifest());
  EXPECT_EQ(s3_.requests(), 1);
  EXPECT_TRUE(store_.events().empty());
  next_listing();
  EXPECT_EQ(s3_.requests(), 2);
  EXPECT_TRUE(store_.events().empty());
}

TEST_F(minio_source, new_key_is_emitted_in_argo_minio_shape) {
  start();
  apply(manifest());
  s3_.put("in/a b.csv", "abc123", "2023-11-14T22:13:20.000Z");
  next_listing();
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  const auto doc = events[0].body;
  const auto& data = doc["data"];
  EXPECT_EQ(data["metadata"]["team"], "etl");
  ASSERT_EQ(data["notification"].size(), 1u);
  const auto& record = data["notification"][0];
  EXPECT_EQ(record["eventName"], "s3:ObjectCreated:Put");
  EXPECT_EQ(record["eventVersion"], "2.0");
  EXPECT_EQ(record["awsRegion"], "eu-west-1");
  EXPECT_EQ(record["eventTime"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(record["s3"]["bucket"]["name"], "data");
  EXPECT_EQ(record["s3"]["bucket"]["arn"], "arn:aws:s3:::data");
  // MinIO query-escapes the key of its records.
  EXPECT_EQ(record["s3"]["object"]["key"], "in%2Fa+b.csv");
  EXPECT_EQ(record["s3"]["object"]["eTag"], "abc123");
  EXPECT_EQ(record["s3"]["object"]["size"], 5);
  EXPECT_EQ(doc["context"]["source"], "store");
  EXPECT_EQ(doc["context"]["subject"], "uploads");
  EXPECT_EQ(doc["context"]["type"], "minio");
}

TEST_F(minio_source, changed_etag_is_emitted_and_unchanged_keys_are_not) {
  s3_.put("a", "e1", "2023-11-14T22:00:00.000Z");
  s3_.put("b", "e1", "2023-11-14T22:00:00.000Z");
  start();
  apply(manifest());
  s3_.put("a", "e2", "2023-11-14T22:01:00.000Z");
  next_listing();
  next_listing();
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["notification"][0]["s3"]["object"]["eTag"], "e2");
}

TEST_F(minio_source, listing_follows_continuation_tokens_across_pages) {
  start();
  apply(manifest());
  for (int i = 0; i < 5; ++i)
    s3_.put("k" + std::to_string(i), "e", "2023-11-14T22:00:0" + std::to_string(i) + ".000Z");
  const int before = s3_.requests();
  next_listing();
  EXPECT_EQ(s3_.requests() - before, 3);  // 2 + 2 + 1 keys
  EXPECT_EQ(store_.events().size(), 5u);
}

TEST_F(minio_source, prefix_goes_to_the_listing_and_suffix_is_matched_locally) {
  start();
  apply(manifest("      filter: {prefix: in/, suffix: .csv}\n"));
  EXPECT_NE(s3_.last_target().find("prefix=in%2F"), std::string::npos);
  s3_.put("in/x.csv", "e", "2023-11-14T22:00:00.000Z");
  s3_.put("in/x.txt", "e", "2023-11-14T22:00:00.000Z");
  next_listing();
  ASSERT_EQ(store_.events().size(), 1u);
}

TEST_F(minio_source, removed_keys_are_emitted_only_when_removal_events_are_selected) {
  s3_.put("gone", "e", "2023-11-14T22:00:00.000Z");
  start();
  apply(manifest("", "[\"s3:ObjectCreated:*\", \"s3:ObjectRemoved:*\"]"));
  s3_.erase("gone");
  next_listing();
  auto events = store_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].body["data"]["notification"][0]["eventName"], "s3:ObjectRemoved:Delete");
}

TEST_F(minio_source, restart_neither_repeats_nor_misses_objects) {
  s3_.put("a", "e1", "2023-11-14T22:00:00.000Z");
  start();
  apply(manifest());
  s3_.put("b", "e1", "2023-11-14T22:01:00.000Z");
  next_listing();
  ASSERT_EQ(store_.events().size(), 1u);
  manager_->stop();
  manager_.reset();
  s3_.put("c", "e1", "2023-11-14T22:02:00.000Z");  // while kairos is down
  start();
  manager_->resync();
  auto events = store_.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].body["data"]["notification"][0]["s3"]["object"]["key"], "c");
}

TEST_F(minio_source, a_refused_journal_append_is_retried_at_the_next_listing) {
  start();
  apply(manifest());
  s3_.put("a", "e1", "2023-11-14T22:00:00.000Z");
  store_.db->fail_appends = true;
  next_listing();
  EXPECT_TRUE(store_.events().empty());
  store_.db->fail_appends = false;
  next_listing();
  EXPECT_EQ(store_.events().size(), 1u);
}

TEST_F(minio_source, wrong_credentials_emit_nothing_and_keep_the_source_running) {
  store_.write_secret("s3", "secret", "wrong");
  start();
  apply(manifest());
  s3_.put("a", "e1", "2023-11-14T22:00:00.000Z");
  next_listing();
  EXPECT_TRUE(store_.events().empty());
  EXPECT_TRUE(manager_->errors().empty());
}

TEST(minio_config, events_match_exactly_or_by_trailing_wildcard) {
  using kairos::eventsources::s3_event_selected;
  EXPECT_TRUE(s3_event_selected({"s3:ObjectCreated:*"}, "s3:ObjectCreated:Put"));
  EXPECT_TRUE(s3_event_selected({"s3:ObjectCreated:Put"}, "s3:ObjectCreated:Put"));
  EXPECT_FALSE(s3_event_selected({"s3:ObjectCreated:Post"}, "s3:ObjectCreated:Put"));
  EXPECT_FALSE(s3_event_selected({"s3:ObjectRemoved:*"}, "s3:ObjectCreated:Put"));
}

TEST(list_objects_v2, reads_contents_entities_and_continuation) {
  auto page = parse_list_objects_v2(
      "<?xml version=\"1.0\"?><!-- c --><ListBucketResult xmlns='x'><Name>b</Name>"
      "<Contents><Key>a&amp;b&#x20;&#233;</Key><ETag>\"e1\"</ETag><Size>12</Size>"
      "<LastModified>2023-01-01T00:00:00.000Z</LastModified><Owner><ID>o</ID></Owner></Contents>"
      "<Contents><Key><![CDATA[<raw>]]></Key><ETag>&quot;e2&quot;</ETag><Size/></Contents>"
      "<IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>"
      "</ListBucketResult>");
  ASSERT_TRUE(page.ok()) << page.error().message;
  ASSERT_EQ(page->objects.size(), 2u);
  EXPECT_EQ(page->objects[0].key, "a&b \xC3\xA9");
  EXPECT_EQ(page->objects[0].etag, "e1");
  EXPECT_EQ(page->objects[0].size, 12);
  EXPECT_EQ(page->objects[1].key, "<raw>");
  EXPECT_EQ(page->objects[1].etag, "e2");
  EXPECT_TRUE(page->is_truncated);
  EXPECT_EQ(page->next_continuation_token, "tok/+=");
}

TEST(list_objects_v2, an_s3_error_document_becomes_an_error_with_its_code) {
  auto page = parse_list_objects_v2(
      "<Error><Code>NoSuchBucket</Code><Message>The bucket does not exist</Message></Error>");
  ASSERT_FALSE(page.ok());
  EXPECT_NE(page.error().message.find("NoSuchBucket"), std::string::npos);
}

TEST(list_objects_v2, malformed_documents_are_errors_not_crashes) {
  for (const char* xml :
       {"", "<ListBucketResult>", "<ListBucketResult></Other>",
        "<ListBucketResult><Contents><Key>&bogus;</Key></Contents></ListBucketResult>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>", "text", "<a/><b/>",
        "<![CDATA[x]]>", "<ListBucketResult><Key>&#0;</Key>"}) {
    EXPECT_FALSE(parse_list_objects_v2(xml).ok()) << xml;
  }
}

}  // namespace
