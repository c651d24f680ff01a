#!/usr/bin/env bash
# One command for a newcomer: install what is missing, build the binary, run the demo site behind
# bawwab (extra arguments go to `bawwab demo`, e.g. --listen 127.0.0.1:0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
TARGET=bawwab scripts/build.sh
exec build/bawwab demo "$@"
