#!/usr/bin/env bash
# Usage: bash bench/units.sh [--quick] [--repeat K] [--duration S] [--units N] [--clients C] [--keep] [--out FILE]
#
# The unit position benchmark (docs/PERFORMANCE.md, "Unit positions"). On this machine:
#   1. builds xiaonaod and xiaonao-bench-positions if needed (scripts/build.sh);
#   2. starts a private, durable PostgreSQL (scripts/pg.sh start, fsync on) in a temp dir;
#   3. migrates, creates N units (default 256: the demo county's cars, kiosks, PTU points,
#      officers and drones), an API key with units:write, and starts xiaonaod on it;
#   4. K times, interleaved: pgbench's built-in simple-update (-b simple-update, scale 10) at C
#      clients on the same PostgreSQL; xiaonao-bench-positions with C clients posting single
#      reports; and with 4 clients posting batches of 100 (the GPS-gateway form);
# and prints a table of medians with the ratio to pgbench and the target (>= 5,000 updates/s).
#
#   --quick        one 5-second repeat of each
#   --repeat K     repeats (default 3)     --duration S  measured seconds per run (default 20)
#   --units N      units (default 256)     --clients C   clients of the single-report runs (default 32)
#   --keep         keep the temp dir       --out FILE    also write the table to FILE
# Environment: SKIP_BUILD=1 uses build/ as it is; BIN_DIR=DIR takes the binaries from DIR;
# XIAONAO_* variables reach the server (e.g. XIAONAO_UNITS_WRITER_THREADS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

repeat=3
duration=20
warmup=2
units=256
clients=32
batch_clients=4
batch_size=100
keep=0
out_file=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) repeat=1; duration=5; warmup=1 ;;
    --repeat) repeat=${2:?}; shift ;;
    --duration) duration=${2:?}; shift ;;
    --units) units=${2:?}; shift ;;
    --clients) clients=${2:?}; shift ;;
    --keep) keep=1 ;;
    --out) out_file=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "bench/units.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

bin_dir=${BIN_DIR:-$repo/build}
server_bin=$bin_dir/xiaonaod
bench_bin=$bin_dir/xiaonao-bench-positions
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

bench_workdir xiaonao-bench-units

if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BIN_DIR:-}" ]]; then
  say "building (scripts/build.sh)"
  bash scripts/build.sh --target xiaonaod xiaonao-bench-positions >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; die "build failed (log above)"; }
fi
[[ -x "$server_bin" && -x "$bench_bin" ]] || die "missing $server_bin or $bench_bin"

bench_start_pg
XIAONAO_DB="$db" "$server_bin" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migrate failed"; }
bash scripts/pg.sh psql "$pg_dir" xiaonao -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO units (id, call_sign, kind, station_id, status)
SELECT 'U' || lpad(i::text, 6, '0'), '巡' || i, 'patrol_car', 'S' || lpad((i % 15)::text, 2, '0'), 'available'
FROM generate_series(0, $units - 1) i;
SQL
api_key=$(XIAONAO_DB="$db" "$server_bin" apikey create --name bench-units --sources '*' \
  --scopes units:write,map:read 2>>"$work/apikey.log") || { cat "$work/apikey.log" >&2; die "apikey create failed"; }
bench_start_server

jfield() { grep -o "\"$2\":[^,}]*" "$1" | tail -n 1 | cut -d: -f2 | tr -d '"'; }
fmt() { if [[ -z "${1:-}" ]]; then echo "-"; else awk -v x="$1" 'BEGIN{printf "%.1f", x}'; fi; }
fmt0() { if [[ -z "${1:-}" ]]; then echo "-"; else awk -v x="$1" 'BEGIN{printf "%.0f", x}'; fi; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$repeat"); do
  say "repeat $r of $repeat"
  f="$results/pgbench-r$r.txt"
  "$pgbench_bin" -n -b simple-update -c "$clients" -j 2 -T "$duration" -h "$pg_dir/sock" -p 5432 -U xiaonao pgbench \
    >"$f" 2>&1 || true
  tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$f" | tail -n 1)
  say "  pgbench simple-update -c $clients: ${tps:-?} tps"
  echo "${tps:-}" >>"$results/pgbench.tps"
  XIAONAO_API_KEY="$api_key" "$bench_bin" --url "$url" --units "$units" --clients "$clients" --duration "$duration" \
    --warmup "$warmup" --json --label single >"$results/single-r$r.txt" 2>&1 || true
  say "  $(head -n 1 "$results/single-r$r.txt")"
  for k in updates_per_s p50_ms p99_ms; do jfield "$results/single-r$r.txt" $k >>"$results/single.$k"; done
  XIAONAO_API_KEY="$api_key" "$bench_bin" --url "$url" --units "$units" --clients "$batch_clients" \
    --batch "$batch_size" --duration "$duration" --warmup "$warmup" --json --label batch >"$results/batch-r$r.txt" 2>&1 || true
  say "  $(head -n 1 "$results/batch-r$r.txt")"
  for k in updates_per_s p50_ms p99_ms; do jfield "$results/batch-r$r.txt" $k >>"$results/batch.$k"; done
done

pg=$(median <"$results/pgbench.tps")
s_ups=$(median <"$results/single.updates_per_s"); s_p50=$(median <"$results/single.p50_ms"); s_p99=$(median <"$results/single.p99_ms")
b_ups=$(median <"$results/batch.updates_per_s"); b_p50=$(median <"$results/batch.p50_ms"); b_p99=$(median <"$results/batch.p99_ms")
ratio() { [[ -n "$1" && -n "$2" ]] && awk -v a="$1" -v b="$2" 'BEGIN{if (b>0) printf "%.2f", a/b; else print "-"}' || echo "-"; }
pass() { awk -v a="${1:-0}" 'BEGIN{print (a >= 5000) ? "PASS" : "FAIL"}'; }
table=$(cat <<MD
Unit positions, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), load before: $load_before
$units units, $repeat × $duration s measured (after $warmup s warm-up), medians; durable PostgreSQL (fsync on).

| run | updates/s | p50 ms | p99 ms | × pgbench simple-update | target ≥ 5,000/s |
| --- | --- | --- | --- | --- | --- |
| pgbench -b simple-update, $clients clients | $(fmt0 "$pg") tps | - | - | 1.00 | - |
| POST /units/{id}/position, $clients clients | $(fmt0 "$s_ups") | $(fmt "$s_p50") | $(fmt "$s_p99") | $(ratio "$s_ups" "$pg") | $(pass "$s_ups") |
| POST /units/positions, $batch_clients clients × $batch_size | $(fmt0 "$b_ups") | $(fmt "$b_p50") | $(fmt "$b_p99") | $(ratio "$b_ups" "$pg") | $(pass "$b_ups") |
MD
)
echo
echo "$table"
[[ -n "$out_file" ]] && echo "$table" >"$out_file"
grep -q '"failures":0' "$results/single-r1.txt" || say "note: the single-report run had failures (see --keep)"
exit 0
