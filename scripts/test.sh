#!/usr/bin/env bash
# Usage: bash scripts/test.sh [ctest args...]
#
# THE test command (CI runs exactly this through .ci/run). Installs what is missing, builds
# (with CI=true, on a fresh build/, without debug info),
# starts a throw-away PostgreSQL + PostGIS cluster (fsync off) in a temp dir, exports
# XIAONAO_TEST_DB (a libpq conninfo for dbname=postgres as superuser; tests create their own
# databases from it) and runs ctest. The cluster and the temp dir are always removed on exit.
# Extra arguments go to ctest, e.g.: bash scripts/test.sh -R intake
# XIAONAO_KEEP_TEST_DIR=1 keeps the temp dir (stopped cluster and its log) for a post-mortem.
# Then, when no ctest arguments were given, runs every libFuzzer target for 20 s
# (bash scripts/fuzz.sh 20: a clang build in build-fuzz/, about 1-3 min the first time);
# XIAONAO_SKIP_FUZZ=1 skips that step.
# Exit code: ctest's, or the fuzz step's when ctest passed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
# On CI (a clean clone each time) the first configure builds without debug info: the same -O2,
# about 40% less compile time. A developer's build/ keeps RelWithDebInfo.
if [[ "${CI:-}" == true ]]; then export BUILD_TYPE=${BUILD_TYPE:-Release}; fi
bash scripts/build.sh

tmp=$(mktemp -d "${TMPDIR:-/tmp}/xiaonao-test.XXXXXX")
# mktemp makes it 0700; the postgres user (when we are root) must be able to reach it.
chmod 755 "$tmp"
pg_dir="$tmp/pg"

# shellcheck disable=SC2317  # reached through the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  bash scripts/pg.sh stop "$pg_dir" >/dev/null 2>&1 || true
  if [[ "${XIAONAO_KEEP_TEST_DIR:-0}" == 1 ]]; then
    echo "test: kept $tmp (PostgreSQL log: $pg_dir/postgres.log)"
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

bash scripts/pg.sh start "$pg_dir" --fast
XIAONAO_TEST_DB=$(bash scripts/pg.sh conninfo "$pg_dir" postgres)
export XIAONAO_TEST_DB
# Where the cluster lives, for tests that want pg.sh or the server log.
export XIAONAO_TEST_PG_DIR="$pg_dir"
echo "test: XIAONAO_TEST_DB=$XIAONAO_TEST_DB"

rc=0
ctest --test-dir build --output-on-failure -j2 "$@" || rc=$?

# A focused run (ctest arguments) skips the fuzzers; CI passes none.
if (($# == 0)) && [[ "${XIAONAO_SKIP_FUZZ:-0}" != 1 ]]; then
  fuzz_rc=0
  bash scripts/fuzz.sh 20 || fuzz_rc=$?
  ((rc != 0)) || rc=$fuzz_rc
fi
exit "$rc"
