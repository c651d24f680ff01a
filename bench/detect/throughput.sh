#!/usr/bin/env bash
# Throughput through bawwab with the shipped rules (rules/default.yaml: detection signals, score,
# rules, page limits) vs with no rules at all, side by side in one run on one machine. Target
# (issue 5): default >= 0.9x empty.
#
#   bench/detect/throughput.sh [BAWWAB_BIN]
#
# An nginx origin serves the demo site (demo/site). Three bawwab instances (one worker each, on
# the proxy CPU) stand in front of it:
#   empty     no rules
#   default   rules/default.yaml as shipped
#   raised    a copy of rules/ whose page limits (page-per-ip, page-per-prefix) are raised to
#             1000000/s, so that an article page still goes through the whole rule set and both
#             limit checks, but a benchmark's request rate is never refused or delayed
# The requests are a desktop Chrome's, byte for byte in Chrome's header order (a wrk Lua script
# sends the raw request: wrk -H would send the headers in Lua hash order, and the header-order
# signal would see a browser that is not one), so the default rules allow them:
#   asset     GET /assets/site.css as a stylesheet subresource (static-assets-allowed)
#             -> default vs empty
#   article   GET /articles/<one>.html as a navigation (pages-rate-limited: both page limits are
#             checked and pass) -> raised vs empty
# `bawwab explain` shows the decision for each request first; after the runs, the decision and
# signal counters from /metrics show what the rules did with the benchmark's requests (any
# challenge, block or 429 would make the comparison meaningless, and is printed).
# wrk -t1 -c32 in interleaved rounds after a warm-up; median req/s and p99 of each, the ratios
# default/empty, and the load average with each figure (the machine may be shared). It
# measures; it asserts nothing.
#
# Knobs (environment): DURATION=5 (s per run) ROUNDS=5 CONNS=32 THREADS=1 WARMUP=2 (s)
#                      ARTICLE=/articles/bilateral-efforts-against-cybercrime.html
#                      ASSET=/assets/site.css
set -euo pipefail

prog=throughput.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
source "$here/../common.sh"

bawwab=${1:-${BAWWAB_BIN:-$bench_root/build/bawwab}}
duration=${DURATION:-5}
rounds=${ROUNDS:-5}
warmup=${WARMUP:-2}
article=${ARTICLE:-/articles/bilateral-efforts-against-cybercrime.html}
asset=${ASSET:-/assets/site.css}
site=$bench_root/demo/site

[[ -x $bawwab ]] || { echo "$prog: bawwab binary not found at $bawwab" >&2; exit 1; }
for p in "$article" "$asset"; do
  [[ -f $site$p ]] || { echo "$prog: $site$p not found" >&2; exit 1; }
done

start_nginx_origin "$site"

# The raised copy: the same files, only the two page limits changed. Each substitution must
# apply exactly once, or the shipped file changed and this script needs a look.
cp -r "$bench_root/rules" "$work/rules-raised"
raised=$work/rules-raised/default.yaml
raise_limit() {  # raise_limit LIMIT_NAME FIELD OLD NEW: in the limit's entry only
  local name=$1 field=$2 old=$3 new=$4 before after
  before=$(md5sum <"$raised")
  sed -i "/- name: $name\$/,/- name:/ s|^\(\s*$field:\) $old\$|\1 $new|" "$raised"
  after=$(md5sum <"$raised")
  [[ $before != "$after" ]] ||
    { echo "$prog: could not raise $field of $name in $raised ($old not found)" >&2; exit 1; }
}
raise_limit page-per-ip rate 10/s 1000000/s
raise_limit page-per-ip burst 50 1000000
raise_limit page-per-prefix rate 3000/min 1000000/s
raise_limit page-per-prefix burst 1000 1000000

declare -A bport sport rules_line
rules_line[empty]=""
rules_line[default]="rules: [\"$bench_root/rules/default.yaml\"]"
rules_line[raised]="rules: [\"$raised\"]"
for inst in empty default raised; do
  free_port "bport[$inst]"
  free_port "sport[$inst]"
  bawwab_config "${bport[$inst]}" "${sport[$inst]}" "${rules_line[$inst]}" >"$work/$inst.yaml"
  start_bawwab "$inst" "$bawwab" "$work/$inst.yaml" "${bport[$inst]}"
done

# Chrome 124 on Linux over HTTP/1.1 to 127.0.0.1 (a potentially trustworthy origin, so it sends
# Sec-Fetch-* and client hints), in Chrome's order. $1 = port, $2 = path, $3 = kind.
chrome_request() {
  local port=$1 path=$2 kind=$3
  local ua='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) '
  ua+='Chrome/124.0.0.0 Safari/537.36'
  local ch='"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'
  printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: keep-alive\r\n' "$path" "$port"
  if [[ $kind == navigate ]]; then
    printf 'sec-ch-ua: %s\r\nsec-ch-ua-mobile: ?0\r\nsec-ch-ua-platform: "Linux"\r\n' "$ch"
    printf 'Upgrade-Insecure-Requests: 1\r\nUser-Agent: %s\r\n' "$ua"
    printf 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,'
    printf 'image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n'
    printf 'Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\n'
    printf 'Sec-Fetch-Dest: document\r\n'
  else
    printf 'sec-ch-ua: %s\r\nsec-ch-ua-mobile: ?0\r\nUser-Agent: %s\r\n' "$ch" "$ua"
    printf 'sec-ch-ua-platform: "Linux"\r\nAccept: text/css,*/*;q=0.1\r\n'
    printf 'Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: no-cors\r\nSec-Fetch-Dest: style\r\n'
    printf 'Referer: http://127.0.0.1:%s%s\r\n' "$port" "$article"
  fi
  printf 'Accept-Encoding: gzip, deflate, br\r\nAccept-Language: ar,en-US;q=0.9,en;q=0.8\r\n\r\n'
}

# wrk_script FILE RAW_REQUEST_FILE: a wrk script that sends exactly these bytes every time.
wrk_script() {
  local lua_text
  lua_text=$(od -An -v -tx1 <"$2" | tr -s ' \n' ' ' | sed 's/ *$//; s/^ *//; s/ /\\x/g')
  printf 'local raw = "\\x%s"\nrequest = function() return raw end\n' "$lua_text" >"$1"
}

declare -A target_inst=([asset_default]=default [asset_empty]=empty
                        [article_raised]=raised [article_empty]=empty)
declare -A target_path=([asset_default]=$asset [asset_empty]=$asset
                        [article_raised]=$article [article_empty]=$article)
targets=(asset_default asset_empty article_raised article_empty)
for t in "${targets[@]}"; do
  inst=${target_inst[$t]}
  kind=subresource
  [[ $t == article_* ]] && kind=navigate
  chrome_request "${bport[$inst]}" "${target_path[$t]}" "$kind" >"$work/$t.req"
  wrk_script "$work/$t.lua" "$work/$t.req"
  url[$t]="http://127.0.0.1:${bport[$inst]}${target_path[$t]}"
  declare -a "wrk_args_$t=(-s $work/$t.lua)"
done

# Every target answers its request with a 200 before anything is measured.
for t in "${targets[@]}"; do
  code=$( (exec 3<>"/dev/tcp/127.0.0.1/${bport[${target_inst[$t]}]}"
           sed 's/Connection: keep-alive/Connection: close/' "$work/$t.req" >&3
           head -c 12 <&3) | cut -d' ' -f2)
  if [[ $code != 200 ]]; then
    echo "$prog: $t: bawwab answered '$code', not 200" >&2
    exit 1
  fi
done

echo "== what the rules decide for each request (bawwab explain, client 127.0.0.1)"
for t in asset_default article_raised; do
  inst=${target_inst[$t]}
  echo "-- $t (${target_path[$t]})"
  "$bawwab" explain --config "$work/$inst.yaml" --request "$work/$t.req" --ip 127.0.0.1 2>&1 |
    sed 's/^/   /' | head -25
done
echo

echo "warm-up: ${warmup}s per target" >&2
for t in "${targets[@]}"; do
  run_wrk "$t" "${url[$t]}" "$warmup" -s "$work/$t.lua" >/dev/null
done
load_before=$(loadavg)

measure_rounds "$rounds" "$duration" "${targets[@]}"

load_after=$(loadavg)

declare -A rps p99
for t in "${targets[@]}"; do
  rps[$t]=$(median <<<"${rps_list[$t]}")
  p99[$t]=$(median <<<"${p99_list[$t]}")
done

echo "== what the rules did with the benchmark's requests (/metrics, all runs and warm-up)"
for inst in default raised; do
  m=$(curl -sf --max-time 5 "http://127.0.0.1:${sport[$inst]}/metrics")
  printf '%-8s decisions: %s\n' "$inst" "$(awk '/^bawwab_decisions_total\{/ && $2 > 0 {
      sub(/^bawwab_decisions_total/, ""); printf "%s=%d ", $1, $2 }' <<<"$m")"
  printf '%-8s limits:    %s\n' "$inst" "$(awk '/^bawwab_rate_limit_verdicts_total\{/ && $2 > 0 {
      sub(/^bawwab_rate_limit_verdicts_total/, ""); printf "%s=%d ", $1, $2; n++ }
      END { if (!n) printf "no request delayed, refused or banned" }' <<<"$m")"
  printf '%-8s signals:   %s\n' "$inst" "$(awk '/^bawwab_signals_total\{/ && $2 > 0 {
      sub(/^bawwab_signals_total/, ""); printf "%s=%d ", $1, $2 }' <<<"$m")"
  printf '%-8s answers:   %s\n' "$inst" "$(awk '/^bawwab_requests_total\{/ && $2 > 0 {
      sub(/^bawwab_requests_total/, ""); printf "%s=%d ", $1, $2 }' <<<"$m")"
done
echo

echo "wrk -t$wrk_threads -c$wrk_conns -d${duration}s --latency, $rounds interleaved rounds" \
  "(median), Chrome's request bytes"
echo "bawwab (1 worker each) pinned with '${pin_proxy[*]:-none}'; nginx and wrk with" \
  "'${pin_load[*]:-none}'"
echo "load average before the rounds: $load_before   after: $load_after"
printf '%-16s %-9s %12s %10s %8s\n' target rules "req/s" "p99 ms" errors
for t in "${targets[@]}"; do
  printf '%-16s %-9s %12.0f %10.3f %8d\n' "$t" "${target_inst[$t]}" "${rps[$t]}" "${p99[$t]}" \
    "${errs[$t]}"
done
echo
printf 'asset   (%s):  default/empty req/s %sx, p99 %sx\n' "$asset" \
  "$(ratio "${rps[asset_default]}" "${rps[asset_empty]}")" \
  "$(ratio "${p99[asset_default]}" "${p99[asset_empty]}")"
printf 'article (%s):  default(raised limits)/empty req/s %sx, p99 %sx\n' "$article" \
  "$(ratio "${rps[article_raised]}" "${rps[article_empty]}")" \
  "$(ratio "${p99[article_raised]}" "${p99[article_empty]}")"
echo "(target, issue 5: default >= 0.9x empty req/s)"
