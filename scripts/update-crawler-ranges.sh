#!/usr/bin/env bash
# Refreshes the crawlers' published IP ranges (rules/networks/*.txt) from the operators'
# official files (JSON or plain text), one CIDR a line, so that bawwab verifies Googlebot & co.
# against today's list. Run it from cron or a systemd timer on a machine with internet access
# (daily is plenty), then reload: bawwab re-reads rule files and their networks on SIGHUP, no
# rebuild.
#
# Usage: scripts/update-crawler-ranges.sh [--dir DIR] [--only NAME]... [--from DIR] [--reload]
#                                         [--force]
#   --dir DIR    where the .txt files live (default: rules/networks next to this script;
#                installed: /etc/bawwab/rules/networks)
#   --only NAME  refresh only this one (repeatable): googlebot, bingbot, applebot, duckduckbot,
#                qwantbot, mojeekbot, marginalia, ahrefsbot, telegrambot
#   --from DIR   read DIR/NAME.json (or DIR/NAME.txt for the plain-text sources: marginalia,
#                telegrambot) instead of downloading (files fetched some other way)
#   --reload     `systemctl reload bawwab` after a change (it runs `bawwab check` first)
#   --force      accept a list less than half the size of the one it replaces
#
# Not here, because their operators publish them only on an HTML page (compare by hand):
# seznambot.txt, kagibot.txt, twitterbot.txt.
#
# Safety: each file is replaced atomically (write a temporary file, then rename), and only when
# the download is a valid list of valid, public, not absurdly wide prefixes. A failed or
# suspicious download keeps the old file, is reported, and makes the exit status 1.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir="$here/../rules/networks"
only=()
from=""
reload=0
force=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --only) only+=("$2"); shift 2 ;;
    --from) from=$2; shift 2 ;;
    --reload) reload=1; shift ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,24p' "$0"; exit 0 ;;
    *) echo "update-crawler-ranges: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ -d "$dir" ]] || { echo "update-crawler-ranges: no directory $dir" >&2; exit 2; }

# The work is in Python (Debian's python3, standard library only): download, validate, convert.
# Exit status 0: nothing failed (files changed or not); 1: at least one source failed; the names
# of the changed files are printed on stdout as "changed NAME".
set +e
changed=$(python3 - "$dir" "$force" "$from" "${only[@]}" <<'PY'
import datetime, ipaddress, json, os, sys, tempfile, urllib.request

directory, force, local = sys.argv[1], sys.argv[2] == "1", sys.argv[3]
only = set(sys.argv[4:])

# name -> (title, [(official URL, format)], tried in order, note kept in the header). Formats:
#   prefixes  Google's layout: {"creationTime": ..., "prefixes": [{"ipv4Prefix": "a.b.c.d/n"} |
#             {"ipv6Prefix": "x::/n"}, ...]}
#   ips       {"ips": [{"ip_address": "a.b.c.d"}, ...]} (Ahrefs' address list): collapsed into
#             prefixes
#   text      one address or CIDR a line; blank lines and '#' comments skipped
SOURCES = {
    "googlebot": ("Googlebot (and Google's other common crawlers)", [
        ("https://developers.google.com/static/search/apis/ipranges/googlebot.json", "prefixes"),
        # Google's newer location for the same list (2025 onwards).
        ("https://developers.google.com/static/crawling/ipranges/common-crawlers.json",
         "prefixes"),
    ], ""),
    "bingbot": ("Bingbot", [("https://www.bing.com/toolbox/bingbot.json", "prefixes")],
                "# Bing also verifies by reverse DNS (*.search.msn.com), which covers addresses "
                "missing here.\n"),
    "applebot": ("Applebot", [("https://search.developer.apple.com/applebot.json", "prefixes")],
                 "# Apple also verifies by reverse DNS (*.applebot.apple.com).\n"),
    "duckduckbot": ("DuckDuckBot", [("https://duckduckgo.com/duckduckbot.json", "prefixes")],
                    "# DuckDuckGo crawls from Azure addresses with no reverse name: this list is "
                    "the only check.\n"),
    # https://help.qwant.com/bot/ (which asks for a daily refresh).
    "qwantbot": ("Qwantbot", [
        ("https://help.qwant.com/wp-content/uploads/sites/latest/qwantbot.json", "prefixes")],
                 "# Qwant's preferred check is reverse DNS (*.qwant.com), which covers addresses "
                 "missing here.\n"),
    # https://www.mojeek.com/bot.html
    "mojeekbot": ("MojeekBot", [("https://www.mojeek.com/mojeekbot.json", "prefixes")],
                  "# Mojeek also verifies by reverse DNS (crawl-*.mojeek.com), which covers "
                  "addresses missing here.\n"),
    # https://www.marginalia.nu/marginalia-search/for-webmasters/
    "marginalia": ("Marginalia Search's crawler (User-Agent \"search.marginalia.nu\")", [
        ("https://marginalia-search.com/crawler-ips.txt", "text")],
                   "# Marginalia documents no reverse-DNS check: this list is the only one.\n"),
    # https://ahrefs.com/robot: the ranges, else the same list address by address.
    "ahrefsbot": ("AhrefsBot (Ahrefs' SEO crawler, also Yep.com's)", [
        ("https://api.ahrefs.com/v3/public/crawler-ip-ranges?output=json", "prefixes"),
        ("https://api.ahrefs.com/v3/public/crawler-ips", "ips"),
    ], "# Ahrefs documents no reverse-DNS check: this list is the only one.\n"),
    # Telegram's networks as a whole (the preview fetcher runs in them).
    "telegrambot": ("TelegramBot (Telegram's link-preview fetcher)", [
        ("https://core.telegram.org/resources/cidr.txt", "text")],
                    "# Telegram publishes these for its whole service; a request from them is "
                    "Telegram's.\n# Also verified by reverse DNS (*.ptr.telegram.org).\n"),
}
unknown = only - SOURCES.keys()
if unknown:
    print("update-crawler-ranges: unknown name(s): " + ", ".join(sorted(unknown)), file=sys.stderr)
    sys.exit(2)

def fetch(url, fmt):
    req = urllib.request.Request(url, headers={
        "User-Agent": "bawwab-update-crawler-ranges (+https://github.com/bawwab)",
        "Accept": "text/plain" if fmt == "text" else "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status != 200:
            raise ValueError(f"HTTP {resp.status}")
        return resp.read(4 * 1024 * 1024).decode("utf-8")

def entries(body, fmt):
    # The address texts of a source in its format, and its creation time if it says one.
    if fmt == "text":
        out = []
        for line in body.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                out.append(line)
        return out, "unknown"
    doc = json.loads(body)
    if fmt == "ips":
        if not isinstance(doc, dict) or not isinstance(doc.get("ips"), list):
            raise ValueError("not the expected {ips: [{ip_address: ...}]} layout")
        out = []
        for entry in doc["ips"]:
            text = entry.get("ip_address") if isinstance(entry, dict) else None
            if not isinstance(text, str):
                raise ValueError(f"unexpected entry {entry!r}")
            out.append(text)
        return out, str(doc.get("creationTime", "unknown"))
    # Google's layout, which Bing, Apple, DuckDuckGo, Qwant, Mojeek and Ahrefs use too.
    if not isinstance(doc, dict) or not isinstance(doc.get("prefixes"), list):
        raise ValueError("not the expected {creationTime, prefixes: [...]} layout")
    out = []
    for entry in doc["prefixes"]:
        text = None
        if isinstance(entry, dict):
            text = entry.get("ipv4Prefix") or entry.get("ipv6Prefix")
        if not isinstance(text, str):
            raise ValueError(f"unexpected entry {entry!r}")
        out.append(text)
    return out, str(doc.get("creationTime", "unknown"))

def prefixes(body, fmt):
    texts, created = entries(body, fmt)
    nets = set()
    for text in texts:
        net = ipaddress.ip_network(text.strip(), strict=False)  # host bits cleared
        # A crawler never needs more than a /8 (IPv4) or /19 (IPv6); a wider one is a broken or
        # hostile file that would "verify" half the internet. Same for private space.
        if net.prefixlen < (8 if net.version == 4 else 19):
            raise ValueError(f"{net} is too wide to be a crawler range")
        if not net.is_global:
            raise ValueError(f"{net} is not a public address range")
        nets.add(net)
    if not nets:
        raise ValueError("empty list")
    v4 = [n for n in nets if n.version == 4]
    v6 = [n for n in nets if n.version == 6]
    if fmt == "ips":  # thousands of single addresses: their prefixes
        v4, v6 = ipaddress.collapse_addresses(v4), ipaddress.collapse_addresses(v6)
    return sorted(v4) + sorted(v6), created

def entries_in(path):
    try:
        with open(path, encoding="utf-8") as f:
            return sum(1 for line in f if line.strip() and not line.lstrip().startswith("#"))
    except FileNotFoundError:
        return 0

failed = False
today = datetime.date.today().isoformat()
for name, (title, urls, note) in SOURCES.items():
    if only and name not in only:
        continue
    path = os.path.join(directory, name + ".txt")
    errors = []
    if local:  # the local file in each of the source's formats, in order
        urls = [(os.path.join(local, name + (".txt" if fmt == "text" else ".json")), fmt)
                for fmt in dict.fromkeys(fmt for _, fmt in urls)]
    for url, fmt in urls:
        try:
            if local:
                with open(url, encoding="utf-8") as f:
                    body = f.read()
            else:
                body = fetch(url, fmt)
            nets, created = prefixes(body, fmt)
            break
        except Exception as e:  # network, HTTP, JSON or validation: try the next URL
            errors.append(f"{url}: {e}")
    else:
        print(f"update-crawler-ranges: {name}: kept the old file: " + "; ".join(errors),
              file=sys.stderr)
        failed = True
        continue
    old = entries_in(path)
    if old and len(nets) * 2 < old and not force:
        print(f"update-crawler-ranges: {name}: kept the old file: {len(nets)} prefixes from {url} "
              f"against {old} now (run with --force if that is right)", file=sys.stderr)
        failed = True
        continue
    body = "".join(str(n) + "\n" for n in nets)
    header = (f"# {title}:\n# published IP ranges, one CIDR a line (IPv4 then IPv6).\n"
              f"# Source: {url}\n"
              f"# Fetched {today} by scripts/update-crawler-ranges.sh; creationTime {created}.\n"
              f"# Refresh with scripts/update-crawler-ranges.sh (then SIGHUP bawwab; no rebuild).\n"
              + note)
    try:
        with open(path, encoding="utf-8") as f:
            current = f.read()
    except FileNotFoundError:
        current = ""
    # Compare the ranges, not the header: a new fetch date alone is not a change to reload for.
    if [l.strip() for l in current.splitlines() if l.strip() and not l.startswith("#")] == \
            [str(n) for n in nets]:
        continue
    fd, tmp = tempfile.mkstemp(prefix="." + name + ".", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(header + body)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)  # atomic: bawwab reads either the old file or the new one
    print(f"changed {name}")
    print(f"update-crawler-ranges: {name}: {len(nets)} prefixes (was {old})", file=sys.stderr)
sys.exit(1 if failed else 0)
PY
)
status=$?
set -e

if [[ -n "$changed" ]]; then
  echo "$changed"
  if [[ $reload -eq 1 ]]; then
    systemctl reload bawwab
  else
    echo "update-crawler-ranges: reload bawwab to use them: systemctl reload bawwab" \
         "(or kill -HUP <pid>)" >&2
  fi
fi
exit $status
