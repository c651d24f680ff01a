"""Helpers shared by the protection tests (rules, limits, detection, challenges, tuning tools):
bawwab started with rule files and a JSON access log, the log read back, /status and /metrics.

Built on harness.py; every process and temp dir is cleaned up by the test case that asked for it.
"""

import json
import os
import re
import shutil
import signal
import threading
import time
import urllib.request

from harness import (Bawwab, PeerClosed, RawClient, SOURCE_DIR, make_config, make_tempdir, scaled,
                     wait_until)

SHIPPED_RULES = os.path.join(SOURCE_DIR, "rules")

# What a current desktop Chrome on Linux sends for a top-level navigation, in its order.
CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
             "Chrome/124.0.0.0 Safari/537.36")
CHROME_HEADERS = [
    ("sec-ch-ua", '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"'),
    ("sec-ch-ua-mobile", "?0"),
    ("sec-ch-ua-platform", '"Linux"'),
    ("Upgrade-Insecure-Requests", "1"),
    ("User-Agent", CHROME_UA),
    ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
               "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"),
    ("Sec-Fetch-Site", "none"),
    ("Sec-Fetch-Mode", "navigate"),
    ("Sec-Fetch-User", "?1"),
    ("Sec-Fetch-Dest", "document"),
    ("Accept-Encoding", "gzip, deflate, br"),
    ("Accept-Language", "ar,en-US;q=0.9,en;q=0.8"),
]


def write_file(path, text):
    """Writes text atomically (rename), so a reload never reads a half-written file."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    return path


class AccessLog:
    """bawwab's JSON-lines access log, read back. Lines are written by a background thread, so
    every read that expects a line waits for it (bounded)."""

    def __init__(self, path):
        self.path = path

    def entries(self):
        try:
            with open(self.path, "r", encoding="utf-8", errors="replace") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                pass  # a line being written right now
        return out

    def mark(self):
        return len(self.entries())

    def since(self, mark):
        return self.entries()[mark:]

    def dump(self, mark=0, limit=6000):
        """The entries after mark as text (the last limit characters), for failure messages."""
        return "\n".join(json.dumps(e, ensure_ascii=False) for e in self.since(mark))[-limit:]

    def wait_for(self, pred, timeout=None, mark=0, what="an access log line"):
        """The first entry after mark for which pred holds (waits for it)."""
        def find():
            for e in self.since(mark):
                if pred(e):
                    return e
            return None
        try:
            return wait_until(find, timeout or scaled(5), 0.02, what)
        except AssertionError:
            raise AssertionError("%s not found; log since mark:\n%s"
                                 % (what, self.dump(mark)))

    def wait_matching(self, pred, n, timeout=None, what="log lines"):
        """All entries for which pred holds, once there are at least n of them."""
        def find():
            hits = [e for e in self.entries() if pred(e)]
            return hits if len(hits) >= n else None
        try:
            return wait_until(find, timeout or scaled(5), 0.02, "%d %s" % (n, what))
        except AssertionError:
            raise AssertionError("fewer than %d %s; log:\n%s" % (n, what, self.dump()))

    def wait_path(self, path, timeout=None, mark=0, n=1):
        """The entries (at least n) after mark whose path is path."""
        def find():
            hits = [e for e in self.since(mark) if e.get("path") == path]
            return hits if len(hits) >= n else None
        try:
            return wait_until(find, timeout or scaled(5), 0.02, "%d log line(s) for %s" % (n, path))
        except AssertionError:
            raise AssertionError("no %d access log line(s) for %s; log since mark:\n%s"
                                 % (n, path, self.dump(mark)))


def proxy_config(upstream_url, rules=(), extra="", access_log=None, workers=2):
    """make_config with a catch-all site, rules: [...] and the given extra YAML."""
    parts = []
    if rules:
        parts.append("rules: [%s]" % ", ".join(json.dumps(r) for r in rules))
    if extra:
        parts.append(extra)
    return make_config({"o": [upstream_url]}, access_log=access_log or "off", workers=workers,
                       extra="\n".join(parts))


def start_proxy(case, upstream_url, rules=(), extra="", workers=2, env=None):
    """bawwab with rule files and an access log in its own temp dir: (Bawwab, AccessLog)."""
    d = make_tempdir(case, "bawwab-prot-")
    log = os.path.join(d, "access.log")
    b = Bawwab.start(case, proxy_config(upstream_url, rules, extra, log, workers), tmpdir=d,
                     env=env)
    return b, AccessLog(log)


def copy_shipped_rules(case):
    """A private copy of rules/ (to edit in a test); returns the directory."""
    d = os.path.join(make_tempdir(case, "bawwab-rules-"), "rules")
    shutil.copytree(SHIPPED_RULES, d)
    return d


def http_get_text(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode("utf-8", "replace")


def status(proxy):
    return json.loads(http_get_text(proxy.status_url("/status")))


_METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)$')


def metrics(proxy):
    """{(name, ((label, value), ...sorted)): float} from /metrics."""
    out = {}
    for line in http_get_text(proxy.status_url("/metrics")).splitlines():
        m = _METRIC_RE.match(line.strip())
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(snapshot, name, **labels):
    """One value from a metrics() snapshot (0 when absent)."""
    return snapshot.get((name, tuple(sorted(labels.items()))), 0.0)


def generation(proxy):
    return status(proxy)["config"]["generation"]


def reload_and_wait(proxy, timeout=None):
    """SIGHUP, then wait until /status shows the reload finished (generation moved on, or the
    failure counter did). Returns (status document, seconds from SIGHUP to completion)."""
    st0 = status(proxy)
    g0 = st0["config"]["generation"]
    ok0 = st0["last_reload"]["ok_total"]
    failed0 = st0["last_reload"]["failed_total"]
    t0 = time.monotonic()
    proxy.send_signal(signal.SIGHUP)

    def done():
        st = status(proxy)
        lr = st["last_reload"]
        if (st["config"]["generation"] != g0 or lr["ok_total"] != ok0
                or lr["failed_total"] != failed0):
            return st
        return None
    st = wait_until(done, timeout or scaled(5), 0.005, "the reload to finish (/status)")
    return st, time.monotonic() - t0


def simultaneous(targets, extra_headers=""):
    """One GET per (port, path), each on its own connection opened beforehand, all released at
    once by a barrier. Returns [(Response or exception, seconds from release to answer)]."""
    n = len(targets)
    conns = [RawClient(port, timeout=scaled(10)) for port, _ in targets]
    barrier = threading.Barrier(n + 1)
    results = [None] * n
    t_release = [0.0]

    def one(i):
        data = ("GET %s HTTP/1.1\r\nHost: news.test\r\n%sConnection: close\r\n\r\n"
                % (targets[i][1], extra_headers)).encode()
        barrier.wait()
        try:
            r = conns[i].request(data)
        except (OSError, PeerClosed, ValueError) as e:
            r = e
        results[i] = (r, time.monotonic() - t_release[0])

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    t_release[0] = time.monotonic()
    barrier.wait()
    for t in threads:
        t.join(timeout=scaled(20))
    for c in conns:
        c.close()
    return results


def simultaneous_on(port, paths, extra_headers=""):
    """simultaneous() with every path on one port."""
    return simultaneous([(port, p) for p in paths], extra_headers)
