# shellcheck shell=bash
# Shared by the end-to-end comparisons (bench/limits/fleet.sh, bench/detect/throughput.sh):
# process cleanup, free ports, an nginx origin, wrk runs parsed into figures, medians. Sourced,
# not run. The method is bench/throughput.sh's: the proxies on CPU 1, the origin and wrk on
# CPU 0, the same wrk settings for every target, rounds interleaved after a warm-up.
#
# The caller sets `prog` (its name, for messages) before sourcing, and `set -euo pipefail`.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

for tool in nginx wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "$prog: $tool not found" >&2; exit 1; }
done

# Pinning: proxies on CPU 1, origin and load generator on CPU 0. With one CPU nothing is pinned.
if (($(nproc) >= 2)); then
  pin_proxy=(taskset -c 1)
  pin_load=(taskset -c 0)
else
  echo "note: fewer than 2 CPUs; running unpinned" >&2
  pin_proxy=()
  pin_load=()
fi

work=$(mktemp -d /tmp/bawwab-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# free_port VAR: sets VAR to a port nothing listens on now and that no earlier call returned,
# from a range outside Linux's default ephemeral ports. (Not a python3 one-liner binding port 0:
# on a loaded machine its start-up alone takes seconds.)
declare -A taken_ports
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    [[ -n ${taken_ports[$p]:-} ]] && continue
    taken_ports[$p]=1
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      printf -v "$1" '%s' "$p"
      return
    fi
  done
}

wait_port() {  # wait_port PORT NAME PID
  for _ in $(seq 150); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || { echo "$prog: $2 exited at start" >&2; return 1; }
    sleep 0.1
  done
  echo "$prog: $2 does not listen on port $1" >&2
  return 1
}

start() {  # start NAME PORT CMD... (the command includes its pinning)
  local name=$1 port=$2
  shift 2
  "$@" >"$work/$name.out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_port "$port" "$name" "$pid" || { cat "$work/$name.out" >&2; exit 1; }
}

# start_nginx_origin ROOT: nginx (one worker, pinned with the load generator) serving ROOT;
# sets origin_port.
start_nginx_origin() {
  local root=$1 d=$work/origin user_line=""
  [[ $(id -u) -eq 0 ]] && user_line="user root;"
  free_port origin_port
  mkdir -p "$d"/{body,proxy,fastcgi,uwsgi,scgi}
  cat >"$d/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $d/body;
    proxy_temp_path $d/proxy;
    fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi;
    scgi_temp_path $d/scgi;
    server {
        listen 127.0.0.1:$origin_port backlog=4096;
        root $root;
    }
}
EOF
  start origin "$origin_port" "${pin_load[@]}" nginx -p "$d" -c "$d/nginx.conf" \
    -e "$d/error.log" -g 'daemon off;'
}

# bawwab_config PORT STATUS_PORT [EXTRA_YAML]: a one-worker bawwab in front of the origin.
bawwab_config() {
  cat <<EOF
workers: 1
listeners:
  - address: "127.0.0.1:$1"
upstreams:
  origin:
    servers: ["http://127.0.0.1:$origin_port"]
    keepalive: 64
sites:
  - hosts: ["*"]
    upstream: origin
status:
  listen: "127.0.0.1:$2"
access_log:
  path: "off"
${3:-}
EOF
}

# start_bawwab NAME BIN CONFIG_FILE PORT: checks the config, then runs bawwab on the proxy CPU.
start_bawwab() {
  local name=$1 bin=$2 conf=$3 port=$4
  "$bin" check --config "$conf" >"$work/$name.check" 2>&1 ||
    { echo "$prog: bawwab check failed for $name:" >&2; cat "$work/$name.check" >&2; exit 1; }
  start "$name" "$port" "${pin_proxy[@]}" "$bin" run --config "$conf"
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# run_wrk NAME URL SECONDS [wrk options...] -> prints "rps p99_ms errors non2xx"; the full wrk
# output is appended to $work/wrk-NAME.log.
wrk_threads=${THREADS:-1}
wrk_conns=${CONNS:-32}
run_wrk() {
  local name=$1 url=$2 secs=$3 out
  shift 3
  out=$("${pin_load[@]}" wrk -t"$wrk_threads" -c"$wrk_conns" -d"${secs}s" --latency \
    --timeout 5s "$@" "$url")
  echo "$out" >>"$work/wrk-$name.log"
  awk '
    function ms(v) {
      if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
      if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
      if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
      return v + 0
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Socket errors:/ { gsub(/,/, ""); errs = $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { non2xx = $5 }
    END { printf "%.0f %.3f %d %d\n", rps, p99, errs, non2xx }' <<<"$out"
}

median() {
  tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print 0; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# metric STATUS_PORT 'name{labels}' -> the value from bawwab's /metrics (0 when absent).
metric() {
  curl -sf --max-time 5 "http://127.0.0.1:$1/metrics" |
    awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }'
}

# measure_rounds ROUNDS SECONDS TARGET... : for each round, one wrk run per target in order.
# A target is a name (letters, digits, _) with url[NAME] and the array wrk_args_NAME (possibly
# empty) set by the caller. Fills rps_list[NAME], p99_list[NAME] and errs[NAME] (socket errors
# plus non-2xx answers).
declare -A url rps_list p99_list errs
measure_rounds() {
  local rounds=$1 secs=$2 r t rps p99 e n
  shift 2
  for t in "$@"; do rps_list[$t]=""; p99_list[$t]=""; errs[$t]=0; done
  for r in $(seq "$rounds"); do
    for t in "$@"; do
      local args="wrk_args_${t}[@]"
      read -r rps p99 e n <<<"$(run_wrk "$t" "${url[$t]}" "$secs" "${!args}")"
      printf 'round %d %-14s %8s req/s  p99 %8s ms  socket errors %d  non-2xx %d  load %s\n' \
        "$r" "$t" "$rps" "$p99" "$e" "$n" "$(loadavg)" >&2
      rps_list[$t]+="$rps "
      p99_list[$t]+="$p99 "
      errs[$t]=$((errs[$t] + e + n))
    done
  done
}
