// EventSource specs: the source types kairos runs load into typed values,
// and every rejected manifest says where and why.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "kairos/core/text.hpp"
#include "kairos/spec/event_source.hpp"
#include "kairos/spec/loader.hpp"

namespace kairos::spec {
namespace {

using namespace std::chrono_literals;

// Five header lines, so the spec body starts on line 6.
std::string event_source(std::string_view body) {
  return std::string(
             "apiVersion: argoproj.io/v1alpha1\n"
             "kind: EventSource\n"
             "metadata:\n"
             "  name: ci\n"
             "spec:\n") +
         std::string(body);
}

const event_source_spec& spec_of(const load_result& r) {
  return std::get<event_source_spec>(r.resources.at(0).spec);
}

std::string errors(const load_result& r) {
  return to_string(r.diagnostics);
}

testing::AssertionResult has_error(const load_result& r, std::string_view text) {
  for (const auto& d : r.diagnostics)
    if (d.to_string().find(text) != std::string::npos) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "no diagnostic contains \"" << text << "\"; got:\n"
                                     << errors(r);
}

TEST(event_source_spec, github_ci_source_loads_with_secret_and_repository_filter) {
  auto r = load_text(event_source(R"(  github:
    ci:
      webhook:
        endpoint: /push
        port: "12000"
        method: POST
      events: [push, pull_request]
      webhookSecret:
        name: github-access
        key: secret
      repositories:
        - owner: acme
          names: [app, lib]
      contentType: json
      insecure: true
      active: true
)"),
                     "es.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& spec = spec_of(r);
  ASSERT_EQ(spec.github.count("ci"), 1u);
  const auto& gh = spec.github.at("ci");
  EXPECT_EQ(gh.webhook.endpoint, "/push");
  EXPECT_EQ(gh.webhook.port, "12000");
  EXPECT_EQ(gh.webhook.port_number, 12000);
  EXPECT_EQ(gh.webhook.method, "POST");
  EXPECT_EQ(gh.webhook.max_payload_size, 1048576);
  EXPECT_EQ(gh.events, (std::vector<std::string>{"push", "pull_request"}));
  ASSERT_TRUE(gh.webhook_secret.has_value());
  EXPECT_EQ(gh.webhook_secret->name, "github-access");
  EXPECT_EQ(gh.webhook_secret->key, "secret");
  ASSERT_EQ(gh.repositories.size(), 1u);
  EXPECT_EQ(gh.repositories[0].owner, "acme");
  EXPECT_EQ(gh.repositories[0].names, (std::vector<std::string>{"app", "lib"}));
  EXPECT_EQ(gh.content_type, github_content_type::json);
  EXPECT_EQ(spec.event_count(), 1u);
}

TEST(event_source_spec, github_deprecated_owner_and_repository_become_a_repository_filter) {
  auto r = load_text(event_source(R"(  github:
    ci:
      webhook: {endpoint: /push, port: 12000, method: POST}
      events: ["*"]
      owner: acme
      repository: app
)"),
                     "es.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& gh = spec_of(r).github.at("ci");
  ASSERT_EQ(gh.repositories.size(), 1u);
  EXPECT_EQ(gh.repositories[0].owner, "acme");
  EXPECT_EQ(gh.repositories[0].names, std::vector<std::string>{"app"});
}

TEST(event_source_spec, github_api_token_is_unsupported_because_kairos_registers_no_hooks) {
  auto r = load_text(event_source(R"(  github:
    ci:
      webhook: {endpoint: /push, port: "12000", method: POST}
      events: [push]
      apiToken:
        name: github-access
        key: token
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:11:9: spec.github.ci.apiToken: not supported by kairos: kairos does not "
            "register webhooks with GitHub; configure the hook in GitHub to post to this endpoint");
}

TEST(event_source_spec, webhook_loads_with_defaults_and_auth_secret) {
  auto r = load_text(event_source(R"(  webhook:
    deploy:
      endpoint: /deploy
      port: "12000"
      method: POST
      url: https://example.com
      authSecret: {name: hooks, key: token}
      metadata: {team: ops}
      filter:
        expression: body.env == "prod"
    small:
      endpoint: /small
      port: 12001
      method: PUT
      maxPayloadSize: 4096
      serverCertSecret: {name: tls, key: crt}
      serverKeySecret: {name: tls, key: key}
)"),
                     "es.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& spec = spec_of(r);
  const auto& deploy = spec.webhook.at("deploy");
  EXPECT_EQ(deploy.webhook.max_payload_size, default_max_payload_size);
  ASSERT_TRUE(deploy.webhook.auth_secret.has_value());
  EXPECT_EQ(deploy.webhook.auth_secret->key, "token");
  EXPECT_EQ(deploy.webhook.metadata.at("team"), "ops");
  ASSERT_TRUE(deploy.filter.has_value());
  EXPECT_EQ(deploy.filter->expression, "body.env == \"prod\"");
  const auto& small = spec.webhook.at("small");
  EXPECT_EQ(small.webhook.port_number, 12001);
  EXPECT_EQ(small.webhook.max_payload_size, 4096);
  EXPECT_TRUE(small.webhook.server_cert_secret && small.webhook.server_key_secret);
  EXPECT_EQ(spec.event_count(), 2u);
}

TEST(event_source_spec, webhook_endpoint_port_and_method_are_checked_at_their_values) {
  auto r = load_text(event_source(R"(  webhook:
    deploy:
      endpoint: deploy
      port: "http"
      method: POTS
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:8:17: spec.webhook.deploy.endpoint: must start with '/', got 'deploy'\n"
            "es.yaml:9:13: spec.webhook.deploy.port: 'http' is not a valid port number (1-65535)\n"
            "es.yaml:10:15: spec.webhook.deploy.method: 'POTS' is not one of GET, HEAD, POST, PUT, "
            "PATCH, DELETE, OPTIONS (did you mean POST?)");
}

TEST(event_source_spec, webhook_requires_endpoint_and_method) {
  auto r = load_text(event_source(R"(  webhook:
    deploy:
      port: "12000"
)"),
                     "es.yaml");
  EXPECT_TRUE(has_error(r, "es.yaml:8:7: spec.webhook.deploy.endpoint: required field is missing"));
  EXPECT_TRUE(has_error(r, "spec.webhook.deploy.method: required field is missing"));
}

TEST(event_source_spec, server_cert_without_key_is_an_error) {
  auto r = load_text(event_source(R"(  webhook:
    deploy:
      endpoint: /deploy
      port: "12000"
      method: POST
      serverCertSecret: {name: tls, key: crt}
)"),
                     "es.yaml");
  EXPECT_TRUE(has_error(r, "spec.webhook.deploy.serverKeySecret: required with serverCertSecret"));
}

TEST(event_source_spec, secret_selector_needs_name_and_key) {
  auto r = load_text(event_source(R"(  webhook:
    deploy:
      endpoint: /deploy
      port: "12000"
      method: POST
      authSecret: {name: Hooks}
)"),
                     "es.yaml");
  EXPECT_TRUE(has_error(r, "spec.webhook.deploy.authSecret.name: invalid secret name 'Hooks'"));
  EXPECT_TRUE(has_error(r, "spec.webhook.deploy.authSecret.key: required field is missing"));
}

TEST(event_source_spec, unknown_field_suggests_the_closest_known_one) {
  auto r = load_text(event_source(R"(  webhook:
    deploy:
      endpiont: /deploy
      endpoint: /deploy
      port: "12000"
      method: POST
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:8:7: spec.webhook.deploy.endpiont: unknown field 'endpiont' (did you mean "
            "'endpoint'?)");
}

TEST(event_source_spec, two_events_on_the_same_route_are_rejected) {
  auto r = load_text(event_source(R"(  webhook:
    a: {endpoint: /hook, port: "12000", method: POST}
  github:
    b:
      webhook: {endpoint: /hook, port: "12000", method: POST}
      events: [push]
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:10:16: spec.github.b.webhook: POST /hook on port 12000 is already served by "
            "spec.webhook.a");
}

TEST(event_source_spec, event_names_are_unique_across_source_types) {
  auto r = load_text(event_source(R"(  webhook:
    build: {endpoint: /build, port: "12000", method: POST}
  calendar:
    build: {interval: 1h}
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:9:5: spec.calendar.build: duplicate event name 'build' (already defined at "
            "spec.webhook.build)");
}

TEST(event_source_spec, invalid_event_name_is_reported_at_the_key) {
  auto r = load_text(event_source(R"(  calendar:
    "nightly run": {interval: 1h}
)"),
                     "es.yaml");
  EXPECT_TRUE(has_error(r, "es.yaml:7:5: spec.calendar.nightly run: invalid event name"));
}

TEST(event_source_spec, an_event_source_without_events_is_rejected) {
  auto r = load_text(event_source("  eventBusName: default\n  replicas: 2\n"), "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:6:3: spec: no events configured: expected at least one of webhook, github, "
            "kafka, minio, sns or calendar");
}

TEST(event_source_spec, unsupported_source_type_says_not_supported) {
  auto r = load_text(event_source(R"(  amqp:
    orders:
      url: amqp://localhost
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(has_error(r, "es.yaml:7:5: spec.amqp: not supported by kairos"));
}

TEST(event_source_spec, deployment_fields_are_ignored) {
  auto r = load_text(event_source(R"(  eventBusName: default
  replicas: 2
  template:
    serviceAccountName: sa
  service:
    ports: [{port: 12000, targetPort: 12000}]
  webhook:
    a: {endpoint: /a, port: "12000", method: POST}
)"),
                     "es.yaml");
  EXPECT_TRUE(r.ok()) << errors(r);
}

TEST(event_source_spec, kafka_consumer_group_with_sasl_tls_and_config_loads) {
  auto r = load_text(event_source(R"(  kafka:
    orders:
      url: kafka-0:9092,kafka-1:9092
      topic: orders
      jsonBody: true
      limitEventsPerSecond: 50
      version: "2.5.0"
      consumerGroup:
        groupName: kairos
        oldest: true
        rebalanceStrategy: sticky
      sasl:
        mechanism: SCRAM-SHA-512
        userSecret: {name: kafka, key: user}
        passwordSecret: {name: kafka, key: password}
      tls:
        caCertSecret: {name: kafka-tls, key: ca.crt}
      config: |
        fetch.max.bytes: 1048576
        client.id: kairos
      connectionBackoff:
        duration: 10s
        steps: 5
        factor: 2
        jitter: "0.2"
)"),
                     "es.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& k = spec_of(r).kafka.at("orders");
  EXPECT_EQ(k.url, "kafka-0:9092,kafka-1:9092");
  EXPECT_EQ(k.topic, "orders");
  EXPECT_TRUE(k.json_body);
  EXPECT_EQ(k.limit_events_per_second, 50);
  ASSERT_TRUE(k.consumer_group.has_value());
  EXPECT_EQ(k.consumer_group->group_name, "kairos");
  EXPECT_TRUE(k.consumer_group->oldest);
  EXPECT_EQ(k.consumer_group->rebalance_strategy, kafka_rebalance_strategy::sticky);
  ASSERT_TRUE(k.sasl.has_value());
  EXPECT_EQ(k.sasl->mechanism, sasl_mechanism::scram_sha_512);
  EXPECT_EQ(k.sasl->password_secret->key, "password");
  ASSERT_TRUE(k.tls.has_value());
  EXPECT_EQ(k.tls->ca_cert_secret->key, "ca.crt");
  EXPECT_EQ(k.config.at("fetch.max.bytes"), "1048576");
  EXPECT_EQ(k.config.at("client.id"), "kairos");
  ASSERT_TRUE(k.connection_backoff.has_value());
  EXPECT_EQ(k.connection_backoff->duration, std::chrono::nanoseconds(10s));
  EXPECT_EQ(k.connection_backoff->steps, 5);
  EXPECT_EQ(k.connection_backoff->factor, 2.0);
  EXPECT_EQ(k.connection_backoff->jitter, 0.2);
  EXPECT_FALSE(k.partition_number.has_value());
}

TEST(event_source_spec, kafka_backoff_integer_duration_counts_nanoseconds) {
  auto r = load_text(event_source(R"(  kafka:
    orders:
      url: kafka:9092
      topic: orders
      partition: "3"
      connectionBackoff: {duration: 1000000000}
)"),
                     "es.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& k = spec_of(r).kafka.at("orders");
  EXPECT_EQ(k.partition_number, 3);
  EXPECT_EQ(k.connection_backoff->duration, std::chrono::nanoseconds(1s));
}

TEST(event_source_spec, kafka_needs_a_consumer_group_or_a_partition) {
  auto r = load_text(event_source(R"(  kafka:
    orders:
      url: kafka:9092
      topic: orders
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:8:7: spec.kafka.orders: either consumerGroup or partition is required");
}

TEST(event_source_spec, kafka_bad_rebalance_strategy_lists_the_choices) {
  auto r = load_text(event_source(R"(  kafka:
    orders:
      url: kafka:9092
      topic: orders
      consumerGroup: {groupName: g, rebalanceStrategy: roundrobbin}
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:10:56: spec.kafka.orders.consumerGroup.rebalanceStrategy: 'roundrobbin' is "
            "not one of range, sticky, roundrobin (did you mean roundrobin?)");
}

TEST(event_source_spec, kafka_oauthbearer_is_not_supported) {
  auto r = load_text(event_source(R"(  kafka:
    orders:
      url: kafka:9092
      topic: orders
      partition: "0"
      sasl:
        mechanism: OAUTHBEARER
        userSecret: {name: kafka, key: user}
        passwordSecret: {name: kafka, key: password}
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(errors(r),
            "es.yaml:12:20: spec.kafka.orders.sasl.mechanism: 'OAUTHBEARER' is not supported by "
            "kairos (supported: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)");
}

TEST(event_source_spec, kafka_bad_broker_and_config_are_reported) {
  auto r = load_text(event_source(R"(  kafka:
    orders:
      url: kafka
      topic: orders
      partition: "x"
      config: "[1, 2]"
      schemaRegistry: {url: http://registry}
)"),
                     "es.yaml");
  EXPECT_TRUE(
      has_error(r, "spec.kafka.orders.url: 'kafka' is not a broker address (expected host:port)"));
  EXPECT_TRUE(has_error(r, "spec.kafka.orders.partition: 'x' is not a partition number"));
  EXPECT_TRUE(
      has_error(r, "spec.kafka.orders.config: expected a YAML mapping of librdkafka properties"));
  EXPECT_TRUE(has_error(r, "spec.kafka.orders.schemaRegistry: not supported by kairos"));
}

TEST(event_source_spec, minio_loads_with_default_poll_interval) {
  auto r = load_text(event_source(R"(  minio:
    uploads:
      endpoint: minio:9000
      bucket: {name: incoming}
      insecure: true
      accessKey: {name: minio, key: accesskey}
      secretKey: {name: minio, key: secretkey}
      events: ["s3:ObjectCreated:Put", "s3:ObjectRemoved:*"]
      filter: {prefix: data/, suffix: .csv}
    archive:
      endpoint: minio:9000
      bucket: {name: archive}
      accessKey: {name: minio, key: accesskey}
      secretKey: {name: minio, key: secretkey}
      events: ["s3:ObjectCreated:*"]
      pollInterval: 1m
)"),
                     "es.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& spec = spec_of(r);
  const auto& up = spec.minio.at("uploads");
  EXPECT_EQ(up.endpoint, "minio:9000");
  EXPECT_EQ(up.bucket.name, "incoming");
  EXPECT_TRUE(up.insecure);
  EXPECT_EQ(up.access_key.key, "accesskey");
  EXPECT_EQ(up.events.size(), 2u);
  ASSERT_TRUE(up.filter.has_value());
  EXPECT_EQ(up.filter->prefix, "data/");
  EXPECT_EQ(up.filter->suffix, ".csv");
  EXPECT_EQ(up.poll_interval, std::chrono::nanoseconds(10s));
  EXPECT_EQ(spec.minio.at("archive").poll_interval, std::chrono::nanoseconds(1min));
}

TEST(event_source_spec, minio_rejects_non_s3_events_and_bad_poll_interval) {
  auto r = load_text(event_source(R"(  minio:
    uploads:
      endpoint: minio:9000
      bucket: {name: incoming}
      accessKey: {name: minio, key: accesskey}
      secretKey: {name: minio, key: secretkey}
      events: [ObjectCreated]
      pollInterval: 10
)"),
                     "es.yaml");
  EXPECT_TRUE(has_error(r, "spec.minio.uploads.events: 'ObjectCreated' is not an S3 event name"));
  EXPECT_TRUE(
      has_error(r, "es.yaml:13:21: spec.minio.uploads.pollInterval: invalid duration '10'"));
}

TEST(event_source_spec, sns_loads_and_role_arn_is_unsupported) {
  auto ok = load_text(event_source(R"(  sns:
    alerts:
      topicArn: arn:aws:sns:us-east-1:123456789012:alerts
      webhook: {endpoint: /sns, port: "12000", method: POST}
      accessKey: {name: aws, key: access}
      secretKey: {name: aws, key: secret}
      region: us-east-1
      validateSignature: true
)"),
                      "es.yaml");
  ASSERT_TRUE(ok.ok()) << errors(ok);
  const auto& sns = spec_of(ok).sns.at("alerts");
  EXPECT_EQ(sns.topic_arn, "arn:aws:sns:us-east-1:123456789012:alerts");
  EXPECT_EQ(sns.webhook.endpoint, "/sns");
  EXPECT_EQ(sns.region, "us-east-1");
  EXPECT_TRUE(sns.validate_signature);

  auto bad = load_text(event_source(R"(  sns:
    alerts:
      topicArn: arn:aws:sns:us-east-1:123456789012:alerts
      webhook: {endpoint: /sns, port: "12000", method: POST}
      roleARN: arn:aws:iam::123456789012:role/x
)"),
                       "es.yaml");
  EXPECT_TRUE(has_error(bad, "es.yaml:10:16: spec.sns.alerts.roleARN: not supported by kairos"));
}

TEST(event_source_spec, calendar_loads_interval_timezone_exclusions_and_catchup) {
  auto r = load_text(event_source(R"(  calendar:
    nightly:
      schedule: "0 2 * * *"
      timezone: Europe/Paris
      exclusionDates:
        - EXDATE:20241225T020000Z,20250101T020000Z
      userPayload: {job: etl}
      metadata: {owner: data}
      persistence:
        catchup: {enabled: true, maxDuration: 6h}
        configMap: {name: calendar-state, createIfNotExist: true}
    ticker:
      interval: 90s
)"),
                     "es.yaml");
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& spec = spec_of(r);
  const auto& nightly = spec.calendar.at("nightly");
  EXPECT_EQ(nightly.schedule, "0 2 * * *");
  EXPECT_FALSE(nightly.interval.has_value());
  EXPECT_EQ(nightly.timezone, "Europe/Paris");
  ASSERT_EQ(nightly.exclusion_times.size(), 2u);
  EXPECT_EQ(format_rfc3339(nightly.exclusion_times[0]), "2024-12-25T02:00:00Z");
  EXPECT_EQ(nightly.user_payload["job"], "etl");
  ASSERT_TRUE(nightly.persistence && nightly.persistence->catchup);
  EXPECT_TRUE(nightly.persistence->catchup->enabled);
  EXPECT_EQ(nightly.persistence->catchup->max_duration, std::chrono::nanoseconds(6h));
  EXPECT_EQ(spec.calendar.at("ticker").interval, std::chrono::nanoseconds(90s));
}

TEST(event_source_spec, calendar_errors_are_reported_at_their_values) {
  auto r = load_text(event_source(R"(  calendar:
    nightly:
      schedule: "0 2 * * *"
      timezone: Europe/Pariss
      exclusionDates: ["2024-12-25"]
    neither:
      metadata: {a: b}
    both:
      schedule: "* * * * *"
      interval: 1m
)"),
                     "es.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(
      errors(r),
      "es.yaml:9:17: spec.calendar.nightly.timezone: unknown time zone 'Europe/Pariss' "
      "(expected an IANA name such as Europe/Paris)\n"
      "es.yaml:10:24: spec.calendar.nightly.exclusionDates[0]: expected "
      "EXDATE:YYYYMMDDTHHMMSSZ[,...], got '2024-12-25'\n"
      "es.yaml:12:7: spec.calendar.neither: either schedule or interval is required\n"
      "es.yaml:15:17: spec.calendar.both.interval: set either schedule or interval, not both");
}

TEST(event_source_spec, malformed_shapes_are_reported_not_crashed_on) {
  for (std::string_view body : {
           "  webhook: [a]\n",
           "  webhook:\n    a: 3\n",
           "  github:\n    a: {webhook: [1], events: push}\n",
           "  kafka:\n    a: {url: [x], topic: {}, consumerGroup: 1, config: \"a: [1]\"}\n",
           "  calendar:\n    a: {interval: -1s, exclusionDates: [1, [2]], persistence: []}\n",
           "  minio:\n    a: {bucket: x, events: {}}\n",
           "  ? [a]\n  : 1\n",
       }) {
    auto r = load_text(event_source(body), "es.yaml");
    EXPECT_FALSE(r.ok()) << body;
    EXPECT_FALSE(r.diagnostics.empty()) << body;
  }
}

}  // namespace
}  // namespace kairos::spec
