#!/usr/bin/env bash
# Fire lateness of the CronWorkflow controller with 10,000 CronWorkflows on a
# real clock (issue 4, section 6: runs start within 10 ms; 10,000 crons under
# 50 MB). Prints p50/p99/max lateness and the controller's RSS delta.
#   bench/cron_lateness.sh [CRON_LATENESS_BINARY]   (env: SECONDS_TO_RUN CRONS MAX_PERIOD;
#   passed through to the binary: RESYNC_MS FIRE_THREADS PREPARE_LIMIT)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-${CRON_LATENESS:-$here/../build/bench/bench/cron_lateness}}
[ -x "$bin" ] || { echo "cron_lateness: no binary at $bin; skipped"; exit 0; }
echo "== cron fire lateness"
"$bin" "${SECONDS_TO_RUN:-10}" "${CRONS:-10000}" "${MAX_PERIOD:-10}"
