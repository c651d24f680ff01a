#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build, run the demo site behind bawwab.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
BAWWAB_TESTS=OFF scripts/build.sh -DBAWWAB_TESTS=OFF -DBAWWAB_BENCH=OFF
exec build/bawwab demo "$@"
