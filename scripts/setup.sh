#!/usr/bin/env bash
# Usage: bash scripts/setup.sh
#
# Installs the Debian 12 packages Xiaonao needs to build, test and run (compiler, CMake,
# Boost 1.81, libpqxx, PostgreSQL 15 + PostGIS 3, nlohmann-json, spdlog, GoogleTest, libsodium,
# OpenSSL, jemalloc, clang + libFuzzer runtime, wrk, curl, shellcheck; for the console: Chromium
# for its end-to-end test, CJK fonts for its screenshots, and nodejs + npm only if node is
# missing).
# Only what is missing is installed: when everything is present it returns in well under a
# second without touching apt.
# Works as root or as a normal user with sudo; never prompts (safe with CI=true and no stdin).
set -euo pipefail

# Required packages. Boost is asked for by version: Debian's default libboost-dev is 1.74.
required=(
  build-essential cmake git pkg-config curl ca-certificates
  libboost1.81-all-dev
  libpqxx-dev
  postgresql-15 postgresql-client-15 postgresql-15-postgis-3 postgresql-15-postgis-3-scripts
  postgresql-contrib
  nlohmann-json3-dev libspdlog-dev libgtest-dev libsodium-dev libssl-dev openssl libjemalloc-dev
  clang libclang-rt-14-dev
  wrk shellcheck
  chromium fonts-noto-cjk
)
# The console (web/) is built with Node and npm; the machines have Node 20 already, so Debian's
# nodejs and npm are added only when there is no node at all.
if ! command -v node >/dev/null 2>&1; then required+=(nodejs npm); fi

# Installed only if the archive has a real (non-virtual) package of that name. On Debian 12
# postgresql-contrib-15 is virtual: its contents (pg_trgm, ...) ship inside postgresql-15.
optional=(postgresql-contrib-15)

# One dpkg-query for everything: "name<TAB>status<TAB>provides" per installed or known package.
installed_db=$(dpkg-query -W -f='${Package}\t${Status}\t${Provides}\n' 2>/dev/null || true)

is_installed() {
  awk -F'\t' -v p="$1" '$1 == p && $2 == "install ok installed" {found = 1} END {exit !found}' \
    <<<"$installed_db"
}

# True if an installed package declares that it provides $1 (a virtual package).
is_provided() {
  awk -F'\t' -v p="$1" '$2 == "install ok installed" {
      n = split($3, a, /, */)
      for (i = 1; i <= n; i++) { sub(/ .*/, "", a[i]); if (a[i] == p) found = 1 }
    } END {exit !found}' <<<"$installed_db"
}

has_candidate() {
  local cand
  cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}')"
  [[ -n "$cand" && "$cand" != "(none)" ]]
}

missing=()
for pkg in "${required[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

# An optional package that is installed or provided by an installed one is satisfied without
# asking apt, so that a complete machine never runs apt at all.
for pkg in "${optional[@]}"; do
  if ! is_installed "$pkg" && ! is_provided "$pkg" && has_candidate "$pkg"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all packages present"
  exit 0
fi

if ((EUID == 0)); then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  # -n: fail instead of prompting when there is no cached credential and no terminal.
  if [[ -t 0 ]]; then as_root=(sudo); else as_root=(sudo -n); fi
else
  echo "setup: missing packages (${missing[*]}) and not root and no sudo; install them as root" >&2
  exit 1
fi

apt_env=(env DEBIAN_FRONTEND=noninteractive)

# The only apt-get update the script runs. On a fresh machine the lists may have been empty
# above, so look at the optional packages once more now that they are current.
echo "setup: updating package lists"
"${as_root[@]}" "${apt_env[@]}" apt-get update -qq </dev/null
for pkg in "${optional[@]}"; do
  if ! is_installed "$pkg" && ! is_provided "$pkg" && has_candidate "$pkg" &&
    [[ " ${missing[*]} " != *" $pkg "* ]]; then
    missing+=("$pkg")
  fi
done

echo "setup: installing ${missing[*]}"
"${as_root[@]}" "${apt_env[@]}" apt-get install -y -q --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}" </dev/null
echo "setup: done"
