#!/usr/bin/env bash
# Installs the Debian 12 packages that bawwab's build, tests and benchmarks need.
# Idempotent: when everything is present it prints nothing and exits 0.
# Usage: scripts/install-deps.sh [build|test|all]   (default: all)
set -euo pipefail

what=${1:-all}

# curl is here, not with the test tools: the demo's printed hints use it.
build_pkgs=(
  build-essential cmake ninja-build pkg-config curl ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libyaml-cpp-dev catch2 libre2-dev libhiredis-dev
  zlib1g-dev libbrotli-dev libsystemd-dev libbenchmark-dev libc-ares-dev
)
test_pkgs=(
  nginx-light haproxy wrk wget redis-server openssl
  python3 python3-requests python3-scrapy chromium slowhttptest
  clang-14 libclang-rt-14-dev procps iproute2
)

case "$what" in
  build) want=("${build_pkgs[@]}") ;;
  test|all) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
((${#missing[@]} == 0)) && exit 0

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: ${#missing[@]} Debian packages are missing (${missing[*]})," \
         "and installing them needs root: run this as root, or install sudo" >&2
    exit 1
  fi
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: updating the package lists"
$sudo apt-get update -qq
# Services that the packages would start at install time are not wanted: the tests start their own
# nginx/redis on free ports.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
# How many packages that is with their dependencies, for the progress lines.
total=$($sudo apt-get install -s --no-install-recommends "${missing[@]}" 2>/dev/null | grep -c '^Inst ' || true)
echo "install-deps: installing ${#missing[@]} packages, $total with their dependencies:" \
     "${missing[*]}"
# One line per tenth downloaded and per tenth set up, instead of minutes of silence or pages of
# dpkg output; errors still come through. The debconf warning about apt-utils is noise.
set +e
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}" 2>&1 | awk -v total="$total" '
  function tick(what, n) {
    if (total > 0 && (int(n * 10 / total) > last[what] || n == total)) {
      printf "install-deps: %s %d/%d\n", what, n, total; last[what] = int(n * 10 / total); fflush()
    }
  }
  /^Get:[0-9]+ / { tick("downloaded", ++got); next }
  /^Setting up / { tick("set up", ++setup); next }
  /^(E:|W:|dpkg: error|Err:)/ { print; fflush(); next }
  { next }'
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then
  echo "install-deps: apt-get install failed (exit $rc); the lines above say why" >&2
  exit "$rc"
fi
echo "install-deps: done"
