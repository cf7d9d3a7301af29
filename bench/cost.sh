#!/usr/bin/env bash
# CPU cost of one alert: the server's and PostgreSQL's user + system CPU time over a closed-loop
# intake run, divided by the alerts committed in it. Less sensitive to other work on the machine
# than a rate (a busy machine slows both down, but costs stay roughly put), so it is the figure
# to compare two builds with. Not a target of its own: docs/PERFORMANCE.md, "Where the time goes".
#
#   bash bench/cost.sh [--clients 8] [--duration 10] [--repeat 3] [--keep]
#
# XIAONAO_* variables in the environment reach the server; SKIP_BUILD=1 uses build/ as it is;
# BIN_DIR=DIR takes xiaonaod and xiaonao-bench from another build directory.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
clients=8 duration=10 repeat=3 keep=0
while (($#)); do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: bash bench/cost.sh [--clients N] [--duration S] [--repeat R] [--keep]" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
bench_binaries xiaonaod xiaonao-bench
bench_bin=$bin_dir/xiaonao-bench
bench_workdir xiaonao-cost
bench_start_pg
api_key=$(XIAONAO_DB="$db" "$server_bin" apikey create --name bench --sources '*' \
  --scopes alerts:write,feed:read,metrics:read 2>>"$work/apikey.log")
bench_start_server

hz=$(getconf CLK_TCK)
say "load average at start $(cut -d' ' -f1 /proc/loadavg), $clients clients, ${duration}s × $repeat"
printf '| run | alerts/s | server µs/alert | PostgreSQL µs/alert | total µs/alert |\n| --- | --- | --- | --- | --- |\n'
for r in $(seq 1 "$repeat"); do
  XIAONAO_API_KEY=$api_key "$bench_bin" --url "$url" --clients "$clients" --subscribers 4 \
    --warmup 2 --duration "$duration" --json --label "cost-$r" >"$results/cost-$r.txt" 2>&1 &
  bpid=$!
  sleep 2  # the warm-up
  # PostgreSQL's backends come and go with the pool; the postmaster's children at this moment
  # are those that do the work (writers, pool, WAL writer, checkpointer).
  pids=$(pg_pids)
  s0=$(cpu_ticks "$server_pid") p0=$(cpu_ticks $pids)
  a0=$(bench_metric xiaonao_intake_batch_alerts_total)
  sleep "$duration"
  s1=$(cpu_ticks "$server_pid") p1=$(cpu_ticks $pids)
  a1=$(bench_metric xiaonao_intake_batch_alerts_total)
  wait "$bpid" || true
  n=$(awk -v a="${a0:-0}" -v b="${a1:-0}" 'BEGIN{print b - a}')
  awk -v n="$n" -v d="$duration" -v s=$((s1 - s0)) -v p=$((p1 - p0)) -v hz="$hz" -v r="$r" 'BEGIN{
    if (n <= 0) { printf "| %d | no alerts counted (is metrics:read missing?) | | | |\n", r; exit }
    printf "| %d | %.0f | %.0f | %.0f | %.0f |\n", r, n / d, s * 1e6 / hz / n, p * 1e6 / hz / n, (s + p) * 1e6 / hz / n }'
done
