#!/usr/bin/env bash
# Usage: bash scripts/run.sh [--detach]   install what is missing, build, start PostgreSQL+PostGIS
#                                         (.run/pg), load the demo county, start the server and a
#                                         live alert stream drawn from that county
#        bash scripts/run.sh stop         stop the replay, the server and PostgreSQL
#        bash scripts/run.sh status       what is running, and where
#
# Without --detach it stays in the foreground; Ctrl-C stops the replay and the server and
# leaves PostgreSQL running (its data in .run/pg persists between runs; "stop" shuts it down).
# Running it again restarts the server and the replay with the same database.
#
# It also creates demo credentials (docs/security.md), once: a user per role (police numbers
# 000001-000005; duty officer and station chief at station S01) and an integrator key for the
# replay tool (alerts:write and units:write, every source: the replay also plays the county's
# units reporting their positions every 30 s), kept in .run/demo-api-key (mode 600) and reused
# while it is live with those scopes. Users that exist are left as they are. The summary at the end prints them,
# with how to log in: these are demo credentials, never use them on real data.
#
# The demo county (docs/operations.md, "The demo county"): xiaonao-county generates it once
# into .run/county-<scale>-<seed>/ (skipped when that directory is complete), and
# `xiaonaod import --kind K FILE --replace` loads each kind into the database (skipped when
# this database already holds that county: .run/pg/county-loaded names it and the persons
# count agrees). The replay then draws its alerts from it (--county). Timings are printed.
# Environment:
#   XIAONAO_LISTEN  host:port for the server (default 127.0.0.1:8080; port 0 = any free port)
#   RATE            alerts per second posted by the replay tool (default 2)
#   HISTORY         alerts back-filled by the replay tool before the live stream (default 200)
#   START_TIMEOUT   seconds to wait for the server to become ready (default 60)
#   COUNTY_SCALE    full (default: 15 stations, 1,000,000 persons) or small (seconds to load)
#   COUNTY_SEED     the county's seed (default 1)
#   BIN_DIR         take xiaonaod, xiaonao-replay and xiaonao-county from this directory
#                   instead of build/, and build nothing
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

run_dir=$repo/.run
pg_dir=$run_dir/pg
db_name=xiaonao
bin_dir=${BIN_DIR:-$repo/build}
server_bin=$bin_dir/xiaonaod
replay_bin=$bin_dir/xiaonao-replay
county_bin=$bin_dir/xiaonao-county
server_pid_file=$run_dir/xiaonaod.pid
replay_pid_file=$run_dir/replay.pid
port_file=$run_dir/port
server_log=$run_dir/xiaonaod.log
replay_log=$run_dir/replay.log
key_file=$run_dir/demo-api-key

# The demo users: police number, password, roles, station, name. Demo credentials only.
demo_station=S01
demo_users=(
  "000001 demo-duty-officer duty_officer $demo_station 陈明"
  "000002 demo-station-chief station_chief $demo_station 周建国"
  "000003 demo-county-commander county_commander - 吴卫东"
  "000004 demo-analyst analyst - 林晓"
  "000005 demo-admin-pass admin - 徐海燕"
)

listen=${XIAONAO_LISTEN:-127.0.0.1:8080}
rate=${RATE:-2}
history=${HISTORY:-200}
start_timeout=${START_TIMEOUT:-60}
county_scale=${COUNTY_SCALE:-full}
county_seed=${COUNTY_SEED:-1}
county_dir=$run_dir/county-$county_scale-$county_seed
county_stamp=$pg_dir/county-loaded
# The kinds in dependency order: zones name their station, grids their zone, persons their
# address, markers their camera.
county_kinds=(stations zones grids addresses persons cameras units markers)

say() { echo "run: $*"; }
die() { echo "run: $*" >&2; exit 1; }

# True if PID is a live (not zombie) process whose command line contains NAME.
alive() {
  local pid=$1 name=$2 state
  [[ -r "/proc/$pid/stat" ]] || return 1
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ "$state" != Z && "$state" != X ]] || return 1
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *"$name"* ]]
}

# Prints the pid recorded in FILE if that process is still alive and is NAME (a recycled pid
# belonging to something else is never touched).
live_pid() {
  local file=$1 name=$2 pid
  [[ -f "$file" ]] || return 1
  pid=$(<"$file")
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  alive "$pid" "$name" || return 1
  echo "$pid"
}

# stop_recorded FILE NAME LABEL: SIGTERM (graceful), SIGKILL after 15 s.
stop_recorded() {
  local file=$1 name=$2 label=$3 pid deadline
  if pid=$(live_pid "$file" "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 15))
    while alive "$pid" "$name" && ((SECONDS < deadline)); do sleep 0.2; done
    if alive "$pid" "$name"; then
      say "$label (pid $pid) did not stop within 15 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $label (pid $pid)"
  fi
  rm -f "$file"
}

stop_apps() {
  stop_recorded "$replay_pid_file" xiaonao-replay replay
  stop_recorded "$server_pid_file" xiaonaod xiaonaod
}

# The host that clients on this machine use to reach the listen address.
client_host() {
  local host=${listen%:*}
  host=${host#[}
  host=${host%]}
  case "$host" in
    "" | 0.0.0.0 | "::" | localhost) echo 127.0.0.1 ;;
    *:*) echo "[$host]" ;;
    *) echo "$host" ;;
  esac
}

# A path as the user would type it from the repository root.
rel() { echo "${1#"$repo"/}"; }

print_info() {
  local port=$1 base u number password roles station name
  base="http://$(client_host):$port"
  cat <<EOF

Xiaonao is running.
  console    $base/   (open it in a browser; log in with a demo user below)
  API        $base/api/v1/incidents   (every route but health and login needs a token or key)
  alerts in  curl -sS -X POST -H 'Content-Type: application/json' \\
               -H "Authorization: Bearer \$(cat $(rel "$key_file"))" --data @alert.json $base/api/v1/alerts
  live feed  ws://$(client_host):$port/ws/feed?since=0   (Authorization: Bearer <token>)
  health     $base/healthz   $base/readyz
  metrics    $base/metrics   (analyst or admin token)
  logs       $server_log
             $replay_log
             $pg_dir/postgres.log
  database   bash scripts/pg.sh psql .run/pg $db_name
             (conninfo: $(bash scripts/pg.sh conninfo "$pg_dir" "$db_name"))
  replay     $rate alerts/s after $history back-filled (RATE=, HISTORY= to change)
  county     $(rel "$county_dir") ($county_scale, seed $county_seed; COUNTY_SCALE=, COUNTY_SEED= to change)
  stop       bash scripts/run.sh stop   (replay, server and PostgreSQL)

Demo credentials (for this demo only; docs/security.md):
  police no  password               role              station  name
EOF
  for u in "${demo_users[@]}"; do
    read -r number password roles station name <<<"$u"
    printf '  %-10s %-22s %-17s %-8s %s\n' "$number" "$password" "$roles" "$station" "$name"
  done
  cat <<EOF
  integrator key (alerts:write and units:write, all sources; used by the replay): $(rel "$key_file")
    $(cat "$key_file" 2>/dev/null || echo '(not created yet)')
  Station roles (000001, 000002) see only S01's incidents; the county commander (000003) sees
  every station's.

Log in, then read incidents and who you are:
  TOKEN=\$(curl -sS -X POST $base/api/v1/auth/login -H 'Content-Type: application/json' \\
    -d '{"police_number":"000003","password":"demo-county-commander"}' \\
    | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
  curl -sS -H "Authorization: Bearer \$TOKEN" '$base/api/v1/incidents?limit=5'
  curl -sS -H "Authorization: Bearer \$TOKEN" $base/api/v1/auth/me
Watch the live feed with that token (one JSON frame per line, Ctrl-C stops):
  XIAONAO_API_KEY=\$TOKEN $(rel "$replay_bin") --url $base --watch --since 0
EOF
}

cmd_stop() {
  stop_apps
  rm -f "$port_file"
  bash scripts/pg.sh stop "$pg_dir"
}

cmd_status() {
  local pid port=""
  [[ -f "$port_file" ]] && port=$(<"$port_file")
  if pid=$(live_pid "$server_pid_file" xiaonaod); then
    say "xiaonaod running (pid $pid, port ${port:-?})"
  else
    say "xiaonaod not running"
  fi
  if pid=$(live_pid "$replay_pid_file" xiaonao-replay); then
    say "replay running (pid $pid)"
  else
    say "replay not running"
  fi
  bash scripts/pg.sh status "$pg_dir" || true
  if [[ -n "$port" ]] && live_pid "$server_pid_file" xiaonaod >/dev/null; then print_info "$port"; fi
}

# Shows the end of the server log and stops what this run started, then fails.
fail_start() {
  echo "run: $*" >&2
  if [[ -f "$server_log" ]]; then
    echo "---- last lines of $server_log ----" >&2
    tail -n 40 "$server_log" >&2 || true
    echo "----" >&2
  fi
  stop_apps
  exit 1
}

# Creates the demo users that do not exist yet (an existing one is left as it is, whatever
# its password now).
ensure_demo_users() {
  local db=$1 existing u number password roles station name
  existing=$(XIAONAO_DB="$db" "$server_bin" user list) || die "xiaonaod user list failed"
  for u in "${demo_users[@]}"; do
    read -r number password roles station name <<<"$u"
    if awk -v n="$number" 'NR > 1 && $1 == n {found = 1} END {exit !found}' <<<"$existing"; then
      continue
    fi
    local station_args=()
    [[ "$station" != - ]] && station_args=(--station "$station")
    printf '%s\n' "$password" | XIAONAO_DB="$db" "$server_bin" user add --police-number "$number" \
      --name "$name" "${station_args[@]}" --roles "$roles" --password-stdin >/dev/null ||
      die "could not create the demo user $number ($roles)"
    say "created demo user $number ($roles)"
  done
}

# Reuses the key saved in $key_file while the database lists its id as live (not revoked, and
# not from a database since deleted) with both scopes the replay uses (alerts, and the units'
# position reports); otherwise revokes a live one that lacks a scope, creates a new one and saves
# it (mode 600).
ensure_demo_key() {
  local db=$1 key="" id
  [[ -s "$key_file" ]] && key=$(<"$key_file")
  if [[ "$key" =~ ^xnk_([0-9a-f]+)_ ]]; then
    id=${BASH_REMATCH[1]}
    if XIAONAO_DB="$db" "$server_bin" apikey list |
      awk -v id="$id" 'NR > 1 && $1 == id && $3 == "no" && $4 ~ /alerts:write/ && $4 ~ /units:write/ {found = 1}
                       END {exit !found}'; then
      return 0
    fi
    XIAONAO_DB="$db" "$server_bin" apikey revoke "$id" >/dev/null 2>&1 || true
  fi
  key=$(XIAONAO_DB="$db" "$server_bin" apikey create --name demo-replay --sources '*' \
    --scopes alerts:write,units:write 2>"$run_dir/apikey.err") ||
    { cat "$run_dir/apikey.err" >&2; die "xiaonaod apikey create failed"; }
  rm -f "$run_dir/apikey.err"
  [[ "$key" == xnk_* ]] || die "xiaonaod apikey create printed no key"
  (umask 077 && printf '%s\n' "$key" >"$key_file.tmp") && mv -f "$key_file.tmp" "$key_file"
  say "created the demo integrator key (saved in $(rel "$key_file"))"
}

# Seconds since some fixed point, with decimals (bash 5's EPOCHREALTIME).
now_s() { echo "${EPOCHREALTIME/,/.}"; }
# Elapsed seconds since T0, one decimal.
since_s() { awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'; }

# Generates the demo county into $county_dir unless it is there and complete (county.json is
# written last). A half-written directory from an interrupted run is generated again.
ensure_county_files() {
  if [[ -s "$county_dir/county.json" ]]; then
    say "demo county: $(rel "$county_dir") is already generated"
    return 0
  fi
  local t0 tmp=$county_dir.tmp
  t0=$(now_s)
  rm -rf "$tmp" "$county_dir"
  "$county_bin" --scale "$county_scale" --seed "$county_seed" --out "$tmp" --quiet ||
    die "xiaonao-county failed (scale $county_scale, seed $county_seed)"
  mv "$tmp" "$county_dir"
  say "demo county: generated $(rel "$county_dir") in $(since_s "$t0") s"
}

# Loads the county with xiaonaod import unless this database already holds it: the stamp file
# in the cluster directory names the county last loaded, and the persons count must agree (a
# database dropped and created again has no persons).
ensure_county_loaded() {
  local db=$1 want have t0 t1 kind
  want=$(sed -n 's/.*"persons":\([0-9]*\).*/\1/p' "$county_dir/county.json" | head -n 1)
  if [[ -f "$county_stamp" && "$(<"$county_stamp")" == "$(basename "$county_dir")" ]]; then
    have=$(bash scripts/pg.sh psql "$pg_dir" "$db_name" -tAc 'SELECT count(*) FROM persons' 2>/dev/null || true)
    if [[ -n "$want" && "$have" == "$want" ]]; then
      say "demo county: already loaded ($have persons)"
      return 0
    fi
  fi
  if ! "$server_bin" --help 2>&1 | grep -qw import; then
    echo "run: warning: this xiaonaod has no 'import' command yet; the demo county is generated" >&2
    echo "run:          ($(rel "$county_dir")) but not loaded, so alerts will not fuse with it" >&2
    return 0
  fi
  rm -f "$county_stamp"
  t0=$(now_s)
  for kind in "${county_kinds[@]}"; do
    t1=$(now_s)
    XIAONAO_DB="$db" "$server_bin" import --kind "$kind" "$county_dir/$kind.geojson" --replace >/dev/null ||
      die "xiaonaod import --kind $kind failed"
    say "demo county: loaded $kind in $(since_s "$t1") s"
  done
  echo "$(basename "$county_dir")" >"$county_stamp"
  say "demo county: loaded in $(since_s "$t0") s"
}

rotate_log() {
  if [[ -s "$1" ]]; then mv -f "$1" "$1.1"; fi
}

cmd_start() {
  local detach=$1

  bash scripts/setup.sh
  if [[ -z "${BIN_DIR:-}" ]]; then bash scripts/build.sh; fi
  [[ -x "$server_bin" ]] || die "$server_bin was not built"
  [[ -x "$replay_bin" ]] || die "$replay_bin was not built"
  [[ -x "$county_bin" ]] || die "$county_bin was not built"
  [[ "$county_scale" == full || "$county_scale" == small ]] || die "COUNTY_SCALE is full or small"
  [[ "$county_seed" =~ ^[0-9]+$ ]] || die "COUNTY_SEED is an unsigned integer"

  mkdir -p "$run_dir"
  bash scripts/pg.sh start "$pg_dir"
  bash scripts/pg.sh createdb "$pg_dir" "$db_name"
  local db
  db=$(bash scripts/pg.sh conninfo "$pg_dir" "$db_name")

  # A second run replaces the first run's server and replay.
  stop_apps

  say "applying migrations"
  XIAONAO_DB="$db" "$server_bin" migrate || die "xiaonaod migrate failed"
  ensure_demo_users "$db"
  ensure_demo_key "$db"
  local county_t0
  county_t0=$(now_s)
  ensure_county_files
  ensure_county_loaded "$db"
  say "demo county: ready in $(since_s "$county_t0") s"

  rm -f "$port_file"
  rotate_log "$server_log"
  rotate_log "$replay_log"
  # setsid: the server and the replay get their own session, so they outlive --detach and a
  # closed terminal; in the foreground, Ctrl-C reaches them only through the trap below.
  XIAONAO_DB="$db" XIAONAO_LISTEN="$listen" \
    setsid "$server_bin" --port-file "$port_file" </dev/null >"$server_log" 2>&1 &
  local server_pid=$!
  echo "$server_pid" >"$server_pid_file"
  say "xiaonaod started (pid $server_pid, listen $listen), waiting until ready"

  local deadline=$((SECONDS + start_timeout)) port=""
  while :; do
    alive "$server_pid" xiaonaod ||
      fail_start "xiaonaod exited during start-up (port in use? try XIAONAO_LISTEN=127.0.0.1:0)"
    if [[ -s "$port_file" ]]; then
      port=$(tr -d '[:space:]' <"$port_file")
      [[ "$port" =~ ^[0-9]+$ ]] && break
    fi
    ((SECONDS < deadline)) || fail_start "no port in $port_file after ${start_timeout} s"
    sleep 0.1
  done
  local base
  base="http://$(client_host):$port"
  until curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2>/dev/null; do
    alive "$server_pid" xiaonaod ||
      fail_start "xiaonaod exited before it was ready"
    ((SECONDS < deadline)) || fail_start "$base/readyz not ready after ${start_timeout} s"
    sleep 0.2
  done
  say "xiaonaod ready on port $port"

  # The key goes through the environment: a command line is visible to every user in ps.
  XIAONAO_API_KEY=$(<"$key_file") setsid "$replay_bin" --url "$base" --rate "$rate" --history "$history" \
    --county "$county_dir" </dev/null >"$replay_log" 2>&1 &
  local replay_pid=$!
  echo "$replay_pid" >"$replay_pid_file"
  sleep 0.5
  if ! alive "$replay_pid" xiaonao-replay; then
    echo "run: warning: the replay tool exited at once; last lines of $replay_log:" >&2
    tail -n 20 "$replay_log" >&2 || true
  fi

  print_info "$port"

  if ((detach)); then
    echo
    echo "Detached. 'bash scripts/run.sh status' shows what runs; 'bash scripts/run.sh stop' stops it."
    return 0
  fi

  echo
  echo "Press Ctrl-C to stop the server and the replay (PostgreSQL keeps running in .run/pg;"
  echo "'bash scripts/run.sh stop' stops it as well)."
  trap 'echo; stop_apps; say "PostgreSQL still running in .run/pg (bash scripts/run.sh stop)"; exit 0' INT TERM
  # Wakes up on Ctrl-C (the trap) or when the server exits by itself.
  wait "$server_pid" || true
  trap - INT TERM
  say "xiaonaod exited on its own; see $server_log"
  stop_apps
  exit 1
}

main() {
  local detach=0
  case "${1:-}" in
    stop) cmd_stop; return ;;
    status) cmd_status; return ;;
    -h | --help | help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; return ;;
  esac
  for a in "$@"; do
    case "$a" in
      --detach | -d) detach=1 ;;
      *) die "unknown argument: $a (see: bash scripts/run.sh --help)" ;;
    esac
  done
  cmd_start "$detach"
}

main "$@"
