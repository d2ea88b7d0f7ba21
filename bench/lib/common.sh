# Helpers the bench scripts share; sourced, never run (bench/run-all runs
# only bench/*.sh).

# Processes a script starts go in `pids`; bench_cleanup stops them and
# removes $work unless KEEP is set. Use: trap bench_cleanup EXIT
pids=()
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || [ -z "${work:-}" ] || rm -rf "$work"
}

# Stops one process the script started and drops it from `pids`, so that
# bench_cleanup does not signal its pid again once the system may have
# given it to another process.
stop_pid() {  # pid
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  local kept=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || kept+=("$p"); done
  pids=("${kept[@]}")
}

# A loopback port free at the time of asking.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Seconds since the epoch, with nanoseconds.
now() { date +%s.%N; }

# CPU seconds (user + system) the processes have used so far, with their
# children (nginx's workers): steadier than a rate on a shared machine.
cpu_seconds() {  # pid...
  local all=() p
  for p in "$@"; do all+=("$p"); while read -r c; do all+=("$c"); done < <(pgrep -P "$p" || true); done
  local ticks=0 t
  for p in "${all[@]}"; do
    t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
    ticks=$((ticks + t))
  done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
