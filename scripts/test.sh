#!/usr/bin/env bash
# One command for the whole test suite: install what is missing, build, and run every test twice:
# an optimised build (build/) and an ASan+UBSan build (build-asan/). Both builds always run, so one
# run shows every failure; the summary at the end gives each build's result, and the exit status
# is 0 only when both passed.
set -uo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

stage() { echo; echo "== [$1] $2 ($(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s) =="; }

stage 1/5 "installing what is missing"
scripts/install-deps.sh all || { echo "test.sh: installing the dependencies failed" >&2; exit 1; }

# The suite itself uses only numeric addresses; say so once when this machine cannot resolve
# 'localhost' (a minimal Debian has no /etc/hosts), because an operator's config may use names.
if ! getent hosts localhost >/dev/null 2>&1; then
  echo "note: this machine does not resolve 'localhost' (no /etc/hosts entry); the tests do not" \
       "need it (they use 127.0.0.1), but upstreams configured by name would not resolve either"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

declare -A result passed failed
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# run_flavour NAME DIR STAGE_BUILD STAGE_TEST [env...]: build, then ctest; records the result.
run_flavour() {
  local name=$1 dir=$2 build_stage=$3 test_stage=$4
  shift 4
  stage "$build_stage" "build ($name, $dir/)"
  if ! FLAVOUR=$name scripts/build.sh -DBAWWAB_TESTS=ON; then
    result[$name]="build failed"; passed[$name]=0; failed[$name]=0
    return
  fi
  stage "$test_stage" "tests ($name)"
  env "$@" ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 900 2>&1 | tee "$logs/$name"
  local rc=${PIPESTATUS[0]}
  # ctest's summary: "NN% tests passed, F tests failed out of T"
  local line
  line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$logs/$name" | tail -1)
  if [[ -n $line ]]; then
    local f t
    f=$(sed -E 's/.* ([0-9]+) tests? failed out of.*/\1/' <<<"$line")
    t=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
    passed[$name]=$((t - f)); failed[$name]=$f
  else
    passed[$name]=0; failed[$name]=0
  fi
  if ((rc == 0)); then
    result[$name]="passed"
  else
    result[$name]="FAILED: $(grep -E '^\s+[0-9]+ - ' "$logs/$name" | sed -E 's/^\s+[0-9]+ - //' |
                             tr '\n' ' ')"
    ((failed[$name] == 0)) && failed[$name]=1
  fi
}

run_flavour release build 2/5 3/5
run_flavour asan build-asan 4/5 5/5 BAWWAB_SANITIZED=1

echo
echo "== summary ($(((SECONDS - started) / 60)) min $(((SECONDS - started) % 60)) s) =="
status=0
total_passed=0
total_failed=0
for name in release asan; do
  printf '%-8s %s (%d passed, %d failed)\n' "$name" "${result[$name]}" "${passed[$name]}" \
         "${failed[$name]}"
  [[ ${result[$name]} == passed ]] || status=1
  total_passed=$((total_passed + passed[$name]))
  total_failed=$((total_failed + failed[$name]))
done
echo "tests: $total_passed passed, $total_failed failed"
exit $status
