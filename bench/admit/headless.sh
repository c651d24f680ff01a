#!/usr/bin/env bash
# How many articles per hour a headless Chromium loop gets through bawwab with the shipped rules
# (issue 11, admit by proof: a per-pass reading budget should cap it).
#
#   bench/admit/headless.sh [SECONDS] [normal|headless] [BAWWAB_BIN]
#
# nginx serves the demo site (demo/site); bawwab (one worker, on the proxy CPU) stands in front of
# it with rules/default.yaml exactly as shipped. One headless Chromium (one profile, JavaScript
# on, unpinned) loads article after article as fast as it can for SECONDS (default 60):
# bench/admit/headless_loop.py, which counts a load as an article when the article's body text
# is on screen, and as a challenge when an interstitial was met. Prints the page loads, articles
# obtained, challenges met, the extrapolated articles per hour, and bawwab's decision counters.
# normal (default) runs Chromium with its normal "Chrome/..." User-Agent (what a scraper would
# do); headless keeps "HeadlessChrome". It measures; it asserts nothing.
set -euo pipefail

prog=headless.sh
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
source "$here/../common.sh"

seconds=${1:-60}
mode=${2:-normal}
bawwab=${3:-${BAWWAB_BIN:-$bench_root/build/bawwab}}
[[ $seconds =~ ^[0-9]+$ ]] || { echo "$prog: SECONDS must be a whole number" >&2; exit 2; }
[[ $mode == normal || $mode == headless ]] ||
  { echo "$prog: mode is normal or headless" >&2; exit 2; }
[[ -x $bawwab ]] || { echo "$prog: bawwab binary not found at $bawwab" >&2; exit 1; }
command -v chromium >/dev/null || { echo "$prog: chromium not found" >&2; exit 1; }

start_nginx_origin "$bench_root/demo/site"
port="" status_port=""
free_port port
free_port status_port
conf=$work/bawwab.yaml  # $work: made by common.sh
bawwab_config "$port" "$status_port" "rules: [\"$bench_root/rules/default.yaml\"]" >"$conf"
start_bawwab bawwab "$bawwab" "$conf" "$port"

echo "bawwab $("$bawwab" version 2>/dev/null || echo '?'), rules/default.yaml; load $(loadavg)" >&2
/usr/bin/python3 "$here/headless_loop.py" "http://127.0.0.1:$port" "$seconds" "$mode"
echo "bawwab's decisions (/metrics):"
curl -sf --max-time 5 "http://127.0.0.1:$status_port/metrics" |
  grep -E '^bawwab_(decisions_total|challenges_total|challenge_passes_accepted_total)' |
  awk '$NF != 0 { print "  " $0 }' || true
