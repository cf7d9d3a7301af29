# shellcheck shell=bash
# shellcheck disable=SC2154  # repo, keep and server_bin come from the sourcing script
# Shared by the benchmark scripts (sourced, not run): a temp dir with a private durable
# PostgreSQL, xiaonaod started on it with the rate limits out of the way, clean-up on exit, and
# the small number helpers. The sourcing script sets `repo` and `keep` (0/1) first, and
# `server_bin` before starting the server (bench_binaries sets it).

say() { echo "bench: $*"; }
die() {
  echo "bench: $*" >&2
  exit 1
}
# median of the numbers on stdin (empty input: empty output).
median() { sort -g | awk '{v[NR]=$1} END {if (NR==0) exit; if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

pgbench_bin=/usr/lib/postgresql/15/bin/pgbench
[[ -x "$pgbench_bin" ]] || pgbench_bin=$(command -v pgbench || true)
[[ -n "$pgbench_bin" && -x "$pgbench_bin" ]] || die "pgbench not found; run scripts/setup.sh first"

# bench_binaries TARGET...: builds the targets with scripts/build.sh unless SKIP_BUILD is set or
# BIN_DIR names another build directory; sets bin_dir and server_bin.
bench_binaries() {
  bin_dir=${BIN_DIR:-$repo/build}
  if [[ -z "${BIN_DIR:-}" && -z "${SKIP_BUILD:-}" ]]; then
    local args=() t
    for t in "$@"; do args+=(--target "$t"); done
    bash "$repo/scripts/build.sh" "${args[@]}" >/dev/null
  fi
  server_bin=$bin_dir/xiaonaod
}

# cpu_ticks PID...: utime + stime of the processes, in clock ticks (one that is gone counts 0).
cpu_ticks() {
  local t=0 p n
  for p in "$@"; do
    n=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + ${n:-0}))
  done
  echo "$t"
}

# pg_pids: the postmaster of $pg_dir and its children at this moment.
pg_pids() {
  local pm
  pm=$(head -n 1 "$pg_dir/data/postmaster.pid")
  echo "$pm $(pgrep -P "$pm" | tr '\n' ' ')"
}

# bench_metric NAME: the value of one unlabelled metric of the server (needs $url and $api_key).
bench_metric() { curl -sf "$url/metrics" -H "Authorization: Bearer $api_key" | awk -v m="$1" '$1 == m {print $2}'; }

# bench_metrics FILE: the server's whole /metrics text into FILE (needs $url and $api_key).
bench_metrics() { curl -sf "$url/metrics" -H "Authorization: Bearer $api_key" >"$1" || true; }

# hist_pct BEFORE AFTER MATCH P: the P-th percentile (ms) of what one histogram recorded between
# two /metrics texts, interpolated linearly inside its bucket (the lower bound of the last one
# when it falls past it); nothing when it recorded nothing. MATCH is an awk regular expression
# for that histogram's bucket lines: its name, and the label that picks it when it has several,
# e.g. '^xiaonao_fusion_seconds_bucket[{]stage="intake"'.
hist_pct() {
  awk -v m="$3" -v p="$4" '
    function le(line) { sub(/.*le="/, "", line); sub(/".*/, "", line); return line }
    $1 ~ m { k = le($1); v = $2 + 0; if (FILENAME == ARGV[1]) b[k] = v; else { a[k] = v; order[++n] = k } }
    END {
      total = a["+Inf"] - b["+Inf"]; if (total <= 0) exit
      want = total * p / 100; prev_le = 0; prev_c = 0
      for (i = 1; i <= n; i++) {
        k = order[i]; c = a[k] - b[k]
        if (k == "+Inf") { printf "%.2f", prev_le * 1000; exit }
        if (c >= want) { f = (c == prev_c) ? 1 : (want - prev_c) / (c - prev_c); printf "%.2f", (prev_le + f * (k - prev_le)) * 1000; exit }
        prev_le = k; prev_c = c
      }
    }' "$1" "$2"
}
# hist_count BEFORE AFTER MATCH: how many values that histogram recorded between the two texts.
hist_count() { awk -v m="$3" '$1 ~ m && /le="\+Inf"/ { if (FILENAME == ARGV[1]) b = $2; else a = $2 } END { print a - b }' "$1" "$2"; }

server_pid=""
bench_on_exit=""  # a command the script wants run first on exit (e.g. stopping its clients)

# bench_workdir PREFIX: makes $work, $pg_dir and $results and installs the clean-up.
bench_workdir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  pg_dir=$work/pg
  results=$work/results
  mkdir -p "$results"
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

bench_stop_server() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 75); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}

bench_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$bench_on_exit" ]] && eval "$bench_on_exit"
  bench_stop_server
  if [[ -d "$pg_dir" ]]; then bash "$repo/scripts/pg.sh" stop "$pg_dir" >/dev/null 2>&1 || true; fi
  if ((keep)); then echo "bench: kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}

# bench_start_pg: a durable (fsync on) cluster in $pg_dir with the databases xiaonao and pgbench
# (pgbench -i -s 10 in the latter); sets $db (xiaonao's conninfo).
bench_start_pg() {
  say "starting a private PostgreSQL in $pg_dir (durable: fsync on)"
  bash "$repo/scripts/pg.sh" start "$pg_dir" >"$work/pg.out" 2>&1 || { cat "$work/pg.out" >&2; die "pg.sh start failed"; }
  bash "$repo/scripts/pg.sh" createdb "$pg_dir" xiaonao >/dev/null
  bash "$repo/scripts/pg.sh" createdb "$pg_dir" pgbench >/dev/null
  "$pgbench_bin" -i -q -s 10 -h "$pg_dir/sock" -p 5432 -U xiaonao pgbench >"$work/pgbench-init.log" 2>&1 ||
    { cat "$work/pgbench-init.log" >&2; die "pgbench -i failed"; }
  # WAL as in a server that has run for a while. A fresh cluster has no used WAL segments to
  # recycle, so until its first checkpoint (5 minutes: longer than a benchmark) the backend that
  # crosses into the next 16 MB segment first creates it, zero-filled and fsynced
  # (IO:WALInitWrite / IO:WALInitSync in pg_stat_activity): a stall of 100-230 ms of that
  # backend's commit every few seconds at 1,000 alerts/s, which a running server, recycling its
  # segments at each checkpoint, does not have. So: 64 segments (1 GB, max_wal_size) written
  # and switched through, then a CHECKPOINT, which keeps them for reuse. About 5 s.
  bash "$repo/scripts/pg.sh" psql "$pg_dir" pgbench -X -q -v ON_ERROR_STOP=1 >/dev/null -c "DO \$\$ BEGIN
      FOR i IN 1..64 LOOP
        PERFORM pg_logical_emit_message(false, 'xiaonao-bench', 'warm');
        PERFORM pg_switch_wal();
      END LOOP;
    END \$\$" -c "CHECKPOINT" || die "warming the WAL failed"
  db=$(bash "$repo/scripts/pg.sh" conninfo "$pg_dir" xiaonao)
}

# bench_start_server: xiaonaod on $db at 127.0.0.1 (any free port), rate limits far above what a
# benchmark sends (XIAONAO_* in the environment still win); waits for /readyz; sets $url.
bench_start_server() {
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  rm -f "$work/port"
  XIAONAO_DB="$db" XIAONAO_LISTEN=127.0.0.1:0 \
    XIAONAO_SECURITY_RATE_PER_PRINCIPAL=${XIAONAO_SECURITY_RATE_PER_PRINCIPAL:-1000000} \
    XIAONAO_SECURITY_BURST_PER_PRINCIPAL=${XIAONAO_SECURITY_BURST_PER_PRINCIPAL:-1000000} \
    XIAONAO_SECURITY_RATE_PER_ADDRESS=${XIAONAO_SECURITY_RATE_PER_ADDRESS:-1000000} \
    XIAONAO_SECURITY_BURST_PER_ADDRESS=${XIAONAO_SECURITY_BURST_PER_ADDRESS:-1000000} \
    "$server_bin" --port-file "$work/port" </dev/null >>"$work/xiaonaod.log" 2>&1 &
  server_pid=$!
  local deadline=$((SECONDS + 60)) port=""
  until [[ -n "$port" ]] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    kill -0 "$server_pid" 2>/dev/null || { tail -n 30 "$work/xiaonaod.log" >&2; die "xiaonaod exited during start-up"; }
    ((SECONDS < deadline)) || die "xiaonaod not ready within 60 s (see $work/xiaonaod.log)"
    [[ -s "$work/port" ]] && port=$(tr -d '[:space:]' <"$work/port")
    sleep 0.1
  done
  url=http://127.0.0.1:$port
  # The fresh cluster's one-off autovacuum work done now, not in a measured window: PostGIS's
  # spatial_ref_sys (8,500 rows inserted by CREATE EXTENSION), the catalogs the migrations
  # filled, pgbench's initial tables. Until each is vacuumed and analysed once, autovacuum
  # visits them a database per 15 s (naptime 60 s, four databases), which a server in service
  # has long done; seen in pg_stat_activity during POST stalls of 95-180 ms at 1,000 alerts/s.
  # xiaonao's own tables are empty here, and are left to autovacuum as they fill.
  local d
  for d in xiaonao pgbench postgres template1; do
    bash "$repo/scripts/pg.sh" psql "$pg_dir" "$d" -X -q -c "VACUUM (ANALYZE)" >/dev/null 2>&1 ||
      say "warning: VACUUM (ANALYZE) of database $d failed"
  done
  say "xiaonaod ready at $url (pid $server_pid)"
}
