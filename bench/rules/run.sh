#!/usr/bin/env bash
# Rules figures (issue 3): load + compile time of the big rule set (shipped rules + 1,000 extra
# user-agent patterns + 200 path rules + 10,000 CIDRs; target <= 200 ms) and the median time of a
# full evaluation over a mix of realistic requests (target <= 2 us per request, one core). It
# measures; it asserts nothing. On a shared machine, CPU time is the fairer figure: wall time
# then includes the time other processes held the core.
#
#   bench/rules/run.sh [BENCH_RULES_BIN]
#
# Without an argument it uses build/bench/bench_rules, building it first when missing (BUILD_DIR
# selects another build tree). Knobs (environment): REPS=5 (repetitions), CPU=1 (core to pin to;
# empty = no pinning).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build}
bin=${1:-${BENCH_RULES_BIN:-$build/bench/bench_rules}}
reps=${REPS:-5}
cpu=${CPU-1}

if [[ ! -x $bin && $# -eq 0 ]]; then
  echo "== building bench_rules in $build"
  cmake -S "$root" -B "$build" -G Ninja -DBAWWAB_BENCH=ON >/dev/null
  ninja -C "$build" -j2 bench_rules
fi
if [[ ! -x $bin ]]; then
  echo "run.sh: bench_rules not found at $bin (build target bench_rules)" >&2
  exit 1
fi
pin=()
if [[ -n $cpu ]] && command -v taskset >/dev/null; then pin=(taskset -c "$cpu"); fi

echo "== load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
out=$("${pin[@]}" "$bin" --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_display_aggregates_only=true 2>&1)
echo "$out" | grep -E '^(Benchmark|-)|_(median|stddev)' || true

median() {  # median NAME COLUMN: the wall (2) or CPU (4) figure of NAME's median row, with unit
  echo "$out" |
    awk -v n="$1" -v c="$2" 'index($1, n) == 1 && $1 ~ /_median$/ { print $c " " $(c + 1) }'
}
echo
echo "load + compile of the big set (target <= 200 ms): $(median BM_LoadAndCompile 2) wall," \
  "$(median BM_LoadAndCompile 4) CPU"
echo "full evaluation, request mix   (target <= 2 us):  $(median BM_EvaluateMix 2) wall," \
  "$(median BM_EvaluateMix 4) CPU"
