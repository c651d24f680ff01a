#!/usr/bin/env bash
# Rate-limit figures: ns per local check on one core (median of repetitions) and resident memory
# at 1,000,000 keys. It measures; it asserts nothing. The targets (issue 4): median <= 200 ns per
# check, <= 128 MB for 1,000,000 keys.
#
#   bench/limits/run.sh [BENCH_LIMITS_BIN]
#
# Knobs (environment): REPS=5 (repetitions), CPU=1 (core to pin to; empty = no pinning).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${BENCH_LIMITS_BIN:-$root/build/bench/bench_limits}}
reps=${REPS:-5}
cpu=${CPU-1}

if [[ ! -x $bin ]]; then
  echo "run.sh: bench_limits not found at $bin (build target bench_limits)" >&2
  exit 1
fi
pin=()
if [[ -n $cpu ]] && command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi

echo "== ns per check, one core (median of $reps repetitions)"
"${pin[@]}" "$bin" --benchmark_filter='BM_(LocalCheck|KeyHash)' \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_display_aggregates_only=true 2>&1 | grep -E '^(BM_|Benchmark|-)|_median' || true

echo
echo "== resident memory, 1,000,000 distinct keys (own process)"
"${pin[@]}" "$bin" --benchmark_filter='BM_Memory_1M_Keys' 2>&1 | grep -E 'limits:|BM_Memory'

echo
echo "== checks/s through one RedisStore (one worker's connection) against a local redis-server"
echo "   (not pinned: the client and redis-server need a core each)"
"$bin" --benchmark_filter='BM_RedisStore' 2>&1 | grep -E '^BM_Redis|skipped|ERROR' || true

echo; echo '== requests/s through bawwab, Redis store vs local: bench/limits/fleet.sh'
