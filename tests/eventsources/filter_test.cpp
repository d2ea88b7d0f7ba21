#include <gtest/gtest.h>

#include "manager_fixture.hpp"

namespace kairos::testing {
namespace {

using event_filter = manager_fixture;

// Argo evaluates filter.expression over the data's top-level keys.
TEST_F(event_filter, expression_drops_events_it_rejects_but_answers_200) {
  start();
  apply(R"(
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: filtered
spec:
  webhook:
    only-main:
      endpoint: /f
      method: POST
      port: "14000"
      filter:
        expression: "body.ref == 'refs/heads/main'"
)");
  const auto p = port(14000);
  EXPECT_EQ(send(p, http::verb::post, "/f", R"({"ref":"refs/heads/dev"})").status, 200u);
  EXPECT_TRUE(store_.events().empty());
  EXPECT_EQ(send(p, http::verb::post, "/f", R"({"ref":"refs/heads/main"})").status, 200u);
  EXPECT_EQ(store_.events().size(), 1u);
}

}  // namespace
}  // namespace kairos::testing
