#!/usr/bin/env bash
# Event-to-workflow-start latency (issue 5: under 10 ms at p99): a webhook
# EventSource, a Sensor with an argoWorkflow trigger and the engine runtime
# in one process; a client POSTs EVENTS events at RATE per second. Prints
# p50/p99/max of event -> first node start and of the HTTP response.
#   bench/event_latency.sh [EVENT_LATENCY_BINARY]   (env: EVENTS RATE)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${EVENT_LATENCY:-$here/../build/bench/bench/event_latency}}
[ -x "$bin" ] || { echo "event_latency: no binary at $bin; skipped"; exit 0; }
echo "== event to workflow start latency"
"$bin" "${EVENTS:-2000}" "${RATE:-200}"
