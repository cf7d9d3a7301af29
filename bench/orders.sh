#!/usr/bin/env bash
# Usage: bash bench/orders.sh [--quick] [--repeat K] [--duration S] [--clients C] [--keep] [--out FILE]
#
# The order benchmark of issue 5 (docs/PERFORMANCE.md, "Orders"): "an order event costs no more
# than an alert", measured in one run on one server. On this machine:
#   1. builds xiaonaod and xiaonao-bench-orders if needed (scripts/build.sh);
#   2. starts a private, durable PostgreSQL (scripts/pg.sh start, fsync on) in a temp dir;
#   3. migrates, writes one station with an urban zone and C units, an API key with
#      alerts:write and orders:write, and starts xiaonaod;
#   4. K times, xiaonao-bench-orders with C closed-loop clients: first each posts alerts (the
#      intake path: batched commit, fusion's locate/owner, the feed events), then each opens an
#      incident and loops issue order → ack → en_route → on_scene → complete for its own unit;
# and prints a table of medians: alerts/s and order events/s, their latencies, and the ratio.
#
#   --quick        one 5-second repeat    --repeat K   repeats (default 3)
#   --duration S   measured seconds per phase (default 15)   --clients C  clients (default 8)
#   --keep         keep the temp dir      --out FILE   also write the table to FILE
# Environment: SKIP_BUILD=1 uses build/ as it is; BIN_DIR=DIR takes the binaries from DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

repeat=3
duration=15
warmup=2
clients=8
keep=0
out_file=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) repeat=1; duration=5; warmup=1 ;;
    --repeat) repeat=${2:?}; shift ;;
    --duration) duration=${2:?}; shift ;;
    --clients) clients=${2:?}; shift ;;
    --keep) keep=1 ;;
    --out) out_file=${2:?}; shift ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "bench/orders.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

bin_dir=${BIN_DIR:-$repo/build}
server_bin=$bin_dir/xiaonaod
bench_bin=$bin_dir/xiaonao-bench-orders
# shellcheck source=bench/lib.sh
source "$repo/bench/lib.sh"

bench_workdir xiaonao-bench-orders

if [[ "${SKIP_BUILD:-0}" != 1 && -z "${BIN_DIR:-}" ]]; then
  say "building (scripts/build.sh)"
  bash scripts/build.sh --target xiaonaod xiaonao-bench-orders >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; die "build failed (log above)"; }
fi
[[ -x "$server_bin" && -x "$bench_bin" ]] || die "missing $server_bin or $bench_bin"

bench_start_pg
XIAONAO_DB="$db" "$server_bin" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; die "migrate failed"; }
# One station, its urban zone around the alerts' point, and one unit per client.
bash scripts/pg.sh psql "$pg_dir" xiaonao -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
INSERT INTO stations (id, name, geog) VALUES ('S01', '城东派出所', 'SRID=4326;POINT(119.905 28.452)');
INSERT INTO zones (id, name, station_id, area_type, geom) VALUES
  ('Z1', '中山警务区', 'S01', 'urban', ST_GeomFromText('MULTIPOLYGON(((119.90 28.45,119.91 28.45,119.91 28.46,119.90 28.46,119.90 28.45)))', 4326));
INSERT INTO units (id, call_sign, kind, station_id, status)
SELECT 'B' || lpad(i::text, 4, '0'), '巡' || i, 'patrol_car', 'S01', 'available' FROM generate_series(0, $clients - 1) i;
SQL
units=$(bash scripts/pg.sh psql "$pg_dir" xiaonao -X -q -At -c "SELECT string_agg(id, ',' ORDER BY id) FROM units")
api_key=$(XIAONAO_DB="$db" "$server_bin" apikey create --name bench-orders --sources '*' \
  --scopes alerts:write,orders:write,incidents:read 2>>"$work/apikey.log") || { cat "$work/apikey.log" >&2; die "apikey create failed"; }
# Each client opens its own incident at one point: merging would fold them into one (and serialise
# the clients on its row), so it is off; the alerts phase then skips the merge lookup too, which
# only makes the intake baseline faster.
export XIAONAO_FUSION_MERGE_RADIUS_M=${XIAONAO_FUSION_MERGE_RADIUS_M:-0}
bench_start_server

jfield() { grep -o "\"$2\":[^,}]*" "$1" | tail -n 1 | cut -d: -f2 | tr -d '"'; }
fmt() { if [[ -z "${1:-}" ]]; then echo "-"; else awk -v x="$1" 'BEGIN{printf "%.2f", x}'; fi; }
fmt0() { if [[ -z "${1:-}" ]]; then echo "-"; else awk -v x="$1" 'BEGIN{printf "%.0f", x}'; fi; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
keys="alerts_per_s alert_p50_ms alert_p99_ms events_per_s event_p50_ms event_p99_ms issue_p50_ms issue_p99_ms"
for r in $(seq 1 "$repeat"); do
  say "repeat $r of $repeat"
  f="$results/r$r.txt"
  XIAONAO_API_KEY="$api_key" "$bench_bin" --url "$url" --units "$units" --duration "$duration" --warmup "$warmup" \
    >"$f" 2>&1 || say "  (errors: see below)"
  sed 's/^/bench:   /' "$f" | grep -v '^bench:   {' || true
  for k in $keys; do jfield "$f" "$k" >>"$results/$k"; done
done

m() { median <"$results/$1"; }
ratio() { [[ -n "$1" && -n "$2" ]] && awk -v a="$1" -v b="$2" 'BEGIN{if (b>0) printf "%.2f", a/b; else print "-"}' || echo "-"; }
a_rate=$(m alerts_per_s); a50=$(m alert_p50_ms); a99=$(m alert_p99_ms)
e_rate=$(m events_per_s); e50=$(m event_p50_ms); e99=$(m event_p99_ms)
i50=$(m issue_p50_ms); i99=$(m issue_p99_ms)
verdict=$(awk -v a="${a50:-0}" -v e="${e50:-999}" 'BEGIN{print (e <= a) ? "PASS" : "FAIL"}')
table=$(cat <<MD
Orders, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?), load before: $load_before
$clients closed-loop clients, $repeat × $duration s measured per phase (after $warmup s warm-up), medians; durable PostgreSQL (fsync on).

| path | requests/s | p50 ms | p99 ms | p50 × alert |
| --- | --- | --- | --- | --- |
| POST /api/v1/alerts (intake) | $(fmt0 "$a_rate") | $(fmt "$a50") | $(fmt "$a99") | 1.00 |
| POST /api/v1/orders/{id}/events | $(fmt0 "$e_rate") | $(fmt "$e50") | $(fmt "$e99") | $(ratio "$e50" "$a50") |
| POST /api/v1/incidents/{id}/orders (1 unit) | - | $(fmt "$i50") | $(fmt "$i99") | $(ratio "$i50" "$a50") |

Target "an order event costs no more than an alert" (median latency at the same concurrency): $verdict
MD
)
echo
echo "$table"
[[ -n "$out_file" ]] && echo "$table" >"$out_file"
exit 0
