#!/usr/bin/env bash
# Usage: bash bench/escalation.sh [--quick] [--deadlines N] [--window S] [--rate R] [--keep] [--out FILE]
#
# The escalation benchmark (docs/PERFORMANCE.md, "Deadlines and escalation"): is an overdue
# deadline announced within 1 s of passing while intake runs? On this machine:
#   1. builds xiaonaod, xiaonao-bench and xiaonao-bench-escalation if needed (scripts/build.sh);
#   2. starts a private, durable PostgreSQL (scripts/pg.sh start, fsync on) in a temp dir, an
#      API key, and xiaonaod on it; posts 60 alerts so deadlines have incidents;
#   3. subscribes xiaonao-bench-escalation to the live feed;
#   4. inserts N deadline rows due spread over a window of S seconds starting 3 s ahead (the way
#      store::add_deadlines writes them, with its NOTIFY), and halfway through the window a
#      second tenth of N due 0.2-0.7 s ahead (the NOTIFY wake-up path), while xiaonao-bench
#      posts alerts at R/s with 10 feed subscribers for the whole window;
#   5. prints the lag from each deadline's due_at to its deadline.missed frame on the feed
#      client (median, p99, max; the server's own late_s beside it) and the intake figures.
#
#   --quick         2,000 deadlines over 10 s at 200 alerts/s
#   --deadlines N   default 10,000     --window S   default 30     --rate R   default 500 alerts/s
#   --keep          keep the temp dir  --out FILE   also write the table to FILE
# Environment: SKIP_BUILD=1 uses build/ as it is; BIN_DIR=DIR takes the binaries from DIR;
# XIAONAO_* variables reach the server (e.g. XIAONAO_LOOP_ESCALATION_BATCH=100).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

deadlines=10000
window=30
rate=500
keep=0
out_file=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) deadlines=2000; window=10; rate=200 ;;
    --deadlines) deadlines=${2:?}; shift ;;
    --window) window=${2:?}; shift ;;
    --rate) rate=${2:?}; shift ;;
    --keep) keep=1 ;;
    --out) out_file=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "bench/escalation.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

bin_dir=${BIN_DIR:-$repo/build}
server_bin=$bin_dir/xiaonaod
load_bin=$bin_dir/xiaonao-bench
feed_bin=$bin_dir/xiaonao-bench-escalation
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

bench_workdir xiaonao-bench-escalation
feed_pid=""
load_pid=""
# shellcheck disable=SC2016  # expanded when the clean-up runs, not now
bench_on_exit='for p in $feed_pid $load_pid; do kill "$p" 2>/dev/null || true; done'

if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BIN_DIR:-}" ]]; then
  say "building (scripts/build.sh)"
  bash scripts/build.sh --target xiaonaod xiaonao-bench xiaonao-bench-escalation >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; die "build failed (log above)"; }
fi
[[ -x "$server_bin" && -x "$load_bin" && -x "$feed_bin" ]] || die "missing $server_bin, $load_bin or $feed_bin"

bench_start_pg
XIAONAO_DB="$db" "$server_bin" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migrate failed"; }
api_key=$(XIAONAO_DB="$db" "$server_bin" apikey create --name bench-escalation --sources '*' \
  --scopes alerts:write,feed:read,metrics:read,categories:read 2>>"$work/apikey.log") ||
  { cat "$work/apikey.log" >&2; die "apikey create failed"; }
bench_start_server
psql_x() { bash "$repo/scripts/pg.sh" psql "$pg_dir" xiaonao -X -q -t -A -v ON_ERROR_STOP=1 "$@"; }

say "posting 60 alerts for the deadlines' incidents"
for i in $(seq 1 60); do
  curl -sf -o /dev/null -H "Authorization: Bearer $api_key" -H 'Content-Type: application/json' \
    -d "{\"source\":\"110\",\"source_ref\":\"esc-$i-$$\",\"received_at\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"category\":\"theft\",\"location\":{\"lon\":119.9$i,\"lat\":28.4$i},\"description\":\"escalation bench\"}" \
    "$url/api/v1/alerts" || die "posting an alert failed"
done
psql_x -c "UPDATE incidents SET station_id = 'S' || lpad((abs(hashtext(id::text)) % 15)::text, 2, '0')" >/dev/null

second=$((deadlines / 10))
total=$((deadlines + second))
XIAONAO_API_KEY="$api_key" "$feed_bin" --url "$url" --expect "$total" --timeout $((window + 60)) \
  >"$results/feed.txt" 2>"$results/feed.err" &
feed_pid=$!
for _ in $(seq 1 100); do grep -q ready "$results/feed.txt" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$results/feed.txt" || die "the feed client did not subscribe (see $results/feed.err)"

# Intake load for the whole window (and a little around it).
XIAONAO_API_KEY="$api_key" "$load_bin" --url "$url" --clients 8 --subscribers 10 --rate "$rate" \
  --duration $((window + 3)) --warmup 1 --json --label intake >"$results/intake.txt" 2>&1 &
load_pid=$!

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
say "inserting $deadlines deadlines due over ${window} s from 3 s ahead, intake at $rate alerts/s"
insert_sql() { # COUNT FROM_S SPAN_S TAG
  cat <<SQL
WITH inc AS (SELECT array_agg(id) AS ids, array_agg(station_id) AS st FROM incidents)
INSERT INTO deadlines (incident_id, station_id, subject_kind, subject_id, kind, due_at, created_at)
SELECT inc.ids[1 + g % cardinality(inc.ids)], inc.st[1 + g % cardinality(inc.ids)], 'incident', '$4-' || g,
       (ARRAY['acknowledge','arrive','feedback','accept','answer','done'])[1 + g % 6],
       clock_timestamp() + make_interval(secs => $2 + $3 * (g::float8 / $1)), now()
FROM generate_series(0, $1 - 1) g, inc;
NOTIFY xiaonao_deadlines;
SQL
}
insert_sql "$deadlines" 3 "$window" a | psql_x >/dev/null
sleep $((3 + window / 2))
say "inserting $second more due 0.2-0.7 s ahead (the NOTIFY wake-up)"
insert_sql "$second" 0.2 0.5 b | psql_x >/dev/null

wait "$feed_pid" || true
feed_pid=""
wait "$load_pid" || true
load_pid=""
feed=$(grep '^{' "$results/feed.txt" | tail -n 1)
[[ -n "$feed" ]] || die "no result from the feed client (see $results/feed.err)"
jf() { echo "$1" | grep -o "\"$2\":[^,}]*" | head -n 1 | cut -d: -f2 | tr -d '"'; }
intake=$(grep '^{' "$results/intake.txt" | tail -n 1 || true)
fmt() { if [[ -z "${1:-}" ]]; then echo "-"; else awk -v x="$1" 'BEGIN{printf "%.1f", x}'; fi; }
pass=$(awk -v m="$(jf "$feed" lag_max_ms)" -v n="$(jf "$feed" announced)" -v t="$total" -v d="$(jf "$feed" duplicates)" \
  'BEGIN{print (m < 1000 && n == t && d == 0) ? "PASS" : "FAIL"}')
fired_by=$(psql_x -c "SELECT count(*) FILTER (WHERE fired_at IS NULL), count(*) FROM deadlines")
table=$(cat <<MD
Escalation, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), load before: $load_before
$deadlines deadlines due over $window s + $second due 0.2-0.7 s after insert (NOTIFY path); intake at $rate alerts/s
with 10 feed subscribers meanwhile; durable PostgreSQL (fsync on); one xiaonaod.

| measure | announced | duplicates | median ms | p99 ms | max ms | target: max < 1,000 ms |
| --- | --- | --- | --- | --- | --- | --- |
| due_at → deadline.missed on a feed client | $(jf "$feed" announced) of $total | $(jf "$feed" duplicates) | $(fmt "$(jf "$feed" lag_p50_ms)") | $(fmt "$(jf "$feed" lag_p99_ms)") | $(fmt "$(jf "$feed" lag_max_ms)") | $pass |
| due_at → announcing transaction (late_s) | | | $(fmt "$(jf "$feed" late_p50_ms)") | $(fmt "$(jf "$feed" late_p99_ms)") | $(fmt "$(jf "$feed" late_max_ms)") | |

Intake meanwhile: $(fmt "$(jf "$intake" alerts_per_s)") alerts/s, POST p99 $(fmt "$(jf "$intake" post_p99_ms)") ms.
Deadlines left unannounced (unfired, total): $fired_by.
MD
)
echo
echo "$table"
[[ -n "$out_file" ]] && echo "$table" >"$out_file"
exit 0
