#!/usr/bin/env bash
# Configures and builds bawwab with Ninja, in one of two flavours whose flags never change, so the
# demo command and the test command share one tree and neither rebuilds what the other built:
#   scripts/build.sh [cmake -D options...]                 build/       (optimised, -O2 -g1)
#   FLAVOUR=asan scripts/build.sh [cmake -D options...]    build-asan/  (ASan+UBSan, -O0 -g1)
#   TARGET=bawwab scripts/build.sh                          only the binary
# BUILD_DIR overrides the folder. Progress is one line per tenth of the build; compiler messages
# and failures are printed in full.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${FLAVOUR:-release}
jobs=${JOBS:-$(nproc)}

# BAWWAB_UNITY: batches of sources per compiler run, about half the compile time (CMakeLists.txt).
# -g1 (line tables only): stack traces keep file:line, and the template-heavy build is faster.
case "$flavour" in
  release)
    build_dir=${BUILD_DIR:-build}
    flags=(-DBAWWAB_UNITY=ON -DBAWWAB_SANITIZE=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG")
    ;;
  asan)
    # -O0: it compiles in about half the time of -O1 and finds the same errors; its tests take
    # ~30 s longer. No benchmarks: their figures would mean nothing under the sanitizers.
    build_dir=${BUILD_DIR:-build-asan}
    flags=(-DBAWWAB_UNITY=ON -DBAWWAB_SANITIZE=ON -DBAWWAB_BENCH=OFF
           "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O0 -g1")
    ;;
  *) echo "build.sh: FLAVOUR must be release or asan, not '$flavour'" >&2; exit 2 ;;
esac

echo "build: configuring $build_dir/ ($flavour)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "${flags[@]}" "$@" >/dev/null
echo "build: compiling ${TARGET:-everything} in $build_dir/ with $jobs jobs"
# Ninja prints "[n/N] ..." per step; keep one line per 10 % and everything else (warnings, errors).
set +e
cmake --build "$build_dir" -j "$jobs" ${TARGET:+--target "$TARGET"} 2>&1 | awk '
  /^\[[0-9]+\/[0-9]+\] / {
    split(substr($1, 2), a, "/"); n = a[1] + 0; total = a[2] + 0
    step = int(n * 10 / total)
    if (step > shown || n == total) { printf "build: %d/%d steps\n", n, total; shown = step }
    fflush(); next
  }
  /^ninja: no work to do/ { print "build: up to date"; fflush(); next }
  { print; fflush() }'
rc=${PIPESTATUS[0]}
set -e
if ((rc != 0)); then echo "build: FAILED in $build_dir/ (exit $rc)" >&2; exit "$rc"; fi
