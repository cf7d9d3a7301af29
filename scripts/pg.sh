#!/usr/bin/env bash
# Usage: bash scripts/pg.sh COMMAND DIR [ARGS...]
#
# A private PostgreSQL 15 + PostGIS cluster living entirely in DIR, used by the demo, the tests
# and the benchmarks. It listens only on the unix socket DIR/sock/.s.PGSQL.5432 (no TCP, so the
# port never conflicts with anything); superuser "xiaonao", trust authentication.
#
#   start DIR [--fast]     initdb DIR/data if needed, start, wait until ready (no-op if running).
#                          --fast: fsync=off, full_page_writes=off (tests only; not crash-safe).
#   stop DIR               fast shutdown; no error if not running.
#   status DIR             prints the state; exit 0 if running, 3 if not.
#   conninfo DIR [DBNAME]  prints a libpq connection string (dbname defaults to postgres).
#   createdb DIR NAME      creates NAME if missing, with extensions postgis and pg_trgm.
#   psql DIR [DBNAME] [psql args...]
#
# As root the server runs as the "postgres" system user (DIR is chowned to it); otherwise as
# the current user. Log: DIR/postgres.log.
set -euo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT=5432
PG_SUPERUSER=xiaonao

die() { echo "pg.sh: $*" >&2; exit 1; }

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }

# Runs a server-side command (initdb, pg_ctl) as the OS user that owns the cluster.
# pg_ctl refuses to run as root. cd / so that a cwd unreadable to postgres causes no warnings.
as_owner() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Quotes a value for a libpq conninfo string when it needs it.
conn_quote() {
  local v=$1
  if [[ "$v" =~ [[:space:]\'\\] || -z "$v" ]]; then
    v=${v//\\/\\\\}
    v=${v//\'/\\\'}
    printf "'%s'" "$v"
  else
    printf '%s' "$v"
  fi
}

# Resolves DIR to an absolute path. With create=1 it is created first.
resolve_dir() {
  local dir=$1 create=${2:-0}
  [[ -n "$dir" ]] || die "DIR is required"
  if ((create)); then mkdir -p "$dir"; fi
  [[ -d "$dir" ]] || die "no such directory: $dir"
  (cd "$dir" && pwd -P)
}

conninfo() {
  local dir=$1 db=${2:-postgres}
  printf 'host=%s port=%s user=%s dbname=%s\n' \
    "$(conn_quote "$dir/sock")" "$PG_PORT" "$PG_SUPERUSER" "$(conn_quote "$db")"
}

# True if the postmaster named in DIR/data/postmaster.pid is alive (a zombie left by a killed
# server does not count, unlike with "pg_ctl status").
is_running() {
  local dir=$1 pid state
  pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/stat" ]] || return 1
  state=$(sed -E 's/^.*\) ([A-Za-z]).*$/\1/' "/proc/$pid/stat" 2>/dev/null) || return 1
  [[ "$state" != Z && "$state" != X ]] || return 1
  [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" == *postgres* ]]
}

# As root: the postgres user must own DIR and be able to reach it through every parent.
prepare_owner() {
  local dir=$1
  ((EUID == 0)) || return 0
  id -u postgres >/dev/null 2>&1 || die "no 'postgres' system user; run scripts/setup.sh first"
  chown postgres: "$dir"
  [[ -d "$dir/sock" ]] && chown postgres: "$dir/sock"
  # Check the parents from / downwards (a test on a deeper one fails if a higher one is shut).
  local p=$dir parents=()
  while [[ "$p" != / ]]; do
    p=$(dirname "$p")
    parents=("$p" "${parents[@]}")
  done
  for p in "${parents[@]}"; do
    if ! runuser -u postgres -- test -x "$p" 2>/dev/null; then
      # Search permission only (no listing), just enough to reach DIR.
      echo "pg.sh: granting o+x on $p so that the postgres user can reach $dir" >&2
      chmod o+x "$p"
    fi
  done
  (cd / && runuser -u postgres -- test -w "$dir") || die "postgres user cannot write $dir"
}

# Writes DIR/data/xiaonao.conf (included from postgresql.conf); sets CONF_CHANGED=1 if it changed.
CONF_CHANGED=0
write_conf() {
  local dir=$1 fast=$2 conf tmp
  conf="$dir/data/xiaonao.conf"
  tmp=$(mktemp)
  {
    echo "# Written by scripts/pg.sh on every start; edit the script, not this file."
    echo "listen_addresses = ''"
    echo "unix_socket_directories = '$dir/sock'"
    echo "port = $PG_PORT"
    echo "max_connections = 200"
    echo "shared_buffers = 256MB"
    if ((fast)); then
      echo "# --fast: tests only, a crash can corrupt the cluster"
      echo "fsync = off"
      echo "full_page_writes = off"
    else
      echo "fsync = on"
      echo "full_page_writes = on"
    fi
  } >"$tmp"
  if [[ -f "$conf" ]] && cmp -s "$tmp" "$conf"; then
    CONF_CHANGED=0
  else
    cat "$tmp" >"$conf"
    if ((EUID == 0)); then chown postgres: "$conf"; fi
    CONF_CHANGED=1
  fi
  rm -f "$tmp"
}

cmd_start() {
  local dir fast=0
  [[ $# -ge 1 ]] || die "usage: pg.sh start DIR [--fast]"
  dir=$(resolve_dir "$1" 1)
  shift
  for a in "$@"; do
    case "$a" in
      --fast) fast=1 ;;
      *) die "unknown option for start: $a" ;;
    esac
  done
  [[ -x "$PG_BIN/initdb" ]] || die "$PG_BIN/initdb not found; run scripts/setup.sh first"
  # A unix socket path is limited to 107 bytes.
  local sock_path="$dir/sock/.s.PGSQL.$PG_PORT"
  ((${#sock_path} <= 100)) || die "DIR path too long for a unix socket: $sock_path"
  [[ "$dir" != *"'"* ]] || die "DIR must not contain a single quote: $dir"

  mkdir -p "$dir/sock"
  prepare_owner "$dir"

  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    local locale=C
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then locale=C.UTF-8; fi
    echo "pg.sh: initdb $dir/data (superuser $PG_SUPERUSER, locale $locale)"
    as_owner "$PG_BIN/initdb" -D "$dir/data" -U "$PG_SUPERUSER" --auth=trust \
      -E UTF8 --locale="$locale" >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    echo "include_if_exists = 'xiaonao.conf'" >>"$dir/data/postgresql.conf"
  fi

  write_conf "$dir" "$fast"

  if is_running "$dir"; then
    if ((CONF_CHANGED)); then
      # fsync and full_page_writes take effect on reload.
      as_owner "$PG_BIN/pg_ctl" reload -D "$dir/data" >/dev/null
      echo "pg.sh: already running in $dir (settings reloaded)"
    else
      echo "pg.sh: already running in $dir"
    fi
  else
    if ((EUID == 0)) && [[ -e "$dir/postgres.log" ]]; then chown postgres: "$dir/postgres.log"; fi
    # Retried: right after a server was killed, its zombie or leftover backends can block the
    # lock file or shared memory for a moment.
    local attempt
    for attempt in 1 2 3 4 5; do
      if as_owner "$PG_BIN/pg_ctl" start -D "$dir/data" -l "$dir/postgres.log" -w -t 60 >/dev/null 2>&1; then
        break
      fi
      if ((attempt == 5)); then
        tail -n 30 "$dir/postgres.log" >&2 || true
        die "could not start PostgreSQL in $dir"
      fi
      sleep 1
    done
    local mode=durable
    if ((fast)); then mode=fast; fi
    echo "pg.sh: started in $dir ($mode)"
  fi

  local deadline=$((SECONDS + 60))
  until "$PG_BIN/pg_isready" -q -h "$dir/sock" -p "$PG_PORT" -U "$PG_SUPERUSER" -d postgres; do
    ((SECONDS < deadline)) || die "PostgreSQL in $dir not ready after 60 s; see $dir/postgres.log"
    sleep 0.2
  done
}

cmd_stop() {
  local dir
  [[ $# -eq 1 ]] || die "usage: pg.sh stop DIR"
  [[ -d "$1" ]] || { echo "pg.sh: not running ($1 does not exist)"; return 0; }
  dir=$(resolve_dir "$1")
  if is_running "$dir"; then
    as_owner "$PG_BIN/pg_ctl" stop -D "$dir/data" -m fast -w -t 60 >/dev/null
    echo "pg.sh: stopped $dir"
  else
    echo "pg.sh: not running in $dir"
  fi
}

cmd_status() {
  local dir
  [[ $# -eq 1 ]] || die "usage: pg.sh status DIR"
  if [[ -d "$1" ]] && dir=$(resolve_dir "$1") && is_running "$dir"; then
    echo "running: $(conninfo "$dir")"
    return 0
  fi
  echo "not running: $1"
  return 3
}

cmd_createdb() {
  local dir name
  [[ $# -eq 2 ]] || die "usage: pg.sh createdb DIR NAME"
  dir=$(resolve_dir "$1")
  name=$2
  is_running "$dir" || die "not running in $dir; run: scripts/pg.sh start $1"
  # psql variables with :'x' / :"x" quote the name safely; \gexec runs the generated statement.
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -v dbname="$name" "$(conninfo "$dir" postgres)" <<'SQL'
SELECT format('CREATE DATABASE %I', :'dbname')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \gexec
SQL
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$(conninfo "$dir" "$name")" <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
SQL
  echo "pg.sh: database $name ready (postgis, pg_trgm)"
}

cmd_psql() {
  local dir db=postgres
  [[ $# -ge 1 ]] || die "usage: pg.sh psql DIR [DBNAME] [psql args...]"
  dir=$(resolve_dir "$1")
  shift
  if [[ $# -ge 1 && "$1" != -* ]]; then db=$1; shift; fi
  exec "$PG_BIN/psql" "$(conninfo "$dir" "$db")" "$@"
}

main() {
  [[ $# -ge 1 ]] || { usage >&2; exit 2; }
  local cmd=$1
  shift
  case "$cmd" in
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    conninfo)
      [[ $# -ge 1 && $# -le 2 ]] || die "usage: pg.sh conninfo DIR [DBNAME]"
      conninfo "$(resolve_dir "$1")" "${2:-postgres}"
      ;;
    createdb) cmd_createdb "$@" ;;
    psql) cmd_psql "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
