#!/usr/bin/env bash
# bawwab as it ships against nginx, side by side in one run, unpinned (origin, proxies and wrk
# share the cores, as on a small real server):
#   bawwab       workers: auto, JSON access log to a file, the shipped rules (rules/) with only
#                the page limits and the reading budget raised, so that every check runs but
#                wrk is never refused. The request carries a pass earned by the silent proof
#                (bench/earn_pass.py): a reader's every page after the first, by the admit-by-proof
#                policy (rule challenge-passed: the pass check, the signals, the rules, three
#                limit checks)
#   before       (when BEFORE=DIR names another checkout with its build/bawwab, e.g. the previous
#                release) that binary with that checkout's rules, raised the same way, the same
#                request without the pass: the signals + rules cost then and now, side by side
#   nginx-log    nginx proxy_pass with upstream keep-alive, JSON access log to a file (buffered)
#   nginx-off    the same nginx with access_log off
# The request is a desktop Chrome navigation to one demo article (raw bytes in Chrome's header
# order, as bench/detect/throughput.sh sends it). Prints median req/s and p99 and the ratios.
# Knobs: DURATION=5 ROUNDS=3 CONNS=32 BEFORE=. It measures; it asserts nothing.
set -euo pipefail
prog=bench/shipped.sh
source "$(dirname "$0")/common.sh"
pin_proxy=()
pin_load=()
bawwab=${1:-${BAWWAB_BIN:-$bench_root/build/bawwab}}
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
article=/articles/bilateral-efforts-against-cybercrime.html

declare -A rps p99
start_nginx_origin "$bench_root/demo/site"

# raise_rules SRC DEST: a copy of the rules directory SRC whose limits never refuse wrk.
raise_rules() {
  cp -r "$1" "$2"
  local f=$2/default.yaml
  raise() { sed -i "/- name: $1\$/,/- name:/ s|^\(\s*$2:\) $3\$|\1 $4|" "$f"; }
  raise page-per-ip rate 10/s 1000000/s
  raise page-per-ip burst 50 1000000
  raise page-per-prefix rate 3000/min 1000000/s
  raise page-per-prefix burst 1000 1000000
  raise reading-per-pass rate 60/h 1000000/s
  raise reading-per-pass burst 60 1000000
}
raise_rules "$bench_root/rules" "$work/rules"
raised=$work/rules/default.yaml

free_port bport; free_port sport
cat >"$work/bawwab.yaml" <<EOF
listeners:
  - address: "127.0.0.1:$bport"
upstreams:
  origin:
    servers: ["http://127.0.0.1:$origin_port"]
    keepalive: 64
sites:
  - hosts: ["*"]
    upstream: origin
rules: ["$raised"]
status:
  listen: "127.0.0.1:$sport"
access_log:
  path: "$work/bawwab-access.log"
EOF
start_bawwab bawwab "$bawwab" "$work/bawwab.yaml" "$bport"
targets=(bawwab nginx_log nginx_off)
if [[ -n ${BEFORE:-} ]]; then
  raise_rules "$BEFORE/rules" "$work/rules-before"
  free_port beport; free_port bsport
  sed -e "s|127.0.0.1:$bport|127.0.0.1:$beport|; s|127.0.0.1:$sport|127.0.0.1:$bsport|" \
      -e "s|$raised|$work/rules-before/default.yaml|; s|bawwab-access.log|before-access.log|" \
      "$work/bawwab.yaml" >"$work/before.yaml"
  start_bawwab before "$BEFORE/build/bawwab" "$work/before.yaml" "$beport"
  targets+=(before)
fi

free_port nlog; free_port noff
d=$work/nginxproxy; mkdir -p "$d"/{body,proxy,fastcgi,uwsgi,scgi}
user_line=""; [[ $(id -u) -eq 0 ]] && user_line="user root;"
cat >"$d/nginx.conf" <<EOF
$user_line
worker_processes auto;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 4096; }
http {
    client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fastcgi;
    uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
    log_format json escape=json '{"time":"\$time_iso8601","client":"\$remote_addr","method":"\$request_method","uri":"\$request_uri","status":\$status,"bytes":\$body_bytes_sent,"ua":"\$http_user_agent","rt":\$request_time,"ut":"\$upstream_response_time"}';
    upstream origin { server 127.0.0.1:$origin_port; keepalive 64; }
    server {
        listen 127.0.0.1:$nlog backlog=4096;
        access_log $d/access.log json buffer=64k flush=1s;
        location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
    server {
        listen 127.0.0.1:$noff backlog=4096;
        access_log off;
        location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
EOF
start nginxproxy "$nlog" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" -g 'daemon off;'

ua='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36'
ch='"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'
pass=$(python3 "$bench_root/bench/earn_pass.py" "http://127.0.0.1:$bport" "$ua")
for t in "${targets[@]}"; do
  case $t in bawwab) p=$bport ;; nginx_log) p=$nlog ;; nginx_off) p=$noff ;; before) p=$beport ;; esac
  {
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: keep-alive\r\n' "$article" "$p"
    printf 'sec-ch-ua: %s\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: "Linux"\r\n' "$ch"
    printf 'Upgrade-Insecure-Requests: 1\r\nUser-Agent: %s\r\n' "$ua"
    printf 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,'
    printf 'image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n'
    printf 'Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\n'
    printf 'Sec-Fetch-Dest: document\r\n'
    printf 'Accept-Encoding: gzip, deflate, br\r\nAccept-Language: ar,en-US;q=0.9,en;q=0.8\r\n'
    [[ $t == bawwab ]] && printf 'Cookie: %s\r\n' "$pass"
    printf '\r\n'
  } >"$work/$t.req"
  hex=$(od -An -v -tx1 <"$work/$t.req" | tr -s ' \n' ' ' | sed 's/ *$//; s/^ *//; s/ /\\x/g')
  printf 'local raw = "\\x%s"\nrequest = function() return raw end\n' "$hex" >"$work/$t.lua"
  url[$t]=http://127.0.0.1:$p$article
  declare -a "wrk_args_$t=(-s $work/$t.lua)"
done
run_wrk warmup "${url[bawwab]}" 2 -s "$work/bawwab.lua" >/dev/null
measure_rounds "$rounds" "$duration" "${targets[@]}"
for t in "${targets[@]}"; do
  rps[$t]=$(median <<<"${rps_list[$t]}"); p99[$t]=$(median <<<"${p99_list[$t]}")
  printf '%-10s %8s req/s  p99 %7s ms  errors/non-2xx %d\n' "$t" "${rps[$t]}" "${p99[$t]}" "${errs[$t]}"
done
printf 'bawwab/nginx-log req/s %sx p99 %sx | bawwab/nginx-off req/s %sx p99 %sx\n' \
  "$(ratio "${rps[bawwab]}" "${rps[nginx_log]}")" "$(ratio "${p99[bawwab]}" "${p99[nginx_log]}")" \
  "$(ratio "${rps[bawwab]}" "${rps[nginx_off]}")" "$(ratio "${p99[bawwab]}" "${p99[nginx_off]}")"
if [[ -n ${BEFORE:-} ]]; then
  printf 'bawwab/before req/s %sx p99 %sx\n' "$(ratio "${rps[bawwab]}" "${rps[before]}")" \
    "$(ratio "${p99[bawwab]}" "${p99[before]}")"
fi
for log in bawwab before; do
  [[ -f $work/$log-access.log ]] || continue
  printf '%s access log: %s lines; rules: %s\n' "$log" "$(wc -l <"$work/$log-access.log")" \
    "$(grep -o '"rule":"[a-z_-]*"' "$work/$log-access.log" | sort | uniq -c | tr '\n' ' ')"
done
