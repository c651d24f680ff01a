"""Failure handling: origin down (502), origin too slow (504), passive health, an origin that
closes pooled connections, graceful stop with requests in flight, SIGHUP with a broken and with a
good config, the client header deadline (408) and the idle keep-alive timeout."""

import json
import os
import signal
import socket
import threading
import time
import unittest

import requests

from harness import (FakeOrigin, Bawwab, ProxyTestCase, RawClient, PeerClosed, make_config,
                     free_port, make_tempdir, scaled, simple_get, LOOPBACK)


def get_json(url, timeout=5):
    r = requests.get(url, timeout=timeout)
    r.raise_for_status()
    return r.json()


def find_keys(obj, pred, path=""):
    """(path, value) for every key in nested JSON for which pred(key) holds."""
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


class OriginFailures(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.dead_url = "http://%s:%d" % (LOOPBACK, free_port())  # nothing listens there
        cls.origin = FakeOrigin.start(cls)
        cls.proxy = Bawwab.start(cls, make_config(
            {"live": [cls.origin.url], "dead": [cls.dead_url],
             "mixed": [cls.dead_url, cls.origin.url]},
            sites=[(["news.test"], "live"), (["down.test"], "dead"), (["mixed.test"], "mixed")],
            timeouts={"upstream_read": "700ms", "upstream_connect": "1s"},
            upstream_opts={"mixed": {"max_fails": 1, "fail_timeout": "30s"},
                           "dead": {"max_fails": 1, "fail_timeout": "1s"}}))
        cls.port = cls.proxy.port

    def assert_html_error(self, r, status):
        self.assert_error_page(r, status)
        self.assertIn("text/html", r.header("content-type") or "", r)
        self.assertRegex(r.body.lower(), rb"<html|<!doctype html", r)

    def test_origin_down_502(self):
        for _ in range(3):  # also once the dead server is marked down
            t0 = time.monotonic()
            r = simple_get(self.port, "/x", "down.test")
            self.assert_html_error(r, 502)
            self.assertLess(time.monotonic() - t0, scaled(3), "502 took too long")
        self.assert_serves(self.port, "news.test", "/still-serving")

    def test_slow_origin_504(self):
        t0 = time.monotonic()
        r = simple_get(self.port, "/delay/3", "news.test", timeout=scaled(10))
        elapsed = time.monotonic() - t0
        self.assert_html_error(r, 504)
        self.assertLess(elapsed, scaled(2.5), "504 after %.2fs with upstream_read 700ms" % elapsed)
        self.assertGreater(elapsed, 0.5, "504 before upstream_read elapsed (%.2fs)" % elapsed)
        self.assert_serves(self.port, "news.test", "/still-serving")

    def test_slow_origin_does_not_block_others(self):
        results = []
        t = threading.Thread(target=lambda: results.append(
            simple_get(self.port, "/delay/3", "news.test", timeout=scaled(10))))
        t.start()
        try:
            t0 = time.monotonic()
            for i in range(5):
                self.assert_serves(self.port, "news.test", "/quick%d" % i)
            self.assertLess(time.monotonic() - t0, scaled(1.5))
        finally:
            t.join(timeout=scaled(10))
        self.assertEqual(results[0].status, 504, results)

    def test_passive_health_skips_dead_server(self):
        statuses = [simple_get(self.port, "/m%d" % i, "mixed.test").status for i in range(10)]
        self.assertEqual(statuses, [200] * 10,
                         "group [dead, live]: not every request succeeded")
        st = get_json(self.proxy.status_url())
        text = json.dumps(st)
        self.assertIn(self.dead_url.split("//")[1], text,
                      "/status does not list the dead upstream server: %s" % text[:1500])


class GracefulStop(ProxyTestCase):

    def start_proxy(self):
        self.origin = FakeOrigin.start(self)
        return Bawwab.start(self, make_config({"o": [self.origin.url]},
                                              timeouts={"drain": "10s"}))

    def test_sigterm_drains_in_flight_requests(self):
        proxy = self.start_proxy()
        n = 6
        results = [None] * n

        def one(i):
            try:
                results[i] = simple_get(proxy.port, "/delay/2", "news.test", timeout=scaled(15))
            except Exception as e:  # reported below
                results[i] = e

        idle = RawClient(proxy.port)
        self.addCleanup(idle.close)
        self.assertEqual(idle.request("GET /idle HTTP/1.1\r\nHost: news.test\r\n\r\n").status,
                         200)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        self.origin.wait_requests(n + 1, scaled(5))
        t_term = time.monotonic()
        proxy.send_signal(signal.SIGTERM)

        refused_at = None
        deadline = time.monotonic() + scaled(1.5)
        while time.monotonic() < deadline:
            try:
                s = socket.create_connection((LOOPBACK, proxy.port), timeout=0.5)
                s.close()
            except ConnectionRefusedError:
                refused_at = time.monotonic() - t_term
                break
            except OSError:
                pass
            time.sleep(0.05)
        self.assertTrue(idle.is_closed(timeout=scaled(3)),
                        "idle keep-alive connection not closed on SIGTERM")
        for t in threads:
            t.join(timeout=scaled(15))
        code = proxy.wait_exit(scaled(12))
        bad = [r for r in results if not (hasattr(r, "status") and r.status == 200
                                           and r.body == b"delayed 2")]
        self.assertEqual(bad, [], "in-flight requests not completed on SIGTERM")
        self.assertIsNotNone(refused_at, "new connections still accepted after SIGTERM")
        self.assertEqual(code, 0, "exit code after SIGTERM; output:\n" + proxy.output())

    def test_sigint_exits_zero(self):
        proxy = self.start_proxy()
        self.assert_serves(proxy.port)
        proxy.send_signal(signal.SIGINT)
        self.assertEqual(proxy.wait_exit(scaled(10)), 0, proxy.output())


GOOD_TEMPLATE = """\
workers: 2
listeners:
  - address: "127.0.0.1:0"
upstreams:
  o:
    servers: ["%(url)s"]
sites:
  - hosts: ["*"]
    upstream: o
status:
  listen: "127.0.0.1:0"
access_log:
  path: "off"
"""


class Reload(ProxyTestCase):

    def setUp(self):
        self.a = FakeOrigin.start(self, name="A")
        self.b = FakeOrigin.start(self, name="B")
        self.proxy = Bawwab.start(self, GOOD_TEMPLATE % {"url": self.a.url})

    def served_by(self):
        r = simple_get(self.proxy.port, "/which", "news.test")
        self.assertEqual(r.status, 200, r)
        return r.header("x-origin")

    def reload_info(self):
        """(/status document, the last reload's result as text: "ok", "failed", ...)."""
        st = get_json(self.proxy.status_url())
        found = find_keys(st, lambda k: "reload" in k.lower())
        self.assertTrue(found, "/status has no reload field: %s" % json.dumps(st)[:1500])
        value = found[0][1]
        if isinstance(value, dict):
            for key in ("result", "status", "outcome", "ok", "success"):
                if key in value:
                    return st, json.dumps(value[key]).lower(), value
            self.fail("/status reload field has no result: %s" % json.dumps(value))
        return st, json.dumps(value).lower(), value

    def config_version(self, st):
        found = find_keys(st, lambda k: "version" in k.lower() and "config" in k.lower())
        if not found:
            cfg = st.get("config")
            if isinstance(cfg, dict):
                found = find_keys(cfg, lambda k: k.lower() in ("version", "generation"))
        self.assertTrue(found, "/status has no config version: %s" % json.dumps(st)[:1500])
        return json.dumps(found[0][1])

    def test_sighup_broken_config_keeps_old(self):
        self.assertEqual(self.served_by(), "A")
        st0, _, _ = self.reload_info()
        v0 = self.config_version(st0)
        broken = GOOD_TEMPLATE % {"url": self.b.url} + "timeouts:\n  client_header: banana\n"
        bad_line = broken.splitlines().index("  client_header: banana") + 1
        self.proxy.write_config(broken)
        mark = self.proxy.line_count()
        self.proxy.send_signal(signal.SIGHUP)
        m = self.proxy.wait_line(r"bawwab\.yaml:(\d+):(\d+):", scaled(5), start=mark)
        self.assertEqual(int(m.group(1)), bad_line, "error reported at the wrong line: "
                         + m.group(0))
        for _ in range(5):
            self.assertEqual(self.served_by(), "A", "broken config took effect")
        self.assertIsNone(self.proxy.proc.poll(), "bawwab exited on a broken reload")
        st, result, detail = self.reload_info()
        self.assertRegex(result, r"fail|error|invalid|false",
                         "/status does not show the failed reload: %s" % json.dumps(detail))
        if isinstance(detail, dict) and "errors" in detail:
            self.assertIn(":%d:" % bad_line, json.dumps(detail["errors"]),
                          "/status reload errors lack file:line:column")
        self.assertEqual(self.config_version(st), v0, "config version moved on a failed reload")

    def test_sighup_good_config_takes_effect_without_errors(self):
        self.assertEqual(self.served_by(), "A")
        st0, _, _ = self.reload_info()
        v0 = self.config_version(st0)
        errors = []
        stop = threading.Event()

        def load():
            with RawClient(self.proxy.port) as keep:
                while not stop.is_set():
                    try:
                        r = simple_get(self.proxy.port, "/load", "news.test")
                        r2 = keep.request("GET /load-ka HTTP/1.1\r\nHost: news.test\r\n\r\n")
                        for x in (r, r2):
                            if x.status != 200:
                                errors.append(x)
                    except (OSError, PeerClosed, ValueError) as e:
                        errors.append(e)
                        return

        t = threading.Thread(target=load)
        t.start()
        try:
            time.sleep(0.3)
            self.proxy.write_config(GOOD_TEMPLATE % {"url": self.b.url})
            self.proxy.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + scaled(3)
            while self.served_by() != "B":
                self.assertLess(time.monotonic(), deadline, "new config not in effect: output:\n"
                                + self.proxy.output())
                time.sleep(0.05)
            time.sleep(0.3)
        finally:
            stop.set()
            t.join(timeout=scaled(10))
        self.assertEqual(errors, [], "requests failed around the reload")
        st, result, detail = self.reload_info()
        self.assertRegex(result, r"ok|success|true", "last reload: %s" % json.dumps(detail))
        self.assertNotEqual(self.config_version(st), v0, "config version unchanged after reload")


class ClientTimeouts(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.origin = FakeOrigin.start(cls)
        cls.proxy = Bawwab.start(cls, make_config(
            {"o": [cls.origin.url]}, timeouts={"client_header": "1s", "client_idle": "1s"}))
        cls.port = cls.proxy.port

    def test_header_timeout_408(self):
        before = self.origin.total_bytes
        with RawClient(self.port) as c:
            t0 = time.monotonic()
            c.send("GET / HTTP/1.1\r\nHost: news.test\r\n")
            r = c.read_response(timeout=scaled(6))
            elapsed = time.monotonic() - t0
            self.assert_error_page(r, 408)
            self.assertGreater(elapsed, 0.8, "408 too early")
            self.assertLess(elapsed, scaled(3), "408 too late (%.1fs)" % elapsed)
            self.assert_closed(c, "408")
        self.assertEqual(self.origin.total_bytes, before, "incomplete head reached origin")
        self.assert_serves(self.port)

    def test_slowloris_dribble_cut_at_header_deadline(self):
        """The deadline covers the whole head, not each read."""
        with RawClient(self.port) as c:
            t0 = time.monotonic()
            c.send("GET / HTTP/1.1\r\n")
            got = None
            while time.monotonic() - t0 < scaled(6):
                c.send("X-A: b\r\n")
                c.sock.settimeout(0.25)
                try:
                    data = c.sock.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    got = b""
                    break
                got = data
                break
            elapsed = time.monotonic() - t0
        self.assertIsNotNone(got, "a client dribbling header bytes was never cut off")
        self.assertLess(elapsed, scaled(3), "dribbling client cut only after %.1fs" % elapsed)
        if got:
            self.assertRegex(got, rb"^HTTP/1\.[01] 408", got[:200])

    def test_idle_keepalive_closed(self):
        with RawClient(self.port) as c:
            r = c.request("GET / HTTP/1.1\r\nHost: news.test\r\n\r\n")
            self.assertEqual(r.status, 200, r)
            t0 = time.monotonic()
            self.assertTrue(c.is_closed(timeout=scaled(5)),
                            "idle keep-alive connection not closed")
            elapsed = time.monotonic() - t0
            self.assertGreater(elapsed, 0.8, "idle connection closed too early")
            self.assertEqual(c.extra, b"", "bytes sent on an idle connection")


class UpstreamIdleRace(ProxyTestCase):
    """The origin closes idle keep-alive connections after 0.3 s (like keepalive_timeout):
    a GET on a pooled connection that the origin closed still succeeds and a POST is never
    sent twice."""

    def test_origin_closing_pooled_connections(self):
        origin = FakeOrigin.start(self, idle_close=0.3)
        proxy = Bawwab.start(self, make_config({"o": [origin.url]}, workers=1))
        with RawClient(proxy.port) as c:
            for i in range(3):
                r = c.request("GET /g%d HTTP/1.1\r\nHost: news.test\r\n\r\n" % i)
                self.assertEqual(r.status, 200, "GET after the origin closed the pooled "
                                 "connection: %r" % r)
                time.sleep(0.6)
            before = origin.request_count
            r = c.request("POST /upload HTTP/1.1\r\nHost: news.test\r\nContent-Length: 5\r\n"
                          "\r\nhello")
            self.assertIn(r.status, (200, 502), r)
        time.sleep(0.3)
        posts = [q for q in origin.requests[before:] if q.method == "POST"]
        self.assertLessEqual(len(posts), 1, "POST sent to the origin %d times" % len(posts))
        if r.status == 200:
            self.assertEqual(len(posts), 1)


class SystemdNotify(ProxyTestCase):
    """What systemd/bawwab.service relies on (Type=notify, WatchdogSec): READY=1 once serving,
    RELOADING=1 + MONOTONIC_USEC then READY=1 around SIGHUP, WATCHDOG=1 pings, STOPPING=1 on
    SIGTERM; observed on a fake NOTIFY_SOCKET."""

    def test_sd_notify_messages(self):
        d = make_tempdir(self)
        path = os.path.join(d, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        sock.bind(path)
        sock.settimeout(0.2)
        messages = []

        def drain_until(pred, timeout):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    messages.append(sock.recv(4096).decode())
                except socket.timeout:
                    pass
                if pred():
                    return True
            return False

        origin = FakeOrigin.start(self)
        proxy = Bawwab.start(self, make_config({"o": [origin.url]}),
                             env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "1000000"})
        self.assertTrue(drain_until(lambda: any("READY=1" in m for m in messages), scaled(3)),
                        "no READY=1: %r" % messages)
        self.assert_serves(proxy.port)
        self.assertTrue(drain_until(lambda: any("WATCHDOG=1" in m for m in messages),
                                    scaled(3)), "no WATCHDOG=1 with WATCHDOG_USEC=1s: %r"
                        % messages)
        n = len(messages)
        proxy.send_signal(signal.SIGHUP)
        self.assertTrue(drain_until(lambda: any("READY=1" in m for m in messages[n:]), scaled(5)),
                        "no READY=1 after SIGHUP: %r" % messages[n:])
        reloading = [m for m in messages[n:] if "RELOADING=1" in m]
        self.assertTrue(reloading and "MONOTONIC_USEC=" in reloading[0],
                        "no RELOADING=1 with MONOTONIC_USEC: %r" % messages[n:])
        n = len(messages)
        proxy.send_signal(signal.SIGTERM)
        self.assertTrue(drain_until(lambda: any("STOPPING=1" in m for m in messages[n:]),
                                    scaled(5)), "no STOPPING=1: %r" % messages[n:])
        self.assertEqual(proxy.wait_exit(scaled(10)), 0, proxy.output())


if __name__ == "__main__":
    unittest.main()
