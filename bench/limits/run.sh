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

[[ -x $bin ]] || { echo "run.sh: bench_limits not found at $bin (build target bench_limits)" >&2; exit 1; }
pin=()
if [[ -n $cpu ]] && command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi

echo "== ns per check, one core (median of $reps repetitions)"
"${pin[@]}" "$bin" --benchmark_filter='BM_(LocalCheck|KeyHash)' \
  --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_display_aggregates_only=true 2>&1 | grep -E '^(BM_|Benchmark|-)|_median' || true

echo
echo "== resident memory, 1,000,000 distinct keys (own process)"
"${pin[@]}" "$bin" --benchmark_filter='BM_Memory_1M_Keys' 2>&1 | grep -E 'limits:|BM_Memory'

# TODO(lead): requests/s through bawwab with a rate_limit rule, local store vs Redis store
# (needs the proxy wiring). Sketch: start redis-server on a free port, bawwab with
# `store: redis://127.0.0.1:<port>` and once without, a limit high enough never to reject, then
# wrk against each (same pinning as bench/throughput.sh) and print req/s and p99 side by side.
