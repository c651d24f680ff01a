#!/usr/bin/env bash
# Installs the Debian 12 packages that bawwab's build, tests and benchmarks need.
# Idempotent: when everything is present it prints nothing and exits 0.
# Usage: scripts/install-deps.sh [build|test|all]   (default: all)
set -euo pipefail

what=${1:-all}

build_pkgs=(
  build-essential cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libyaml-cpp-dev catch2 libre2-dev libhiredis-dev
  zlib1g-dev libsystemd-dev libbenchmark-dev
)
test_pkgs=(
  nginx-light haproxy wrk curl wget redis-server openssl
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

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# Services that the packages would start at install time are not wanted: the tests start their own
# nginx/redis on free ports.
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
