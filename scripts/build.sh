#!/usr/bin/env bash
# Configures and builds bawwab into build/ (or $BUILD_DIR) with Ninja.
#   scripts/build.sh [cmake -D options...]          everything
#   TARGET=bawwab scripts/build.sh                   only the binary
# Options are applied on every call (cmake keeps them in its cache), so a tree first configured by
# the demo command builds the tests later, and vice versa.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "$@" >/dev/null
cmake --build "$build_dir" -j "$jobs" ${TARGET:+--target "$TARGET"}
