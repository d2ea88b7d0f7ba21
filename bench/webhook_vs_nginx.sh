#!/usr/bin/env bash
# Webhook ingest: wrk posts one small JSON event over keep-alive connections
# to a kairos webhook EventSource (every 200 means the event is committed to
# the SQLite journal) and to nginx answering 200 from memory, on the same
# machine, one after the other. Reports requests/s, p99 latency and the
# kairos/nginx throughput ratio (issue 5 target: >= 0.5, kairos p99 < 5 ms),
# and each server's CPU time per request (wrk shares the machine, so what a
# server spends per request also bounds how fast the other side can go).
# The two take turns for ROUNDS rounds (kairos on a fresh data directory each
# time) and the median round is reported: on a shared 2-CPU VM one run of
# either moved by a quarter from one minute to the next.
#   bench/webhook_vs_nginx.sh [KAIROS_BINARY]   (env: DURATION THREADS CONNECTIONS ROUNDS)
# Needs Debian's wrk and nginx (apt-get install wrk nginx); skipped without.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kairos=${1:-${KAIROS:-$here/../build/release/kairos}}
duration=${DURATION:-10s} threads=${THREADS:-2} connections=${CONNECTIONS:-32}
rounds=${ROUNDS:-3}
[ -x "$kairos" ] || { echo "webhook_vs_nginx: no kairos binary at $kairos; skipped"; exit 0; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
if ! command -v wrk >/dev/null || [ ! -x "$nginx_bin" ]; then
  echo "webhook_vs_nginx: wrk and nginx are needed (apt-get install wrk nginx); skipped"
  exit 0
fi

work=$(mktemp -d)
# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
trap bench_cleanup EXIT
wait_http() {  # url
  for _ in $(seq 1 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "webhook_vs_nginx: $1 did not come up" >&2
  return 1
}

nginx_port=$(free_port)

# kairos: one webhook EventSource, nothing else; a fresh server and journal
# per round, so no round starts with a larger database than another.
kairos_pid=
start_kairos() {  # round
  hook_port=$(free_port)
  local api_port
  api_port=$(free_port)
  local dir="$work/kairos-$1"
  mkdir -p "$dir/manifests" "$dir/data"
  cat > "$dir/manifests/bench.yaml" <<YAML
apiVersion: argoproj.io/v1alpha1
kind: EventSource
metadata:
  name: bench
spec:
  webhook:
    ingest:
      endpoint: /ingest
      method: POST
      port: "$hook_port"
YAML
  "$kairos" serve --listen "127.0.0.1:$api_port" --data-dir "$dir/data" \
    --manifests "$dir/manifests" --log-level warn >"$dir/kairos.log" 2>&1 &
  kairos_pid=$!
  pids+=("$kairos_pid")
  wait_http "http://127.0.0.1:$hook_port/health" || { cat "$dir/kairos.log"; exit 1; }
}

# nginx: answers every POST with 200 from memory.
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { return 200 '{"status":"success"}'; }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
pids+=("$nginx_pid")
wait_http "http://127.0.0.1:$nginx_port/ingest"

cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"ref":"refs/heads/main","after":"9f2c1e0","n":42}'
wrk.headers["Content-Type"] = "application/json"
LUA

run_wrk() {  # name url server-pid -> "<req/s> <p99 ms> <server CPU us per request>"
  local out cpu0 cpu1
  cpu0=$(cpu_seconds "$3")
  out=$(wrk -t"$threads" -c"$connections" -d"$duration" --latency -s "$work/post.lua" "$2")
  cpu1=$(cpu_seconds "$3")
  echo "$out" >"$work/wrk-$1.txt"
  local rps p99 requests
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  # wrk prints the percentile with its unit (us, ms, s); normalise to ms.
  p99=$(awk '$1 == "99%" { v = $2; u = v; gsub(/[0-9.]/, "", u); gsub(/[a-z]/, "", v);
          if (u == "us") v /= 1000; else if (u == "s") v *= 1000; print v }' <<<"$out")
  local non2xx
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  [ -z "$non2xx" ] || echo "webhook_vs_nginx: $1 answered $non2xx non-2xx responses" >&2
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  echo "$rps $p99 $(awk -v a="$cpu0" -v b="$cpu1" -v n="$requests" \
    'BEGIN { printf "%.1f", (n > 0 ? 1e6 * (b - a) / n : 0) }')"
}

printf 'webhook ingest (%s, %s threads, %s connections, same machine, %s rounds)\n' \
  "$duration" "$threads" "$connections" "$rounds"
: >"$work/rounds.txt"
for r in $(seq 1 "$rounds"); do
  start_kairos "$r"
  read -r k_rps k_p99 k_cpu < <(run_wrk "kairos-$r" "http://127.0.0.1:$hook_port/ingest" "$kairos_pid")
  stop_pid "$kairos_pid"
  read -r n_rps n_p99 n_cpu < <(run_wrk "nginx-$r" "http://127.0.0.1:$nginx_port/ingest" "$nginx_pid")
  ratio=$(awk -v k="$k_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", (n > 0 ? k / n : 0) }')
  echo "$ratio $k_rps $k_p99 $n_rps $n_p99 $k_cpu $n_cpu" >>"$work/rounds.txt"
  printf '  round %d: kairos %8.0f req/s p99 %5.2f ms %5.1f us CPU/req, nginx %8.0f req/s p99 %5.2f ms %5.1f us CPU/req, ratio %s\n' \
    "$r" "$k_rps" "$k_p99" "$k_cpu" "$n_rps" "$n_p99" "$n_cpu" "$ratio"
done
# The round with the median ratio, and the worst kairos p99 of all rounds.
read -r ratio k_rps k_p99 n_rps n_p99 k_cpu n_cpu < <(sort -n "$work/rounds.txt" | sed -n "$(((rounds + 1) / 2))p")
worst_p99=$(sort -g -k3 "$work/rounds.txt" | tail -n1 | awk '{ print $3 }')
printf '  kairos webhook (durable): %10.0f req/s  p99 %6.2f ms (worst round %.2f ms)  %5.1f us CPU per request\n' \
  "$k_rps" "$k_p99" "$worst_p99" "$k_cpu"
printf '  nginx return 200:         %10.0f req/s  p99 %6.2f ms  %5.1f us CPU per request\n' \
  "$n_rps" "$n_p99" "$n_cpu"
printf '  ratio kairos/nginx: %s, median of %s rounds (target >= 0.50; kairos p99 target < 5 ms)\n' \
  "$ratio" "$rounds"
