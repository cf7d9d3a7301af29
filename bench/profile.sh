#!/usr/bin/env bash
# Where the time goes in one intake load: for finding the next lever, not a target of its own
# (docs/PERFORMANCE.md, "Where the time goes").
#
#   bash bench/profile.sh [--clients 8] [--rate 0] [--subscribers 4] [--duration 10] [--prefill 0]
#                         [--checkpoint] [--timeline] [--keep]
#
# Starts a private durable PostgreSQL with pg_stat_statements, xiaonaod on it, runs xiaonao-bench
# once (closed loop, or --rate R alerts/s) and prints what follows. --prefill S first runs S seconds
# of closed-loop intake at 32 clients, not measured, so that the tables hold what bench/run.sh's
# throughput phases leave before its latency phase (a fresh database is cheaper to write to).
# --checkpoint runs a CHECKPOINT just before the window, which then starts where a checkpoint
# cycle does: every page's first change after it writes the whole page to the WAL.
#   - the load generator's own summary (rate, POST and feed latency, its CPU; with --timeline
#     the POST latency of every second, to tell a steady tail from a few stalls);
#   - CPU per alert of the server and of its busiest threads (by name: xn-intake-0 is the intake
#     writer, xiaonaod and xn-io-N the I/O threads), of PostgreSQL in all and of its busiest processes (each named
#     by the last statement it ran: the intake writers run `EXECUTE xn_...`);
#   - the WAL written per alert (pg_stat_wal: records, full-page images, bytes);
#   - the intake batches from /metrics: mean batch, mean transaction time, the feed listener's
#     reads of the events table, and the server's own feed delay (xiaonao_feed_delivery_seconds:
#     release to written, per write; p50 and p99 interpolated inside their buckets);
#   - the statements by total execution time (pg_stat_statements; execution only: parsing,
#     executor start-up and commit are not in it), with how often each was planned and the
#     planning time (a statement planned on every call shows plans close to calls).
# XIAONAO_* variables in the environment reach the server; SKIP_BUILD=1 uses build/ as it is;
# BIN_DIR=DIR takes xiaonaod and xiaonao-bench from another build directory. Run it on a quiet
# machine, and more than once: a single run on a shared machine is a hint, not a measurement.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
clients=8 rate=0 subscribers=4 duration=10 prefill=0 checkpoint=0 keep=0 timeline=()
while (($#)); do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --subscribers) subscribers=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --prefill) prefill=$2; shift 2 ;;
    --checkpoint) checkpoint=1; shift ;;
    --timeline) timeline=(--timeline); shift ;;
    --keep) keep=1; shift ;;
    *) echo "usage: bash bench/profile.sh [--clients N] [--rate R] [--subscribers M] [--duration S] [--prefill S] [--checkpoint] [--timeline] [--keep]" >&2; exit 2 ;;
  esac
done
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
bench_binaries xiaonaod xiaonao-bench
bench_bin=$bin_dir/xiaonao-bench
bench_workdir xiaonao-profile
bench_start_pg
psql_x() { bash "$repo/scripts/pg.sh" psql "$pg_dir" xiaonao -qAt "$@"; }
# pg_stat_statements needs a restart to load.
psql_x -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
bash "$repo/scripts/pg.sh" stop "$pg_dir" >/dev/null
bash "$repo/scripts/pg.sh" start "$pg_dir" >>"$work/pg.out" 2>&1
psql_x -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null
# Planning too: a statement re-planned on most calls shows as plans close to calls.
psql_x -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" -c "SELECT pg_reload_conf()" >/dev/null
api_key=$(XIAONAO_DB="$db" "$server_bin" apikey create --name profile --sources '*' \
  --scopes alerts:write,feed:read,metrics:read 2>>"$work/apikey.log")
bench_start_server

hz=$(getconf CLK_TCK)
# The readings at the window's edges, in a few processes: forking dozens of small ones there
# (an awk per process and per thread, a curl per metric) stalled this two-core machine for
# seconds at 1,000 alerts/s, and showed as the window's first seconds. Writes into $1:
#   cpu      pid utime+stime (ticks), the server and every PostgreSQL process;
#   threads  the server's threads by name (log::name_thread: xn-intake-0, xn-io-1, ...; the
#            main thread, an I/O thread too, is xiaonaod) with their ticks;
#   metrics  the server's /metrics.
snapshot() {
  local p stats=()
  for p in "$server_pid" $(pg_pids); do stats+=("/proc/$p/stat"); done
  # Field 2 of stat is the name in parentheses (no spaces in these); 14 and 15 the ticks.
  awk -v dir="$1" '
    FILENAME ~ /\/task\// { n = substr($2, 2, length($2) - 2); t[n] += $14 + $15; next }
    { split(FILENAME, f, "/"); print f[3], $14 + $15 > (dir "/cpu") }
    END { for (n in t) print n, t[n] > (dir "/threads") }' \
    "${stats[@]}" /proc/"$server_pid"/task/*/stat 2>/dev/null || true
  bench_metrics "$1/metrics"
  psql_x -F' ' -c "SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal" >"$1/wal"
}
# metric DIR NAME: one unlabelled metric from a snapshot.
metric() { awk -v m="$2" '$1 == m {print $2}' "$1/metrics"; }

if ((prefill > 0)); then
  say "prefill: ${prefill}s of closed-loop intake at 32 clients (not measured)"
  XIAONAO_API_KEY=$api_key "$bench_bin" --url "$url" --clients 32 --subscribers 0 --warmup 0 \
    --duration "$prefill" >"$results/prefill.txt" 2>&1 || die "the prefill failed (see $results/prefill.txt)"
  sed -n 's/^  alerts (201) */  prefill: /p' "$results/prefill.txt"
fi
mode="closed loop"
((rate > 0)) && mode="$rate alerts/s"
say "load average at start $(cut -d' ' -f1 /proc/loadavg); $clients clients, $mode, $subscribers subscribers, ${duration}s"
XIAONAO_API_KEY=$api_key "$bench_bin" --url "$url" --clients "$clients" --rate "$rate" \
  --subscribers "$subscribers" --warmup 2 --duration "$duration" "${timeline[@]}" >"$results/bench.txt" 2>&1 &
bpid=$!
bench_on_exit="kill $bpid 2>/dev/null || true"
sleep 2  # the warm-up
psql_x -c "SELECT pg_stat_statements_reset()" >/dev/null
((checkpoint)) && psql_x -c "CHECKPOINT" >/dev/null
mkdir -p "$results/at0" "$results/at1"
snapshot "$results/at0"
sleep "$duration"
snapshot "$results/at1"
b0=$(metric "$results/at0" xiaonao_intake_batches_total) a0=$(metric "$results/at0" xiaonao_intake_batch_alerts_total)
s0=$(metric "$results/at0" xiaonao_intake_transaction_seconds_total) r0=$(metric "$results/at0" xiaonao_feed_table_reads_total)
b1=$(metric "$results/at1" xiaonao_intake_batches_total) a1=$(metric "$results/at1" xiaonao_intake_batch_alerts_total)
s1=$(metric "$results/at1" xiaonao_intake_transaction_seconds_total) r1=$(metric "$results/at1" xiaonao_feed_table_reads_total)
# What each PostgreSQL process ran last, to name it.
psql_x -F'|' -c "SELECT pid, left(regexp_replace(query, '\s+', ' ', 'g'), 50) FROM pg_stat_activity" >"$results/names"
psql_x -F' | ' -c "SELECT calls, round(total_exec_time::numeric, 0), round((total_exec_time / nullif(calls, 0))::numeric, 3),
  plans, round(total_plan_time::numeric, 0), jit_functions,
  round((jit_generation_time + jit_inlining_time + jit_optimization_time + jit_emission_time)::numeric, 0),
  left(regexp_replace(query, '\s+', ' ', 'g'), 80) FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 12" \
  >"$results/statements"
wait "$bpid" || true
bench_on_exit=""

echo
sed -n '2,100p' "$results/bench.txt"
alerts=$(awk -v a="${a0:-0}" -v b="${a1:-0}" 'BEGIN {print b - a}')
((alerts > 0)) || die "no alerts committed in the window (see $results/bench.txt)"
echo
echo "CPU per alert over the ${duration}s window ($alerts alerts committed):"
# pid ticks-in-the-window, for every process that ran.
awk 'FNR == NR { t0[$1] = $2; next } ($1 in t0) && $2 > t0[$1] { print $1, $2 - t0[$1] }' \
  "$results/at0/cpu" "$results/at1/cpu" >"$results/cpu"
per_alert() { awk -v hz="$hz" -v n="$alerts" '{ t += $2 } END { printf "%6.0f", t * 1e6 / hz / n }'; }
printf '  xiaonaod            %s µs\n' "$(awk -v p="$server_pid" '$1 == p' "$results/cpu" | per_alert)"
awk 'FNR == NR { t0[$1] = $2; next } $2 > t0[$1] { print $1, $2 - t0[$1] }' \
  "$results/at0/threads" "$results/at1/threads" | sort -k2,2nr | head -n 6 | while read -r name ticks; do
  printf '    thread %-14s %s µs\n' "$name" "$(echo "x $ticks" | per_alert)"
done
printf '  PostgreSQL, all     %s µs\n' "$(awk -v p="$server_pid" '$1 != p' "$results/cpu" | per_alert)"
awk -v p="$server_pid" '$1 != p' "$results/cpu" | sort -k2,2nr | head -n 5 | while read -r pid ticks; do
  name=$(awk -F'|' -v p="$pid" '$1 == p { print $2 }' "$results/names")
  printf '    pid %-8s       %s µs  %s\n' "$pid" "$(echo "$pid $ticks" | per_alert)" "${name:-(background process)}"
done
echo
awk -v b0="${b0:-0}" -v b1="${b1:-0}" -v a="$alerts" -v s0="${s0:-0}" -v s1="${s1:-0}" -v r0="${r0:-0}" -v r1="${r1:-0}" 'BEGIN {
  b = b1 - b0
  if (b > 0) printf "intake batches: %d, %.1f alerts each, %.2f ms each (BEGIN to COMMIT)\n", b, a / b, (s1 - s0) * 1000 / b
  printf "feed listener reads of the events table: %d\n", r1 - r0 }'
read -r w0 f0 y0 <"$results/at0/wal" && read -r w1 f1 y1 <"$results/at1/wal" &&
  awk -v a="$alerts" -v w="$((w1 - w0))" -v f="$((f1 - f0))" -v y="$((y1 - y0))" 'BEGIN {
    printf "WAL per alert: %.1f records, %.2f full-page images, %.0f bytes\n", w / a, f / a, y / a }'
# The server's own feed delay, release to written, per write (its histogram's growth).
delivery='^xiaonao_feed_delivery_seconds_bucket[{]'
dn=$(hist_count "$results/at0/metrics" "$results/at1/metrics" "$delivery")
if ((dn > 0)); then
  echo "feed delivery (server, release to written): p50 $(hist_pct "$results/at0/metrics" "$results/at1/metrics" "$delivery" 50) ms," \
    "p99 $(hist_pct "$results/at0/metrics" "$results/at1/metrics" "$delivery" 99) ms ($dn writes)"
fi
echo
echo "statements by total execution time (calls | ms | ms/call | plans | planning ms | JIT functions | JIT ms | statement):"
cat "$results/statements"
