#!/usr/bin/env bash
# Usage: bash bench/fusion.sh [--quick] [--repeat K] [--duration S] [--keep] [--out FILE]
#
# The fusion benchmark of issue 4 (docs/PERFORMANCE.md, "Fusion"), at the demo county's full
# scale, on this machine, in one run:
#   1. builds what is missing; starts a private, durable PostgreSQL in a temp dir;
#   2. generates the full demo county (xiaonao-county, or COUNTY_DIR=DIR to reuse one) and loads
#      it with `xiaonaod import`; starts xiaonaod (rate limits out of the way);
#   3. K times: "alone": one sender at 20 alerts/s (each alert its own intake batch), then
#      "500/s": 8 senders at 62.5 alerts/s each; the senders are xiaonao-replay --county (places,
#      addresses, markers, subjects and callers of the county, 8% repeat calls), and the figures
#      are the server's own xiaonao_fusion_seconds histogram over the phase (scraped before and
#      after; percentiles interpolated inside the buckets), all inside the alert's transaction:
#        intake   locate + owner + merge (with the parts guessed in the merge look-up), per batch
#        parts    ranking, and the parts of what the guesses missed, per intake batch
#        full     from the start of locate to the fused result, per alert: one alert's whole
#                 fusion (the intake writes in between included; the commit not)
#      (with XIAONAO_FUSION_IN_TRANSACTION=false the parts run on the worker after the commit,
#      stage after_commit per incident, and full is the sum of the intake and after_commit
#      percentiles, as this benchmark measured before)
#   4. the one-screen GET: wrk, 8 connections, GET /api/v1/incidents/{id} over 2,000 incidents;
#      next to it wrk GET /healthz (the HTTP ceiling) and pgbench -S (the database's own
#      single-row read) on the same machine, as ratios;
#      after each "alone" phase, the round-trip floor: pgbench SELECT 1, one client at 20/s,
#      the latency of a statement that does nothing, at the same pace (the machine's limit);
#   5. the plans: auto_explain (log_analyze) on for a few alerts and views; the plans of the
#      fusion statements are kept in the results dir (plans.txt) and summarised.
# Everything is cleaned up on exit.
#   --quick      one repeat, 10-s phases    --repeat K  repeats (default 3)
#   --duration S seconds per phase (default 20)    --keep  keep the temp dir
#   --out FILE   also write the table to FILE
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

repeat=3
duration=20
keep=0
out_file=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) repeat=1; duration=10 ;;
    --repeat) repeat=${2:?}; shift ;;
    --duration) duration=${2:?}; shift ;;
    --keep) keep=1 ;;
    --out) out_file=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "bench/fusion.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

bin_dir=${BIN_DIR:-$repo/build}
server_bin=$bin_dir/xiaonaod
replay_bin=$bin_dir/xiaonao-replay
county_bin=$bin_dir/xiaonao-county
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"
command -v wrk >/dev/null || die "wrk not found; run scripts/setup.sh first"
bench_workdir xiaonao-fusion
bench_on_exit='pkill -P $$ xiaonao-replay 2>/dev/null || true'
started=$SECONDS

if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BIN_DIR:-}" ]]; then
  say "building (scripts/build.sh)"
  bash scripts/build.sh --target xiaonaod xiaonao-replay xiaonao-county >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; die "build failed"; }
fi

bench_start_pg
psql_db() { bash scripts/pg.sh psql "$pg_dir" xiaonao -X -q -At -v ON_ERROR_STOP=1 "$@"; }

county_dir=${COUNTY_DIR:-$work/county}
t0=$SECONDS
if [[ ! -s "$county_dir/county.json" ]]; then
  say "generating the full demo county"
  "$county_bin" --scale full --seed 1 --out "$county_dir" >"$work/county.log" 2>&1 || { cat "$work/county.log" >&2; die "xiaonao-county failed"; }
fi
XIAONAO_DB="$db" "$server_bin" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migrate failed"; }
for kind in stations zones grids addresses persons cameras units markers; do
  XIAONAO_DB="$db" "$server_bin" import --kind "$kind" "$county_dir/$kind.geojson" --replace >>"$work/import.log" 2>&1 ||
    { tail -n 20 "$work/import.log" >&2; die "import of $kind failed"; }
done
county_s=$((SECONDS - t0))
say "county generated and loaded in ${county_s} s: $(psql_db -c "SELECT (SELECT count(*) FROM persons) || ' persons, ' || (SELECT count(*) FROM addresses) || ' addresses, ' || (SELECT count(*) FROM cameras) || ' cameras'")"

api_key=$(XIAONAO_DB="$db" "$server_bin" apikey create --name bench-fusion --sources '*' \
  --scopes alerts:write,incidents:read,metrics:read 2>>"$work/apikey.log") || { cat "$work/apikey.log" >&2; die "apikey create failed"; }

bench_start_server

seed=1000
# phase NAME SENDERS RATE_EACH: senders post for $duration s; histogram deltas into results.
phase() {
  local name=$1 senders=$2 rate=$3 pids=() s count
  count=$(awk -v r="$rate" -v d="$duration" 'BEGIN{printf "%d", r*d}')
  bench_metrics "$results/$name.before"
  for s in $(seq 1 "$senders"); do
    seed=$((seed + 1))
    XIAONAO_API_KEY=$api_key "$replay_bin" --url "$url" --county "$county_dir" --unit-reports 0 --rate "$rate" --count "$count" \
      --seed "$seed" --quiet >"$results/$name.replay$s.log" 2>&1 &
    pids+=($!)
  done
  for s in "${pids[@]}"; do wait "$s" || echo "$name: a sender failed (see $results)" >>"$results/notes"; done
  sleep 1  # the last batches (and the worker, if fusion runs after the commit) finish
  bench_metrics "$results/$name.after"
  local st
  for st in intake parts full after_commit; do
    local m="^xiaonao_fusion_seconds_bucket[{]stage=\"$st\""
    echo "$(hist_count "$results/$name.before" "$results/$name.after" "$m") $(hist_pct "$results/$name.before" "$results/$name.after" "$m" 50) $(hist_pct "$results/$name.before" "$results/$name.after" "$m" 99)" \
      >"$results/$name.$st"
  done
  say "  $name: n/p50/p99 intake $(cat "$results/$name.intake"); parts $(cat "$results/$name.parts"); full $(cat "$results/$name.full"); after_commit $(cat "$results/$name.after_commit")"
}

# The machine's own floor for "alone": one client's round trip to this PostgreSQL at the same
# pace (pgbench, SELECT 1, 20 a second), a statement's cost before it does anything. Each
# statement in the path of one alert's fusion pays it once.
echo "SELECT 1;" >"$work/select1.sql"
floor() {
  "$pgbench_bin" -n -M prepared -f "$work/select1.sql" -c 1 -R 20 -T 5 -h "$pg_dir/sock" -U xiaonao pgbench 2>&1 |
    sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' >"$results/$1.floor"
  say "  $1: round-trip floor (pgbench SELECT 1 at 20/s) $(cat "$results/$1.floor") ms"
}

load_start=$(cut -d' ' -f1 /proc/loadavg)
for r in $(seq 1 "$repeat"); do
  say "run $r/$repeat: alone (20 alerts/s), then 500 alerts/s (8 senders), ${duration} s each"
  phase "alone-r$r" 1 20
  floor "alone-r$r"
  phase "load-r$r" 8 62.5
done

# --- the one-screen GET ---------------------------------------------------------------------------
psql_db -c "SELECT id FROM incidents ORDER BY md5(id::text) LIMIT 2000" >"$work/ids.txt"
cat >"$work/view.lua" <<'LUA'
local ids = {}
for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
local key = os.getenv("API_KEY")
local i = math.random(#ids)
request = function()
  i = i % #ids + 1
  return wrk.format("GET", "/api/v1/incidents/" .. ids[i], { ["Authorization"] = "Bearer " .. key })
end
LUA
wrk_ms() {  # wrk_ms FILE PCT: a latency percentile of wrk --latency, in ms
  awk -v p="$2%" '$1 == p { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v); if (u == "us") v /= 1000; if (u == "s") v *= 1000; printf "%.2f", v }' "$1"
}
for r in $(seq 1 "$repeat"); do
  IDS_FILE=$work/ids.txt API_KEY=$api_key wrk -t 1 -c 1 -d "${duration}s" --latency -s "$work/view.lua" "$url" >"$results/view1-r$r.txt" 2>&1 || true
  IDS_FILE=$work/ids.txt API_KEY=$api_key wrk -t 2 -c 8 -d "${duration}s" --latency -s "$work/view.lua" "$url" >"$results/view-r$r.txt" 2>&1 || true
  wrk -t 2 -c 8 -d 5s --latency "$url/healthz" >"$results/healthz-r$r.txt" 2>&1 || true
  "$pgbench_bin" -n -S -c 8 -j 2 -T 5 -h "$pg_dir/sock" -U xiaonao pgbench >"$results/pgbench-r$r.txt" 2>&1 || true
  say "  view r$r, 1 connection: $(sed -n 's/^Requests\/sec: *//p' "$results/view1-r$r.txt") req/s, p50 $(wrk_ms "$results/view1-r$r.txt" 50) ms, p99 $(wrk_ms "$results/view1-r$r.txt" 99) ms"
  say "  view r$r, 8 connections: $(sed -n 's/^Requests\/sec: *//p' "$results/view-r$r.txt") req/s, p50 $(wrk_ms "$results/view-r$r.txt" 50) ms, p99 $(wrk_ms "$results/view-r$r.txt" 99) ms; healthz $(sed -n 's/^Requests\/sec: *//p' "$results/healthz-r$r.txt") req/s; pgbench -S $(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$results/pgbench-r$r.txt") tps"
done

# --- plans -----------------------------------------------------------------------------------------
bench_stop_server
psql_db <<'SQL'
LOAD 'auto_explain';
ALTER SYSTEM SET session_preload_libraries = 'auto_explain';
ALTER SYSTEM SET auto_explain.log_min_duration = 0;
ALTER SYSTEM SET auto_explain.log_analyze = on;
ALTER SYSTEM SET auto_explain.log_nested_statements = on;
SELECT pg_reload_conf();
SQL
log_lines_before=$(wc -l <"$pg_dir/postgres.log" 2>/dev/null || echo 0)
bench_start_server
XIAONAO_API_KEY=$api_key "$replay_bin" --url "$url" --county "$county_dir" --unit-reports 0 --rate 5 --count 25 --seed 999 --quiet >/dev/null 2>&1 || true
sleep 1
for id in $(head -n 3 "$work/ids.txt"); do curl -sf -H "Authorization: Bearer $api_key" "$url/api/v1/incidents/$id" >/dev/null || true; done
bench_stop_server
psql_db -c "ALTER SYSTEM RESET ALL" -c "SELECT pg_reload_conf()" >/dev/null
tail -n +"$((log_lines_before + 1))" "$pg_dir/postgres.log" >"$results/plans.txt" 2>/dev/null || true
plan_summary=$(grep -oE '(Index Only Scan|Index Scan|Bitmap Index Scan)( Backward)? (using|on) [a-z_]+' "$results/plans.txt" | sed -E 's/ Backward//; s/(using|on) //' | sort | uniq -c | sort -rn | head -n 25)
seq_scans=$(grep -oE 'Seq Scan on [a-z_]+' "$results/plans.txt" | sort | uniq -c | sort -rn | head -n 10)

# --- the table -------------------------------------------------------------------------------------
col() { for f in "$results"/$1; do [[ -s "$f" ]] && awk -v c="$2" '{print $c}' "$f"; done | median; }
sum2() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN{printf "%.2f", a+b}'; }
view1_p50=$(for f in "$results"/view1-r*.txt; do wrk_ms "$f" 50; echo; done | grep . | median)
view1_p99=$(for f in "$results"/view1-r*.txt; do wrk_ms "$f" 99; echo; done | grep . | median)
view1_rps=$(for f in "$results"/view1-r*.txt; do sed -n 's/^Requests\/sec: *//p' "$f"; done | median)
view_p50=$(for f in "$results"/view-r*.txt; do wrk_ms "$f" 50; echo; done | grep . | median)
view_p99=$(for f in "$results"/view-r*.txt; do wrk_ms "$f" 99; echo; done | grep . | median)
view_rps=$(for f in "$results"/view-r*.txt; do sed -n 's/^Requests\/sec: *//p' "$f"; done | median)
healthz_rps=$(for f in "$results"/healthz-r*.txt; do sed -n 's/^Requests\/sec: *//p' "$f"; done | median)
pg_tps=$(for f in "$results"/pgbench-r*.txt; do sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$f"; done | median)
ratio() { if [[ -n "$1" && -n "$2" ]]; then awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; else echo -; fi; }
declare -A full
pass() { if [[ -n "$1" ]] && awk -v a="$1" -v b="$3" "BEGIN{exit !(a $2 b)}"; then echo PASS; else echo FAIL; fi; }
{
  echo
  echo "Xiaonao fusion benchmark, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?'), load average at start $load_start, $(nproc) cores, repeat=$repeat duration=${duration}s"
  echo "demo county (full): generated and loaded in ${county_s} s"
  echo
  echo "| phase | batches / alerts | intake p50 / p99 ms | parts p50 / p99 ms | after-commit p50 / p99 ms | full fusion p50 / p99 ms |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for ph in alone load; do
    ip50=$(col "$ph-r*.intake" 2); ip99=$(col "$ph-r*.intake" 3); ap50=$(col "$ph-r*.after_commit" 2); ap99=$(col "$ph-r*.after_commit" 3)
    label=$([[ $ph == alone ]] && echo "alone (20 alerts/s)" || echo "500 alerts/s (8 senders)")
    if [[ "$(col "$ph-r*.full" 1)" =~ ^[1-9] ]]; then
      full[${ph}_p50]=$(col "$ph-r*.full" 2); full[${ph}_p99]=$(col "$ph-r*.full" 3); n=$(col "$ph-r*.full" 1)
    else
      full[${ph}_p50]=$(sum2 "$ip50" "$ap50"); full[${ph}_p99]=$(sum2 "$ip99" "$ap99"); n="$(col "$ph-r*.after_commit" 1) (after commit)"
    fi
    echo "| $label | $(col "$ph-r*.intake" 1) / $n | $ip50 / $ip99 | $(col "$ph-r*.parts" 2) / $(col "$ph-r*.parts" 3) | ${ap50:--} / ${ap99:--} | ${full[${ph}_p50]} / ${full[${ph}_p99]} |"
  done
  echo
  echo "| read | req/s | p50 ms | p99 ms | ratio |"
  echo "| --- | --- | --- | --- | --- |"
  echo "| GET /api/v1/incidents/{id}, wrk 1 connection | $view1_rps | $view1_p50 | $view1_p99 | |"
  echo "| GET /api/v1/incidents/{id}, wrk 8 connections (saturated) | $view_rps | $view_p50 | $view_p99 | $(ratio "$view_rps" "$healthz_rps") × /healthz, $(ratio "$view_rps" "$pg_tps") × pgbench -S |"
  echo "| GET /healthz, wrk 8 connections (HTTP ceiling) | $healthz_rps | | | |"
  echo "| pgbench -S, 8 clients (database ceiling) | $pg_tps | | | |"
  echo
  floor_ms=$(col "alone-r*.floor" 1)
  echo "round-trip floor alone (pgbench SELECT 1, 1 client at 20/s): ${floor_ms:--} ms; full fusion alone = $(ratio "${full[alone_p50]}" "$floor_ms") × that"
  echo
  echo "targets (issue 4):"
  echo "  $(pass "${full[alone_p50]}" '<=' 2) full fusion median <= 2 ms alone (${full[alone_p50]} ms)"
  echo "  $(pass "${full[alone_p99]}" '<=' 10) full fusion p99 <= 10 ms alone (${full[alone_p99]} ms)"
  echo "  $(pass "${full[load_p50]}" '<=' 2) full fusion median <= 2 ms at 500 alerts/s (${full[load_p50]} ms)"
  echo "  $(pass "${full[load_p99]}" '<=' 10) full fusion p99 <= 10 ms at 500 alerts/s (${full[load_p99]} ms)"
  echo "  $(pass "$view1_p99" '<=' 10) one-screen GET p99 <= 10 ms, one connection ($view1_p99 ms)"
  echo "  $(pass "$view_p99" '<=' 10) one-screen GET p99 <= 10 ms, 8 connections, CPU saturated ($view_p99 ms)"
  echo
  echo "index use in the logged plans (auto_explain, $(grep -c 'duration:' "$results/plans.txt" 2>/dev/null || echo 0) statements):"
  echo "$plan_summary" | sed 's/^/  /'
  echo "sequential scans in them:"
  echo "${seq_scans:-  none}" | sed 's/^/  /'
  [[ -s "$results/notes" ]] && { echo "problems:"; sed 's/^/  /' "$results/notes"; }
  echo "total time: $((SECONDS - started)) s"
} | tee "$results/table.md"
[[ -n "$out_file" ]] && cp "$results/table.md" "$out_file"
true
