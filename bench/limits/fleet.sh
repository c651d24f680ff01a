#!/usr/bin/env bash
# Requests per second through bawwab with a rate limit checked on every request: limit state in
# Redis (fleet mode) vs in the process (local), side by side in one run on one machine.
#
#   bench/limits/fleet.sh [BAWWAB_BIN]
#
# An nginx origin serves a 1 KB file. Two bawwab instances (one worker each, on the proxy CPU)
# run the same rule: every request goes through a limit of 1000000/s with a burst of 1000000,
# which no run reaches, so every request does one limit check and is let through. One instance
# keeps the limit locally; the other in a redis-server started here (no persistence, loopback,
# a free port). Redis runs on the load CPU with nginx and wrk: in a fleet it is another machine,
# so its CPU time is not charged to bawwab's core. wrk -t1 -c32 runs against each instance in
# interleaved rounds (local, redis, local, redis...) after a warm-up; the script prints the
# median req/s and p99 of each, the ratio redis/local, and checks that Redis really answered
# (its script call count, bawwab's fallback counter). It measures; it asserts nothing.
#
# Knobs (environment): DURATION=5 (s per run) ROUNDS=5 CONNS=32 THREADS=1 WARMUP=2 (s)
#                      REDIS_SERVER=/usr/bin/redis-server
set -euo pipefail

prog=fleet.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
source "$here/../common.sh"

bawwab=${1:-${BAWWAB_BIN:-$bench_root/../build/bawwab}}
duration=${DURATION:-5}
rounds=${ROUNDS:-5}
warmup=${WARMUP:-2}
redis_server=${REDIS_SERVER:-/usr/bin/redis-server}

[[ -x $bawwab ]] || { echo "$prog: bawwab binary not found at $bawwab" >&2; exit 1; }
[[ -x $redis_server ]] || { echo "$prog: redis-server not found at $redis_server" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "$prog: redis-cli not found" >&2; exit 1; }

mkdir -p "$work/www"
head -c 1024 /dev/urandom >"$work/www/1k.bin"
start_nginx_origin "$work/www"

free_port redis_port
start redis "$redis_port" "${pin_load[@]}" "$redis_server" --port "$redis_port" \
  --bind 127.0.0.1 --save '' --appendonly no --dir "$work"
rcli() { redis-cli -p "$redis_port" "$@"; }

cat >"$work/limits.yaml" <<'EOF'
limits:
  - { name: every-request, key: ip, rate: 1000000/s, burst: 1000000, on_exceed: reject }
rules:
  - id: every-request-limited
    then: { rate_limit: every-request }
EOF

declare -A bport sport
for mode in local redis; do
  free_port "bport[$mode]"
  free_port "sport[$mode]"
  store=local
  [[ $mode == redis ]] && store="redis://127.0.0.1:$redis_port/0"
  bawwab_config "${bport[$mode]}" "${sport[$mode]}" "rules: [\"$work/limits.yaml\"]
rate_limits:
  store: \"$store\"
  store_timeout: 50ms
  on_store_failure: local" >"$work/$mode.yaml"
  start_bawwab "$mode" "$bawwab" "$work/$mode.yaml" "${bport[$mode]}"
  url[$mode]="http://127.0.0.1:${bport[$mode]}/1k.bin"
done
wrk_args_local=()
wrk_args_redis=()

# The Redis instance must be connected before anything is measured.
for _ in $(seq 100); do
  [[ $(rcli CLIENT LIST | grep -vc 'cmd=client|list') -ge 1 ]] && break
  sleep 0.1
done
for mode in local redis; do
  if ! curl -sf -o /dev/null --max-time 5 "${url[$mode]}"; then
    echo "$prog: bawwab ($mode) does not serve /1k.bin" >&2
    cat "$work/$mode.out" >&2
    exit 1
  fi
done

echo "warm-up: ${warmup}s per target" >&2
for mode in local redis; do run_wrk "$mode" "${url[$mode]}" "$warmup" >/dev/null; done
rcli CONFIG RESETSTAT >/dev/null
fallbacks0=$(metric "${sport[redis]}" bawwab_rate_limit_store_fallbacks_total)
load_before=$(loadavg)

measure_rounds "$rounds" "$duration" local redis

load_after=$(loadavg)
fallbacks=$(($(metric "${sport[redis]}" bawwab_rate_limit_store_fallbacks_total) - fallbacks0))
script_calls=$(rcli INFO commandstats | tr -d '\r' |
  awk -F'[=,:]' '/^cmdstat_(evalsha|eval):/ { n += $3 } END { print n + 0 }')

declare -A rps p99
for t in local redis; do
  rps[$t]=$(median <<<"${rps_list[$t]}")
  p99[$t]=$(median <<<"${p99_list[$t]}")
done

echo
echo "wrk -t$wrk_threads -c$wrk_conns -d${duration}s --latency, $rounds interleaved rounds" \
  "(median), 1 KB object, one limit check per request"
echo "bawwab (1 worker) pinned with '${pin_proxy[*]:-none}'; nginx, redis-server and wrk with" \
  "'${pin_load[*]:-none}'"
echo "load average before: $load_before   after: $load_after"
printf '%-8s %12s %10s %8s\n' store "req/s" "p99 ms" errors
for t in local redis; do
  printf '%-8s %12.0f %10.3f %8d\n' "$t" "${rps[$t]}" "${p99[$t]}" "${errs[$t]}"
done
echo
printf 'redis/local: req/s %sx, p99 %sx\n' "$(ratio "${rps[redis]}" "${rps[local]}")" \
  "$(ratio "${p99[redis]}" "${p99[local]}")"
echo "Redis ran the limit script $script_calls times during the rounds; bawwab's redis" \
  "instance fell back to local $fallbacks times (checks past store_timeout 50ms; should be 0)" \
  "and logged $(grep -c 'is unreachable or slow' "$work/redis.out" || true) incident(s)"
