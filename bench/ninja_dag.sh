#!/usr/bin/env bash
# kairos vs ninja on the same 2,000-node layered DAG of `true` tasks, with
# the same parallelism. Reports both wall times and kairos/ninja (target:
# at most 1.25).
#   bench/ninja_dag.sh [KAIROS_BINARY]   (env: NODES WIDTH JOBS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kairos=${1:-${KAIROS:-$here/../build/release/kairos}}
nodes=${NODES:-2000} width=${WIDTH:-50} jobs=${JOBS:-$(nproc)}
command -v ninja >/dev/null || { echo "ninja_dag: ninja not installed; skipped"; exit 0; }
[ -x "$kairos" ] || { echo "ninja_dag: no kairos binary at $kairos; skipped"; exit 0; }
# Not under /tmp: each node gets a private /tmp, and a data directory inside
# it is bound back into every node (a real data directory is elsewhere).
work=$(mktemp -d -p "${BENCH_TMP:-/var/tmp}")
trap 'rm -rf "$work"' EXIT
bash "$here/gen_layered_dag.sh" "$work/graph" "$nodes" "$width" "$jobs"

# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
t0=$(now)
ninja -C "$work/graph" -j "$jobs" >/dev/null
t1=$(now)
status=Succeeded
"$kairos" run "$work/graph/workflow.yaml" --data-dir "$work/data" -o json >"$work/run.json" \
  2>"$work/run.err" || status="not Succeeded: $(head -c 300 "$work/run.err")"
t2=$(now)
ninja_s=$(echo "$t1 - $t0" | bc -l)
kairos_s=$(echo "$t2 - $t1" | bc -l)
ratio=$(echo "$kairos_s / $ninja_s" | bc -l)
printf 'ninja_dag: %d nodes, width %d, -j %d\n' "$nodes" "$width" "$jobs"
printf '  ninja  %8.3f s\n  kairos %8.3f s (%s)\n  ratio  %8.2fx (target <= 1.25x)\n' \
  "$ninja_s" "$kairos_s" "$status" "$ratio"
