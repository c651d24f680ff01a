#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build the binary, run the demo site behind
# bawwab (extra arguments go to `bawwab demo`, e.g. --listen 127.0.0.1:0). The build tree is the
# one scripts/test.sh uses (same flags), so running the tests afterwards reuses this build.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== [1/3] installing what is missing =="
scripts/install-deps.sh build
echo "== [2/3] building build/bawwab =="
TARGET=bawwab scripts/build.sh
echo "== [3/3] starting the demo =="
exec build/bawwab demo "$@"
