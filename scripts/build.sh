#!/usr/bin/env bash
# Usage: bash scripts/build.sh [cmake --build args...]
#
# Configures build/ (RelWithDebInfo) the first time, then builds everything: xiaonaod,
# xiaonao-replay, xiaonao-bench and the test binaries. Later runs only rebuild what changed
# (CMake re-configures by itself when a CMakeLists.txt changes). Extra arguments go to
# "cmake --build", e.g. "--target xiaonaod". BUILD_TYPE overrides the build type on the
# first configure.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
# Configure when there is no cache or when an earlier configure failed before generating.
if [[ ! -f "$build_dir/CMakeCache.txt" ]] ||
  [[ ! -f "$build_dir/Makefile" && ! -f "$build_dir/build.ninja" ]]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}"
fi
cmake --build "$build_dir" -j"$(nproc)" "$@"
