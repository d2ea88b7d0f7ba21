#include "printer.hpp"

#include <gtest/gtest.h>

#include "kairos/core/text.hpp"

namespace kairos::cli {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const auto t0 = *parse_rfc3339("2024-01-02T15:04:05Z");

std::string at(std::chrono::seconds offset) {
  return format_rfc3339(t0 + offset);
}

render_options options_at(std::chrono::seconds offset, bool utf8 = true) {
  render_options o;
  o.utf8 = utf8;
  o.now = t0 + offset;
  return o;
}

// A steps workflow: one step, then a parallel group of two.
json steps_workflow() {
  json nodes = {
      {"steps-x",
       {{"id", "steps-x"},
        {"name", "steps-x"},
        {"displayName", "steps-x"},
        {"type", "Steps"},
        {"templateName", "main"},
        {"phase", "Running"},
        {"startedAt", at(0s)},
        {"children", {"steps-x-1"}}}},
      {"steps-x-1",
       {{"id", "steps-x-1"},
        {"name", "steps-x[0]"},
        {"displayName", "[0]"},
        {"type", "StepGroup"},
        {"boundaryID", "steps-x"},
        {"phase", "Succeeded"},
        {"startedAt", at(0s)},
        {"children", {"steps-x-2"}}}},
      {"steps-x-2",
       {{"id", "steps-x-2"},
        {"name", "steps-x[0].hello1"},
        {"displayName", "hello1"},
        {"type", "Pod"},
        {"templateName", "say"},
        {"boundaryID", "steps-x"},
        {"phase", "Succeeded"},
        {"startedAt", at(0s)},
        {"finishedAt", at(30s)},
        {"children", {"steps-x-3"}}}},
      {"steps-x-3",
       {{"id", "steps-x-3"},
        {"name", "steps-x[1]"},
        {"displayName", "[1]"},
        {"type", "StepGroup"},
        {"boundaryID", "steps-x"},
        {"phase", "Running"},
        {"startedAt", at(30s)},
        {"children", {"steps-x-5", "steps-x-4"}}}},
      {"steps-x-4",
       {{"id", "steps-x-4"},
        {"name", "steps-x[1].hello2a"},
        {"displayName", "hello2a"},
        {"type", "Pod"},
        {"templateName", "say"},
        {"boundaryID", "steps-x"},
        {"phase", "Failed"},
        {"message", "exit code 1"},
        {"startedAt", at(30s)},
        {"finishedAt", at(120s)}}},
      {"steps-x-5",
       {{"id", "steps-x-5"},
        {"name", "steps-x[1].hello2b"},
        {"displayName", "hello2b"},
        {"type", "Pod"},
        {"templateName", "say"},
        {"boundaryID", "steps-x"},
        {"phase", "Running"},
        {"startedAt", at(30s)}}},
  };
  return {
      {"metadata", {{"name", "steps-x"}, {"namespace", "default"}, {"creationTimestamp", at(0s)}}},
      {"spec", {{"arguments", {{"parameters", {{{"name", "message"}, {"value", "hello"}}}}}}}},
      {"status",
       {{"phase", "Running"}, {"startedAt", at(0s)}, {"progress", "1/3"}, {"nodes", nodes}}}};
}

// A DAG with a nested DAG, an omitted task and every node phase.
json dag_workflow() {
  auto node = [](std::string id, std::string display, std::string type, std::string phase,
                 std::string boundary, std::chrono::seconds start) {
    json n = {
        {"id", id},       {"name", "dag-y." + display}, {"displayName", display}, {"type", type},
        {"phase", phase}, {"startedAt", at(start)},     {"templateName", "t"}};
    if (!boundary.empty()) n["boundaryID"] = boundary;
    return n;
  };
  json nodes = json::object();
  nodes["dag-y"] = node("dag-y", "dag-y", "DAG", "Running", "", 0s);
  nodes["dag-y"]["name"] = "dag-y";
  nodes["dag-y"]["templateName"] = "main";
  nodes["a"] = node("a", "A", "Pod", "Succeeded", "dag-y", 0s);
  nodes["a"]["finishedAt"] = at(10s);
  nodes["d"] = node("d", "D", "Skipped", "Omitted", "dag-y", 5s);
  nodes["b"] = node("b", "B", "DAG", "Running", "dag-y", 10s);
  nodes["b"]["templateName"] = "inner";
  nodes["b1"] = node("b1", "B1", "Pod", "Pending", "b", 11s);
  nodes["b2"] = node("b2", "B2", "Skipped", "Skipped", "b", 12s);
  nodes["c"] = node("c", "C", "Pod", "Error", "dag-y", 20s);
  nodes["c"]["finishedAt"] = at(21s);
  nodes["c"]["message"] = "boom";
  return {{"metadata", {{"name", "dag-y"}, {"namespace", "ci"}, {"creationTimestamp", at(0s)}}},
          {"status", {{"phase", "Running"}, {"startedAt", at(0s)}, {"nodes", nodes}}}};
}

std::string tree_of(const std::string& rendered) {
  auto pos = rendered.find("STEP");
  return pos == std::string::npos ? "" : rendered.substr(pos);
}

TEST(printer, steps_tree_fans_parallel_steps_out_of_their_step_group) {
  auto out = render_workflow(steps_workflow(), options_at(120s));
  EXPECT_EQ(tree_of(out),
            "STEP            TEMPLATE  PODNAME    DURATION  MESSAGE\n"
            " ● steps-x      main\n"
            " ├───✔ hello1   say       steps-x-2  30s\n"
            " └─┬─✖ hello2a  say       steps-x-4  1m30s     exit code 1\n"
            "   └─● hello2b  say       steps-x-5  1m30s\n");
}

TEST(printer, no_utf8_replaces_icons_with_phase_words_and_connectors_with_ascii) {
  auto out = render_workflow(steps_workflow(), options_at(120s, false));
  EXPECT_NE(out.find(" |---Succeeded hello1"), std::string::npos) << out;
  EXPECT_NE(out.find(" `-+-Failed hello2a"), std::string::npos) << out;
  EXPECT_NE(out.find("   `-Running hello2b"), std::string::npos) << out;
  EXPECT_EQ(out.find("✔"), std::string::npos);
  EXPECT_EQ(out.find("─"), std::string::npos);
}

TEST(printer, header_has_argo_fields_aligned_at_column_21) {
  auto out = render_workflow(steps_workflow(), options_at(120s));
  EXPECT_EQ(out.substr(0, out.find("\n\n")),
            "Name:                steps-x\n"
            "Namespace:           default\n"
            "ServiceAccount:      unset (will run with the default ServiceAccount)\n"
            "Status:              Running\n"
            "Created:             Tue Jan 02 15:04:05 +0000 (2 minutes ago)\n"
            "Started:             Tue Jan 02 15:04:05 +0000 (2 minutes ago)\n"
            "Duration:            2 minutes\n"
            "Progress:            1/3\n"
            "Parameters:\n"
            "  message:           hello");
}

TEST(printer, dag_nests_children_by_boundary_sorted_by_start_and_hides_omitted) {
  auto out = render_workflow(dag_workflow(), options_at(30s));
  EXPECT_EQ(tree_of(out),
            "STEP       TEMPLATE  PODNAME  DURATION  MESSAGE\n"
            " ● dag-y   main\n"
            " ├─✔ A     t         a        10s\n"
            " ├─● B     inner\n"
            " │ ├─◷ B1  t         b1       19s\n"
            " │ └─○ B2  t\n"
            " └─⚠ C     t         c        1s        boom\n");
  EXPECT_EQ(out.find(" D "), std::string::npos);
}

TEST(printer, exit_handler_tree_follows_the_main_tree_after_a_blank_line) {
  json wf = {
      {"metadata", {{"name", "w"}, {"creationTimestamp", at(0s)}}},
      {"status",
       {{"phase", "Succeeded"},
        {"nodes",
         {{"w", {{"name", "w"}, {"displayName", "w"}, {"type", "Pod"}, {"phase", "Succeeded"}}},
          {"w-exit",
           {{"name", "w.onExit"},
            {"displayName", "w.onExit"},
            {"type", "Pod"},
            {"phase", "Failed"}}}}}}}};
  auto tree = tree_of(render_workflow(wf, options_at(0s)));
  EXPECT_EQ(tree,
            "STEP         TEMPLATE  PODNAME  DURATION  MESSAGE\n"
            " ✔ w                   w\n"
            "\n"
            " ✖ w.onExit            w-exit\n");
}

TEST(printer, workflow_without_root_node_prints_only_the_header) {
  json wf = {{"metadata", {{"name", "w"}}},
             {"status", {{"nodes", {{"other", {{"type", "Pod"}}}}}}}};
  auto out = render_workflow(wf, options_at(0s));
  EXPECT_EQ(out.find("STEP"), std::string::npos);
  EXPECT_NE(out.find("Status:              Unknown"), std::string::npos);
}

TEST(printer, malformed_nodes_do_not_crash_or_loop) {
  json wf = {{"metadata", {{"name", "w"}}},
             {"status",
              {{"nodes",
                {{"w", {{"type", "StepGroup"}, {"children", {"x"}}}},
                 {"x", {{"type", "StepGroup"}, {"children", {"w"}}, {"startedAt", 5}}},
                 {"y", "not an object"}}}}}};
  EXPECT_NO_THROW(render_workflow(wf, options_at(0s)));
  EXPECT_NO_THROW(render_workflow(json("nonsense"), options_at(0s)));
  EXPECT_NO_THROW(
      render_workflow_list(json::array({1, "x", json::object()}), options_at(0s), true, true));
}

TEST(printer, status_reports_suspension_and_termination) {
  json wf = {{"metadata", {{"creationTimestamp", at(0s)}}},
             {"spec", {{"suspend", true}}},
             {"status", {{"phase", "Running"}}}};
  EXPECT_EQ(workflow_status(wf), "Running (Suspended)");
  wf["spec"] = {{"shutdown", "Terminate"}};
  wf["status"]["phase"] = "Failed";
  EXPECT_EQ(workflow_status(wf), "Failed (Terminated)");
  wf["status"] = json::object();
  EXPECT_EQ(workflow_status(wf), "Pending");
}

TEST(printer, list_shows_name_status_age_duration_priority_message) {
  json items = json::array();
  items.push_back(
      {{"metadata", {{"name", "first"}, {"namespace", "a"}, {"creationTimestamp", at(0s)}}},
       {"spec", {{"priority", 3}}},
       {"status",
        {{"phase", "Failed"},
         {"startedAt", at(0s)},
         {"finishedAt", at(90s)},
         {"message", "child failed"}}}});
  items.push_back(
      {{"metadata", {{"name", "second-one"}, {"namespace", "b"}, {"creationTimestamp", at(60s)}}},
       {"status", json::object()}});
  EXPECT_EQ(render_workflow_list(items, options_at(120s), false, false),
            "NAME         STATUS    AGE   DURATION   PRIORITY   MESSAGE\n"
            "first        Failed    2m    1m30s      3          child failed\n"
            "second-one   Pending   1m    0s         0\n");
  auto all = render_workflow_list(items, options_at(120s), true, false);
  EXPECT_EQ(all.substr(0, all.find('\n')),
            "NAMESPACE   NAME         STATUS    AGE   DURATION   PRIORITY   MESSAGE");
}

TEST(printer, short_durations_use_the_two_largest_units) {
  EXPECT_EQ(format_duration_short(0s), "0s");
  EXPECT_EQ(format_duration_short(45s), "45s");
  EXPECT_EQ(format_duration_short(90s), "1m30s");
  EXPECT_EQ(format_duration_short(120s), "2m");
  EXPECT_EQ(format_duration_short(3600s), "1h");
  EXPECT_EQ(format_duration_short(3665s), "1h1m");
  EXPECT_EQ(format_duration_short(90000s), "1d1h");
  EXPECT_EQ(format_duration_short(-5s), "0s");
}

TEST(printer, long_durations_are_spelled_out) {
  EXPECT_EQ(format_duration_long(1s), "1 second");
  EXPECT_EQ(format_duration_long(90s), "1 minute 30 seconds");
  EXPECT_EQ(format_duration_long(7200s), "2 hours");
}

TEST(printer, timestamps_carry_a_relative_age) {
  EXPECT_EQ(format_timestamp(t0, t0 + 3h), "Tue Jan 02 15:04:05 +0000 (3 hours ago)");
  EXPECT_EQ(format_timestamp(t0, t0), "Tue Jan 02 15:04:05 +0000 (now)");
  EXPECT_EQ(format_timestamp(t0 + 1s, t0), "Tue Jan 02 15:04:06 +0000 (1 second from now)");
}

TEST(printer, table_widths_count_code_points_not_bytes) {
  EXPECT_EQ(format_table({{"✔✔", "x"}, {"abc", "y"}}, 1), "✔✔  x\nabc y\n");
}

}  // namespace
}  // namespace kairos::cli
