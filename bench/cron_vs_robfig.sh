#!/usr/bin/env bash
# `kairos cron next --batch` against robfig/cron v3 (what Argo and Kubernetes
# use) on the same input: LINES lines of SPEC<TAB>TZ<TAB>FROM<TAB>N, each
# asking for N next fire times. Checks that both agree wherever robfig is right
# (zones without DST), counts the DST-zone lines where the two differ (kairos's
# gap/overlap rules, issue 4), and reports throughput and the ratio
# (target: kairos >= 5x robfig).
#   bench/cron_vs_robfig.sh [KAIROS_BINARY]   (env: LINES N RUNS)
# The Go side is built from Debian's golang-go and golang-github-robfig-cron-dev
# in GOPATH mode; they are installed with apt-get when missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kairos=${1:-${KAIROS:-$here/../build/release/kairos}}
lines=${LINES:-20000} n=${N:-10} runs=${RUNS:-3}
[ -x "$kairos" ] || { echo "cron_vs_robfig: no kairos binary at $kairos; skipped"; exit 0; }

robfig_src=/usr/share/gocode/src/github.com/robfig/cron
if ! command -v go >/dev/null || [ ! -d "$robfig_src" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go golang-github-robfig-cron-dev \
      >/dev/null || { apt-get update -q >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q golang-go \
        golang-github-robfig-cron-dev >/dev/null; }
  fi
fi
if ! command -v go >/dev/null || [ ! -d "$robfig_src" ]; then
  echo "cron_vs_robfig: golang-go / golang-github-robfig-cron-dev not installed; skipped"
  exit 0
fi

work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
(cd "$here/robfig" && GO111MODULE=off GOPATH=/usr/share/gocode GOCACHE="$work/gocache" \
  go build -o "$work/robfig" .)

# The input: fixed pseudo-random choices, so every run measures the same lines.
awk -v lines="$lines" -v n="$n" 'BEGIN {
  OFS = "\t"
  ns = split("0 * * * *|*/5 * * * *|30 2 * * *|30 1 * * *|0 3 * * *|15,45 1-3 * * *|0 0 * * *|" \
             "0 9 * * 1-5|*/20 8-18 * * mon-fri|0 0 1 * *|0 0 13 * 5|0 0 */10 * 5|" \
             "5 */2 * * *|0 12 * jan,jul *|45/5 23 * * *|0 0 29 2 *|0 4 L * *|" \
             "@daily|@hourly|@weekly|@monthly|@every 90m|CRON_TZ=Asia/Tokyo 0 9 * * *|" \
             "0 22 * * sun|59 23 31 12 *", spec, "|")
  nz = split("UTC Asia/Tokyo Asia/Kolkata Etc/GMT+5 Europe/Berlin America/New_York " \
             "Australia/Sydney Australia/Lord_Howe Pacific/Chatham America/St_Johns " \
             "America/Santiago", zone, " ")
  seed = 12345
  for (i = 0; i < lines; i++) {
    seed = (seed * 1103515245 + 12345) % 2147483648; s = spec[seed % ns + 1]
    seed = (seed * 1103515245 + 12345) % 2147483648; z = zone[seed % nz + 1]
    seed = (seed * 1103515245 + 12345) % 2147483648
    # Starts from 2020 to 2030, at any second.
    t = 1577836800 + seed % 315360000
    print s, z, strftime("%Y-%m-%dT%H:%M:%SZ", t, 1), n
  }
}' >"$work/input.tsv"

# shellcheck source=lib/common.sh
source "$here/lib/common.sh"
best() {  # best wall time of $runs runs of "$@" < input > $out
  local out=$1 b=999999 t0 t1 d
  shift
  for _ in $(seq "$runs"); do
    t0=$(now)
    "$@" <"$work/input.tsv" >"$out"
    t1=$(now)
    d=$(echo "$t1 - $t0" | bc -l)
    if (($(echo "$d < $b" | bc -l))); then b=$d; fi
  done
  echo "$b"
}
kairos_s=$(best "$work/kairos.out" "$kairos" cron next --batch)
robfig_s=$(best "$work/robfig.out" "$work/robfig")

# Agreement: every line in a zone without DST must match exactly (an error on
# both sides counts as agreement, whatever the wording).
paste "$work/input.tsv" "$work/kairos.out" "$work/robfig.out" | awk -F'\t' '
  function same(a1, a2, b1, b2) { return (a1 == "err" && b1 == "err") || (a1 == b1 && a2 == b2) }
  {
    fixed = ($2 == "UTC" || $2 == "Asia/Tokyo" || $2 == "Asia/Kolkata" || $2 == "Etc/GMT+5" ||
             $1 ~ /^CRON_TZ=Asia\/Tokyo/ || $1 ~ /^@every/)
    if (fixed) { nf++; if (!same($5, $6, $7, $8)) { bad++; if (bad <= 5) print "  differs: " $0 } }
    else { nd++; if (!same($5, $6, $7, $8)) dst++ }
    if ($5 == "err") errs++
  }
  END {
    printf "  agreement, zones without DST: %d/%d lines identical\n", nf - bad, nf
    printf "  DST zones: %d of %d lines differ (kairos fires gap times after the gap and\n", dst, nd
    printf "             repeated times once; robfig skips or repeats them)\n"
    printf "  lines rejected by both parsers: %d\n", errs
    exit bad > 0
  }' || { echo "cron_vs_robfig: kairos and robfig disagree outside DST"; exit 1; }

total=$((lines * n))
printf 'cron_vs_robfig: %d lines x %d next times, best of %d runs (process start included)\n' \
  "$lines" "$n" "$runs"
printf '  robfig %8.3f s  %10.0f times/s\n' "$robfig_s" "$(echo "$total / $robfig_s" | bc -l)"
printf '  kairos %8.3f s  %10.0f times/s\n' "$kairos_s" "$(echo "$total / $kairos_s" | bc -l)"
printf '  ratio  %8.2fx kairos/robfig throughput (target >= 5x)\n' \
  "$(echo "$robfig_s / $kairos_s" | bc -l)"
