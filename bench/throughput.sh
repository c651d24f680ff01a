#!/usr/bin/env bash
# Throughput of bawwab against two reference proxies, on loopback, with identical pinning.
#
#   bench/throughput.sh [BAWWAB_BIN]
#
# Starts nginx as the origin (one worker, a 1 KB static file), nginx as a reference proxy (with
# upstream keep-alive: Debian's nginx 1.22 otherwise proxies with HTTP/1.0 and a new connection
# per request, which would flatter bawwab), HAProxy 2.6 as a second reference (one thread,
# connection reuse) and bawwab (one worker). The proxies run on CPU 1; the origin and wrk share
# CPU 0 (research notes section 5). wrk runs with the same settings against each target, in
# interleaved rounds after a warm-up, and the script prints req/s and p99 for each plus the
# ratios bawwab/nginx and bawwab/haproxy. It measures; it asserts nothing.
#
# Knobs (environment): DURATION=10 (s per run) ROUNDS=3 CONNS=32 THREADS=1 WARMUP=3 (s).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bawwab=${1:-${BAWWAB_BIN:-$root/build/bawwab}}
duration=${DURATION:-10}
rounds=${ROUNDS:-3}
conns=${CONNS:-32}
threads=${THREADS:-1}
warmup=${WARMUP:-3}

for tool in nginx wrk taskset python3; do
  command -v "$tool" >/dev/null || { echo "throughput.sh: $tool not found" >&2; exit 1; }
done
[[ -x $bawwab ]] || { echo "throughput.sh: bawwab binary not found at $bawwab" >&2; exit 1; }
have_haproxy=1
command -v haproxy >/dev/null || { have_haproxy=0; echo "note: haproxy not found; skipped" >&2; }

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

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # wait_port PORT NAME PID
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || { echo "throughput.sh: $2 exited at start" >&2; return 1; }
    sleep 0.1
  done
  echo "throughput.sh: $2 does not listen on port $1" >&2
  return 1
}

origin_port=$(free_port)
nginx_port=$(free_port)
haproxy_port=$(free_port)
bawwab_port=$(free_port)
status_port=$(free_port)

user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"

# A 1 KB static object.
mkdir -p "$work/www" "$work/origin" "$work/nginxproxy"
head -c 1024 /dev/urandom >"$work/www/1k.bin"

nginx_common() {  # nginx_common DIR
  cat <<EOF
$user_line
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
EOF
}

{
  nginx_common "$work/origin"
  cat <<EOF
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $work/origin/body;
    proxy_temp_path $work/origin/proxy;
    fastcgi_temp_path $work/origin/fastcgi;
    uwsgi_temp_path $work/origin/uwsgi;
    scgi_temp_path $work/origin/scgi;
    server {
        listen 127.0.0.1:$origin_port backlog=4096;
        root $work/www;
    }
}
EOF
} >"$work/origin/nginx.conf"

{
  nginx_common "$work/nginxproxy"
  cat <<EOF
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 120s;
    client_body_temp_path $work/nginxproxy/body;
    proxy_temp_path $work/nginxproxy/proxy;
    fastcgi_temp_path $work/nginxproxy/fastcgi;
    uwsgi_temp_path $work/nginxproxy/uwsgi;
    scgi_temp_path $work/nginxproxy/scgi;
    upstream origin {
        server 127.0.0.1:$origin_port;
        keepalive 64;
        keepalive_requests 1000000;
    }
    server {
        listen 127.0.0.1:$nginx_port backlog=4096;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_buffering on;
        }
    }
}
EOF
} >"$work/nginxproxy/nginx.conf"

cat >"$work/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4000
defaults
    mode http
    option http-keep-alive
    option forwardfor
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
frontend fe
    bind 127.0.0.1:$haproxy_port
    default_backend be
backend be
    server origin 127.0.0.1:$origin_port
EOF

cat >"$work/bawwab.yaml" <<EOF
workers: 1
listeners:
  - address: "127.0.0.1:$bawwab_port"
upstreams:
  origin:
    servers: ["http://127.0.0.1:$origin_port"]
    keepalive: 64
sites:
  - hosts: ["*"]
    upstream: origin
status:
  listen: "127.0.0.1:$status_port"
access_log:
  path: "off"
EOF

start() {  # start NAME PORT PIN... -- CMD...
  local name=$1 port=$2
  shift 2
  "$@" >"$work/$name.out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  wait_port "$port" "$name" "$pid" || { cat "$work/$name.out" >&2; exit 1; }
}

for d in origin nginxproxy; do mkdir -p "$work/$d"/{body,proxy,fastcgi,uwsgi,scgi}; done
start origin "$origin_port" "${pin_load[@]}" nginx -p "$work/origin" -c "$work/origin/nginx.conf" \
  -e "$work/origin/error.log" -g 'daemon off;'
start nginx "$nginx_port" "${pin_proxy[@]}" nginx -p "$work/nginxproxy" \
  -c "$work/nginxproxy/nginx.conf" -e "$work/nginxproxy/error.log" -g 'daemon off;'
if ((have_haproxy)); then
  start haproxy "$haproxy_port" "${pin_proxy[@]}" haproxy -db -f "$work/haproxy.cfg"
fi
"$bawwab" check --config "$work/bawwab.yaml" >"$work/check.out" 2>&1 ||
  { echo "throughput.sh: bawwab check failed:" >&2; cat "$work/check.out" >&2; exit 1; }
start bawwab "$bawwab_port" "${pin_proxy[@]}" "$bawwab" run --config "$work/bawwab.yaml"

targets=(direct nginx)
((have_haproxy)) && targets+=(haproxy)
targets+=(bawwab)
declare -A port=([direct]=$origin_port [nginx]=$nginx_port [haproxy]=$haproxy_port
                 [bawwab]=$bawwab_port)

# Every target must serve the object before anything is measured.
for t in "${targets[@]}"; do
  if ! curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:${port[$t]}/1k.bin"; then
    echo "throughput.sh: $t does not serve /1k.bin" >&2
    cat "$work/$t.out" >&2 2>/dev/null || true
    exit 1
  fi
done

# run_wrk TARGET SECONDS -> prints "rps p99_ms errors non2xx"
run_wrk() {
  local out
  out=$("${pin_load[@]}" wrk -t"$threads" -c"$conns" -d"${2}s" --latency --timeout 5s \
    "http://127.0.0.1:${port[$1]}/1k.bin")
  echo "$out" >>"$work/wrk-$1.log"
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

echo "warm-up: ${warmup}s per target" >&2
for t in "${targets[@]}"; do run_wrk "$t" "$warmup" >/dev/null; done

declare -A rps_list p99_list errs
for t in "${targets[@]}"; do rps_list[$t]=""; p99_list[$t]=""; errs[$t]=0; done
for r in $(seq "$rounds"); do
  for t in "${targets[@]}"; do
    read -r rps p99 e n <<<"$(run_wrk "$t" "$duration")"
    echo "round $r $t: $rps req/s, p99 $p99 ms, socket errors $e, non-2xx $n" >&2
    rps_list[$t]+="$rps "
    p99_list[$t]+="$p99 "
    errs[$t]=$((errs[$t] + e + n))
  done
done

median() {
  tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END {
    if (NR == 0) { print 0; exit }
    if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

declare -A rps p99
for t in "${targets[@]}"; do
  rps[$t]=$(median <<<"${rps_list[$t]}")
  p99[$t]=$(median <<<"${p99_list[$t]}")
done

echo
echo "wrk -t$threads -c$conns -d${duration}s --latency, $rounds interleaved rounds" \
  "(median), 1 KB object"
echo "proxies pinned with '${pin_proxy[*]:-none}', origin and wrk with '${pin_load[*]:-none}'"
printf '%-10s %12s %10s %8s\n' target "req/s" "p99 ms" errors
for t in "${targets[@]}"; do
  printf '%-10s %12.0f %10.3f %8d\n' "$t" "${rps[$t]}" "${p99[$t]}" "${errs[$t]}"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
for ref in nginx haproxy; do
  [[ -n ${rps[$ref]:-} ]] || continue
  printf 'bawwab/%-8s req/s %sx, p99 %sx\n' "$ref:" "$(ratio "${rps[bawwab]}" "${rps[$ref]}")" \
    "$(ratio "${p99[bawwab]}" "${p99[$ref]}")"
done
echo "(target at this stage: bawwab >= 1.0x nginx req/s, p99 <= 1.2x nginx)"
