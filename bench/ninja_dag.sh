#!/usr/bin/env bash
# kairos vs ninja on the same 2,000-node layered DAG of `true` tasks, with
# the same parallelism. ROUNDS rounds, ninja and kairos taking turns; each
# round's wall times and ratio, then the median ratio (target: at most 1.25).
#
# Each round also splits the CPU time: what the runner itself used (ninja,
# or the kairos process) and what the processes it started used, per node.
# How the ratio moves from one machine to another follows from that split:
# where starting a process is cheap, the runner's own share decides.
#   bench/ninja_dag.sh [KAIROS_BINARY]   (env: NODES WIDTH JOBS ROUNDS)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kairos=${1:-${KAIROS:-$here/../build/release/kairos}}
nodes=${NODES:-2000} width=${WIDTH:-50} jobs=${JOBS:-$(nproc)} rounds=${ROUNDS:-3}
command -v ninja >/dev/null || { echo "ninja_dag: ninja not installed; skipped"; exit 0; }
[ -x "$kairos" ] || { echo "ninja_dag: no kairos binary at $kairos; skipped"; exit 0; }
# Not under /tmp: each node gets a private /tmp, and a data directory inside
# it is bound back into every node (a real data directory is elsewhere).
work=$(mktemp -d -p "${BENCH_TMP:-/var/tmp}")
# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
trap bench_cleanup EXIT
bash "$here/gen_layered_dag.sh" "$work/graph" "$nodes" "$width" "$jobs"

# A read with a timeout on a pipe nobody writes: a pause without starting a
# process, which would show in the figures being taken.
mkfifo "$work/idle"
exec {idle}<>"$work/idle"

# Runs a command and sets wall (seconds), own (the command's CPU seconds)
# and started (CPU seconds of the processes it started and waited for). The
# command's /proc entry is read every 20 ms while it runs, so the last
# 20 ms of its own CPU may be missed.
measure() {
  local t0 t1 pid stat="" line rc=0
  t0=$(now)
  "$@" &
  pid=$!
  while read -r line 2>/dev/null <"/proc/$pid/stat"; do
    stat=$line
    read -r -t 0.02 -u "$idle" _ || true
  done
  wait "$pid" || rc=$?
  t1=$(now)
  wall=$(echo "$t1 - $t0" | bc -l)
  read -r own started < <(echo "${stat##*) }" | awk -v hz="$(getconf CLK_TCK)" \
    '{ printf "%.3f %.3f\n", ($12 + $13) / hz, ($14 + $15) / hz }')
  return "$rc"
}

per_node_ms() { echo "$1 * 1000 / $nodes" | bc -l; }

ratios=()
printf 'ninja_dag: %d nodes, width %d, -j %d, %d rounds\n' "$nodes" "$width" "$jobs" "$rounds"
for round in $(seq "$rounds"); do
  rm -rf "$work/graph/.ninja_log" "$work/graph/.ninja_deps"
  measure ninja -C "$work/graph" -j "$jobs" >/dev/null
  ninja_s=$wall ninja_own=$own ninja_started=$started
  status=Succeeded
  rm -rf "$work/data"
  measure "$kairos" run "$work/graph/workflow.yaml" --data-dir "$work/data" -o json \
    >"$work/run.json" 2>"$work/run.err" || status="not Succeeded: $(head -c 300 "$work/run.err")"
  kairos_s=$wall
  ratio=$(echo "$kairos_s / $ninja_s" | bc -l)
  ratios+=("$ratio")
  printf '  round %d: ninja %6.3f s, kairos %6.3f s (%s): %5.2fx\n' "$round" "$ninja_s" \
    "$kairos_s" "$status" "$ratio"
  printf '    CPU ms per node: ninja itself %.3f, its commands %.3f; kairos itself %.3f, its nodes %.3f\n' \
    "$(per_node_ms "$ninja_own")" "$(per_node_ms "$ninja_started")" \
    "$(per_node_ms "$own")" "$(per_node_ms "$started")"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ r[NR] = $1 } END { print r[int((NR + 1) / 2)] }')
printf '  median ratio %.2fx (target <= 1.25x)\n' "$median"
