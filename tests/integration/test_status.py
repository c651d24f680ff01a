"""The status listener (/status JSON, /metrics Prometheus text, /healthz), its absence from the
public listener, and the access log (file and stderr)."""

import json
import os
import re
import time
import unittest

import requests

from harness import (Bawwab, FakeOrigin, ProxyTestCase, make_config, make_tempdir, run_cli,
                     scaled, simple_get, wait_until)

ACCESS_KEYS = ("time", "client_ip", "peer", "host", "method", "path", "status", "bytes_in",
               "bytes_out", "duration_ms", "upstream_ms", "user_agent")

# One sample line of the Prometheus text exposition format.
SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? "
                       r"(-?[0-9.]+(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)( -?[0-9]+)?$")


def find_keys(obj, pred, path=""):
    out = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = path + "/" + str(k)
            if pred(str(k)):
                out.append((p, v))
            out += find_keys(v, pred, p)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += find_keys(v, pred, "%s[%d]" % (path, i))
    return out


def parse_metrics(text):
    """({name: summed value}, [bad lines], {name: type})."""
    values, bad, types = {}, [], {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            m = re.match(r"# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$", line)
            if m:
                types[m.group(1)] = m.group(2)
            elif not line.startswith("# HELP "):
                bad.append(line)
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            bad.append(line)
            continue
        values[m.group(1)] = values.get(m.group(1), 0.0) + float(m.group(3))
    return values, bad, types


class Status(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.origin = FakeOrigin.start(cls)
        cls.dir = make_tempdir(cls)
        cls.access_log = os.path.join(cls.dir, "access.log")
        cls.proxy = Bawwab.start(cls, make_config({"o": [cls.origin.url]},
                                                  access_log=cls.access_log))
        cls.port = cls.proxy.port

    def status(self):
        r = requests.get(self.proxy.status_url("/status"), timeout=5)
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertIn("application/json", r.headers.get("content-type", ""))
        return r.json()

    def metrics(self):
        r = requests.get(self.proxy.status_url("/metrics"), timeout=5)
        self.assertEqual(r.status_code, 200, r.text[:500])
        self.assertTrue(r.headers.get("content-type", "").startswith("text/plain"),
                        r.headers.get("content-type"))
        return r.text

    def test_status_listener_on_loopback(self):
        self.assertIsNotNone(self.proxy.status_port, "no status listening line:\n"
                             + self.proxy.output())
        self.assertRegex(self.proxy.output(), r"status listening on 127\.0\.0\.1:%d"
                         % self.proxy.status_port)

    def test_healthz(self):
        r = requests.get(self.proxy.status_url("/healthz"), timeout=5)
        self.assertEqual(r.status_code, 200)

    def test_status_json_fields(self):
        for path in ("/a", "/b", "/status/404"):
            simple_get(self.port, path)
        st = self.status()
        text = json.dumps(st)
        ver = run_cli(["version"]).stdout
        self.assertIn("version", st, text[:1500])
        self.assertIn(str(st["version"]), ver, "status version %r vs `bawwab version` %r"
                      % (st["version"], ver))
        for what in ("uptime", "reload", "connection", "request", "upstream"):
            self.assertTrue(find_keys(st, lambda k, w=what: w in k.lower()),
                            "/status has no %s field: %s" % (what, text[:1500]))
        self.assertTrue(find_keys(st, lambda k: "config" in k.lower()),
                        "/status has no config (version) field: " + text[:1500])
        classes = dict(find_keys(st, lambda k: k.lower() in ("2xx", "4xx")))
        twos = [v for p, v in classes.items() if p.lower().endswith("2xx")]
        fours = [v for p, v in classes.items() if p.lower().endswith("4xx")]
        self.assertTrue(twos and max(twos) >= 2, "requests by status class: " + text[:1500])
        self.assertTrue(fours and max(fours) >= 1, "requests by status class: " + text[:1500])
        self.assertIn("127.0.0.1:%d" % self.origin.port, text,
                      "upstream server missing from /status: " + text[:1500])

    def test_uptime_moves(self):
        def uptime(st):
            vals = [v for _, v in find_keys(st, lambda k: "uptime" in k.lower())
                    if isinstance(v, (int, float))]
            self.assertTrue(vals, "no numeric uptime: %s" % json.dumps(st)[:500])
            return vals[0]
        u0 = uptime(self.status())
        time.sleep(1.1)
        self.assertGreater(uptime(self.status()), u0)

    def test_metrics_format_and_counters_move(self):
        v0, bad, types = parse_metrics(self.metrics())
        self.assertEqual(bad, [], "lines that are not Prometheus text format")
        ours = [n for n in types if n.startswith("bawwab_")]
        self.assertTrue(ours, "no bawwab_ metric families")
        for i in range(5):
            self.assertEqual(simple_get(self.port, "/m%d" % i).status, 200)
        time.sleep(0.2)
        v1, bad, _ = parse_metrics(self.metrics())
        self.assertEqual(bad, [])
        moved = {n: v1[n] - v0.get(n, 0) for n in v1
                 if n.startswith("bawwab_") and "request" in n and v1[n] - v0.get(n, 0) >= 5}
        self.assertTrue(moved, "no bawwab_*request* counter moved by 5 after 5 requests: %r"
                        % {n: v for n, v in v1.items() if n.startswith("bawwab_")})
        for n, t in types.items():
            if t == "counter" and n in v0 and n in v1:
                self.assertGreaterEqual(v1[n], v0[n], "counter %s went down" % n)

    def test_crawler_verifier_counters(self):
        """The DNS verifier's counters, in /status and as bawwab_crawler_verifier_* metrics."""
        st = self.status()
        cv = st.get("crawler_verifier")
        self.assertIsInstance(cv, dict, json.dumps(st)[:1500])
        self.assertIs(cv.get("verify_dns"), True, cv)
        keys = ("lookups", "cache_hits", "dns_started", "dns_completed", "dns_failures",
                "dns_timeouts", "dns_not_started", "dns_in_flight", "cache_entries",
                "cache_evictions")
        for k in keys:
            self.assertIsInstance(cv.get(k), int, "crawler_verifier.%s: %r" % (k, cv))
        self.assertEqual(cv["dns_started"], cv["dns_completed"] + cv["dns_in_flight"], cv)
        _, bad, types = parse_metrics(self.metrics())
        self.assertEqual(bad, [])
        for name in ("lookups_total", "cache_hits_total", "dns_started_total",
                     "dns_completed_total", "dns_failures_total", "dns_timeouts_total",
                     "dns_not_started_total", "cache_evictions_total"):
            self.assertEqual(types.get("bawwab_crawler_verifier_" + name), "counter", name)
        for name in ("dns_in_flight", "cache_entries"):
            self.assertEqual(types.get("bawwab_crawler_verifier_" + name), "gauge", name)

    def test_status_pages_absent_on_public_listener(self):
        for path in ("/status", "/metrics", "/healthz"):
            r = simple_get(self.port, path)
            from_origin = r.header("x-origin") == "fake"
            self.assertTrue(from_origin or r.status in (404, 421),
                            "%s on the public listener answered by bawwab: %r" % (path, r))
            self.assertNotIn(b"bawwab_", r.body, "metrics leaked on the public listener")

    def test_unknown_status_path_404(self):
        r = requests.get(self.proxy.status_url("/nope"), timeout=5)
        self.assertEqual(r.status_code, 404)

    def test_access_log_file_line(self):
        simple_get(self.port, "/logged?q=1", headers=[("User-Agent", "it-agent/1.0")])

        def line():
            try:
                with open(self.access_log) as f:
                    for l in f:
                        if "/logged" in l:
                            return l
            except FileNotFoundError:
                return None
        l = wait_until(line, scaled(5), 0.05, "the access log line")
        rec = json.loads(l)
        for k in ACCESS_KEYS:
            self.assertIn(k, rec, "access log line lacks %s: %s" % (k, l))
        self.assertEqual(rec["method"], "GET")
        self.assertIn(rec["path"], ("/logged?q=1", "/logged"))
        self.assertEqual(int(rec["status"]), 200)
        self.assertEqual(rec["host"], "news.test")
        self.assertEqual(rec["client_ip"], "127.0.0.1")
        self.assertRegex(str(rec["peer"]), r"^127\.0\.0\.1")
        self.assertEqual(rec["user_agent"], "it-agent/1.0")
        self.assertGreater(int(rec["bytes_out"]), 0)
        self.assertGreater(int(rec["bytes_in"]), 0)
        self.assertGreaterEqual(float(rec["duration_ms"]), float(rec["upstream_ms"]))
        self.assertTrue(rec["time"])

    def test_access_log_for_refused_request(self):
        with open(self.access_log, "a"):
            pass
        simple_get(self.port, "/refused-trace", method="TRACE")

        def line():
            with open(self.access_log) as f:
                return next((l for l in f if "/refused-trace" in l), None)
        rec = json.loads(wait_until(line, scaled(5), 0.05, "log line of a refused request"))
        self.assertEqual(int(rec["status"]), 405, rec)


class AccessLogStderr(ProxyTestCase):

    def test_access_log_to_stderr(self):
        origin = FakeOrigin.start(self)
        proxy = Bawwab.start(self, None, args=["--listen", "127.0.0.1:0", "--upstream",
                                               origin.url, "--access-log", "-"])
        simple_get(proxy.port, "/to-stderr")
        m = proxy.wait_line(r"(\{.*\"/to-stderr\".*\})", scaled(5))
        rec = json.loads(m.group(1))
        self.assertEqual(int(rec["status"]), 200)


if __name__ == "__main__":
    unittest.main()
