#!/usr/bin/env bash
# Usage: bash scripts/fuzz.sh [SECONDS]
#
# Builds the libFuzzer targets of tests/fuzz with clang into build-fuzz/ (configured the first
# time, incremental after) and runs each for SECONDS (default 20, what CI does through
# scripts/test.sh). For a longer run on demand: bash scripts/fuzz.sh 600 (ten minutes a target).
# Each target starts from a temp copy of its seed corpus (tests/fuzz/corpus/<name>/) with its
# dictionary, so generated inputs never land in the repo. Prints one line per target: runs,
# runs/s, coverage (cov: code edges, ft: features) and corpus growth.
# Exit code: 0, or 1 when any target crashed, leaked, hung or broke an invariant; the failing
# input is then copied to build-fuzz/artifacts/<target>/ and the end of its log is printed.
# Environment: XIAONAO_FUZZ_CXX (default clang++), XIAONAO_FUZZ_ARGS (extra libFuzzer flags,
# e.g. "-jobs=2 -workers=2" or "-detect_leaks=0"), XIAONAO_FUZZ_KEEP=1 keeps the temp dir.
# Installs clang and the libFuzzer runtime through scripts/setup.sh when missing; never prompts.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

secs=${1:-20}
if ! [[ "$secs" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: bash scripts/fuzz.sh [SECONDS]   (a whole number of seconds per target)" >&2
  exit 2
fi

# target, seed corpus under tests/fuzz/corpus, dictionary under tests/fuzz ("-": none), -max_len
targets=(
  "fuzz_alert_parser alert alert.dict 8192"
  "fuzz_router router router.dict 4096"
  "fuzz_ws_frame ws - 9000"
  "fuzz_reference reference reference.dict 8192"
  "fuzz_asset_path assets - 512"
  "fuzz_trigram trigram - 1024"
  "fuzz_json_text json json.dict 4096"
)

bash scripts/setup.sh

cxx=${XIAONAO_FUZZ_CXX:-clang++}
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found (scripts/setup.sh installs clang); set XIAONAO_FUZZ_CXX" >&2
  exit 1
fi

build_dir=build-fuzz
start=$(date +%s)
# Configured every time (quick once cached), so that a target added since the last run is
# known to the build (make would not regenerate before looking for it). The tests option stays
# on because tests/CMakeLists.txt is what adds tests/fuzz; only the fuzz targets are built, so
# no database library is compiled with clang.
mkdir -p "$build_dir"
# A build directory that ignores itself keeps `git status` clean.
echo '*' >"$build_dir/.gitignore"
if ! cmake -S . -B "$build_dir" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DXIAONAO_FUZZ=ON >"$build_dir/configure.log" 2>&1; then
  cat "$build_dir/configure.log" >&2
  echo "fuzz: configure failed" >&2
  exit 1
fi
names=()
for t in "${targets[@]}"; do names+=("${t%% *}"); done
echo "fuzz: building ${names[*]} in $build_dir"
if ! cmake --build "$build_dir" -j2 --target "${names[@]}" >"$build_dir/build.log" 2>&1; then
  tail -n 60 "$build_dir/build.log" >&2
  echo "fuzz: build failed (full log: $build_dir/build.log)" >&2
  exit 1
fi
echo "fuzz: built in $(($(date +%s) - start)) s; running each target for $secs s"

work=$(mktemp -d "${TMPDIR:-/tmp}/xiaonao-fuzz.XXXXXX")
# shellcheck disable=SC2317  # reached through the trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "${XIAONAO_FUZZ_KEEP:-0}" == 1 ]]; then echo "fuzz: kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# UBSan findings abort (the targets are also built with -fno-sanitize-recover=undefined).
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
read -r -a extra <<<"${XIAONAO_FUZZ_ARGS:-}"

stat_of() { awk -F':[[:space:]]+' -v k="stat::$1" '$1 == k {print $2}' "$2" | tail -n 1; }

failed=()
for t in "${targets[@]}"; do
  read -r name seeds dict max_len <<<"$t"
  dir="$work/$name"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -R "tests/fuzz/corpus/$seeds/." "$dir/corpus/"
  seeded=$(find "$dir/corpus" -type f | wc -l)
  log="$dir/fuzz.log"
  rc=0
  # Run inside the temp dir: libFuzzer writes fuzz-N.log and similar files to its working dir.
  dict_arg=()
  [[ "$dict" != "-" ]] && dict_arg=(-dict="$root/tests/fuzz/$dict")
  (cd "$dir" && exec "$root/$build_dir/tests/fuzz/$name" "$dir/corpus" \
    "${dict_arg[@]}" -max_len="$max_len" -max_total_time="$secs" \
    -timeout=30 -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/" -print_final_stats=1 \
    "${extra[@]}") </dev/null >"$log" 2>&1 || rc=$?

  runs=$(stat_of number_of_executed_units "$log")
  rate=$(stat_of average_exec_per_sec "$log")
  last=$(grep -E '^#[0-9]+[[:space:]].* cov: ' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
  ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
  corpus=$(find "$dir/corpus" -type f | wc -l)
  status=ok
  if ((rc != 0)); then
    status="FAILED (exit $rc)"
    failed+=("$name")
  fi
  printf 'fuzz: %-18s %s: %s runs in %s s (%s runs/s), cov %s, ft %s, corpus %s -> %s inputs\n' \
    "$name" "$status" "${runs:-?}" "$secs" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$seeded" "$corpus"
  if ((rc != 0)); then
    tail -n 50 "$log" >&2
    keep="$build_dir/artifacts/$name"
    mkdir -p "$keep"
    if compgen -G "$dir/artifacts/*" >/dev/null; then
      cp "$dir"/artifacts/* "$keep/"
      for f in "$keep"/*; do
        echo "fuzz: failing input kept: $f (replay: $build_dir/tests/fuzz/$name $f)" >&2
      done
    fi
  fi
done

echo "fuzz: done in $(($(date +%s) - start)) s"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}" >&2
  exit 1
fi
