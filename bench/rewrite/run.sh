#!/usr/bin/env bash
# The HTML rewriter through bawwab, against passthrough in the same bawwab, side by side in one
# run (issue 10):
#   - throughput: the demo article and a 2 MB page, under a rule that inserts one snippet in the
#     head and one in the body (/rw/...), against the same files under no rule (/pt/...);
#   - time to first byte of the 2 MB page, rewritten and not (median of repeated curl runs);
#   - memory per in-flight response: N connections each ask for the 2 MB page and do not read,
#     so every response is held mid-body; bawwab's RSS growth divided by N, rewritten minus
#     passthrough (plain, then with gzip for clients that accept it);
#   - the micro-benchmark of the rewriter alone (bench_rewrite), if built.
#
#   bench/rewrite/run.sh [BAWWAB_BIN]
#
# bawwab runs as shipped in its defaults: `workers: auto`, a JSON access log to a file, unpinned
# (like a real server; origin, wrk and bawwab share the cores). The shipped rules are not loaded:
# their per-client page limit (10/s) would turn a load test into 429s; this measures the
# rewriter's cost, and bench/throughput.sh the rules'. Knobs: DURATION=5 ROUNDS=3 CONNS=16
# INFLIGHT=200 TTFB_RUNS=30. It prints figures; it asserts nothing.
set -euo pipefail
prog=bench/rewrite/run.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
source "$here/../common.sh"
# Unpinned, as shipped (common.sh pins for the proxy-vs-proxy comparisons).
pin_proxy=()
pin_load=()

bawwab=${1:-${BAWWAB_BIN:-$bench_root/build/bawwab}}
duration=${DURATION:-5}
rounds=${ROUNDS:-3}
inflight=${INFLIGHT:-200}
ttfb_runs=${TTFB_RUNS:-30}
[[ -x $bawwab ]] || { echo "$prog: bawwab binary not found at $bawwab" >&2; exit 1; }

# The site: the demo article and a 2 MB page (the article's <article> repeated), twice.
site=$work/site
mkdir -p "$site/pt" "$site/rw"
article_src=$(ls "$bench_root"/demo/site/articles/*.html | head -1)
python3 - "$article_src" "$site/pt" <<'EOF'
import re, sys
src, out = sys.argv[1], sys.argv[2]
page = open(src, encoding="utf-8").read()
open(out + "/article.html", "w", encoding="utf-8").write(page)
m = re.search(r"<article.*?</article>", page, re.S)
body = m.group(0) if m else page
head = page[:m.start()] if m else "<!doctype html><html><head></head><body>"
tail = page[m.end():] if m else "</body></html>"
reps = (2 << 20) // max(1, len(body.encode())) + 1
open(out + "/big.html", "w", encoding="utf-8").write(head + body * reps + tail)
EOF
cp "$site/pt/"* "$site/rw/"
start_nginx_origin "$site"

cat >"$work/rewrite.yaml" <<'EOF'
rules:
  - id: rewrite-bench
    when: { path: { prefix: /rw/ } }
    then:
      - insert_html: { selector: head, position: append, html: '<script src="/guard.js" defer></script>' }
      - insert_html: { selector: body, position: prepend, html: '<div id="notice" hidden></div>' }
EOF
free_port proxy_port
free_port status_port
cat >"$work/bawwab.yaml" <<EOF
listeners:
  - address: "127.0.0.1:$proxy_port"
upstreams:
  origin:
    servers: ["http://127.0.0.1:$origin_port"]
    keepalive: 64
sites:
  - hosts: ["*"]
    upstream: origin
rules: ["$work/rewrite.yaml"]
status:
  listen: "127.0.0.1:$status_port"
access_log:
  path: "$work/access.log"
EOF
start_bawwab bawwab "$bawwab" "$work/bawwab.yaml" "$proxy_port"
bawwab_pid=${pids[-1]}
base=http://127.0.0.1:$proxy_port

# The rewrite really happens (and only under /rw/).
curl -sf "$base/rw/article.html" | grep -q 'id="notice"' ||
  { echo "$prog: /rw/article.html is not rewritten" >&2; exit 1; }
curl -sf "$base/pt/article.html" | grep -q 'id="notice"' &&
  { echo "$prog: /pt/article.html is rewritten" >&2; exit 1; }

echo "== throughput: rewritten vs passthrough (wrk -t1, unpinned, bawwab workers: auto, access log on)"
for page in article big; do
  url[pt_$page]=$base/pt/$page.html
  url[rw_$page]=$base/rw/$page.html
done
declare -a wrk_args_pt_article=() wrk_args_rw_article=() wrk_args_pt_big=() wrk_args_rw_big=()
run_wrk warmup "${url[rw_article]}" 2 >/dev/null
wrk_conns=${CONNS:-16}
measure_rounds "$rounds" "$duration" pt_article rw_article
wrk_conns=4  # 2 MB pages: a few connections already fill loopback
measure_rounds "$rounds" "$duration" pt_big rw_big
for page in article big; do
  pt=$(median <<<"${rps_list[pt_$page]}")
  rw=$(median <<<"${rps_list[rw_$page]}")
  ptp=$(median <<<"${p99_list[pt_$page]}")
  rwp=$(median <<<"${p99_list[rw_$page]}")
  printf '%-8s passthrough %8s req/s p99 %7s ms | rewritten %8s req/s p99 %7s ms | ratio %s (target >= 0.85)\n' \
    "$page" "$pt" "$ptp" "$rw" "$rwp" "$(ratio "$rw" "$pt")"
done

echo "== time to first byte of the 2 MB page (median of $ttfb_runs, curl, one at a time)"
ttfb() {
  local i list=""
  for i in $(seq "$ttfb_runs"); do
    list+="$(curl -s -o /dev/null -w '%{time_starttransfer}' "$1") "
  done
  median <<<"$list"
}
t_pt=$(ttfb "$base/pt/big.html")
t_rw=$(ttfb "$base/rw/big.html")
awk -v a="$t_pt" -v b="$t_rw" 'BEGIN { printf "passthrough %.3f ms, rewritten %.3f ms, difference %+.3f ms (target within 1 ms)\n", a * 1000, b * 1000, (b - a) * 1000 }'

echo "== memory per in-flight response ($inflight connections holding the 2 MB page unread)"
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$bawwab_pid/status"; }
hold() {  # hold PATH ACCEPT_ENCODING -> RSS growth in KB while $inflight responses are held
  python3 - "$proxy_port" "$1" "$2" "$inflight" "$bawwab_pid" <<'EOF'
import socket, sys, time
port, path, ae, n, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
before = rss()
socks = []
req = ("GET %s HTTP/1.1\r\nHost: bench\r\n%s\r\n" % (path, "Accept-Encoding: %s\r\n" % ae if ae else "")).encode()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # small: bawwab's writes block soon
    s.sendall(req)
    socks.append(s)
time.sleep(2.0)
after = rss()
for s in socks:
    s.close()
time.sleep(0.5)
print(after - before)
EOF
}
hold "/pt/big.html" "" >/dev/null  # warm the allocator once
m_pt=$(hold "/pt/big.html" "")
m_rw=$(hold "/rw/big.html" "")
m_rwgz=$(hold "/rw/big.html" "gzip")
awk -v n="$inflight" -v pt="$m_pt" -v rw="$m_rw" -v gz="$m_rwgz" 'BEGIN {
  printf "RSS growth: passthrough %d KB, rewritten %d KB, rewritten+gzip %d KB\n", pt, rw, gz
  printf "per in-flight response: passthrough %.1f KB; rewritten %.1f KB extra (target <= 16 KB); rewritten+gzip %.1f KB extra\n", pt / n, (rw - pt) / n, (gz - pt) / n }'

if [[ -x $bench_root/build/bench/bench_rewrite ]]; then
  echo "== the rewriter alone (bench_rewrite)"
  "$bench_root/build/bench/bench_rewrite" --benchmark_min_time=0.2 2>/dev/null || true
fi
