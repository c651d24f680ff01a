"""The rules language through the real binary (issue 3): block (status and drop), tarpit, shadow
(per rule and global), header actions, path normalisation over the wire, the shipped AI-crawler
block, reload under steady load (zero failed requests, new rules within 1 s), a broken rules file
on reload (every error with file:line:column, old rules keep serving, /status and /metrics show
the failure) and `bawwab check` on a broken rules file.

A blocked request asserts both the answer and that the fake origin saw nothing of it."""

import os
import re
import threading
import time
import unittest

from harness import (FakeOrigin, ProxyTestCase, RawClient, PeerClosed, make_tempdir, run_cli,
                     scaled, simple_get)
from protection_support import (SHIPPED_RULES, metric, metrics, reload_and_wait,
                                start_proxy, status, write_file, proxy_config)

PAGE = """<!DOCTYPE html><html lang="ar" dir="rtl"><head><meta charset="utf-8">
<title>{{ status }} {{ reason }}</title></head><body>
<p>هذا المحتوى غير متاح.</p><p id="ref">{{ rule }}/{{ request_id }}</p><p id="path">{{ path }}</p>
</body></html>
"""

RULES = """\
pages:
  legal: legal.html
rules:
  - id: legal-page
    when: { path: { prefix: /legal/ } }
    then: { block: { status: 451, page: legal } }
  - id: admin-blocked
    when: { path: { prefix: /admin/ } }
    then: { block: { status: 403 } }
  - id: drop-it
    when: { path: /drop }
    then: { block: drop }
  - id: tarpit-it
    when: { path: /tarpit }
    then: { tarpit: { delay: 1s, status: 403 } }
  - id: shadow-block
    mode: shadow
    when: { path: { prefix: /shadowed } }
    then: [ { tag: would-block }, { block: { status: 403 } } ]
  - id: headers-set
    when: { path: { prefix: /hdr/ } }
    then:
      - { set_request_header: { name: X-Bot-Check, value: "checked" } }
      - { set_response_header: { name: X-Robots-Tag, value: "noai, noimageai" } }
  - id: articles-blocked
    when: { path: { prefix: /articles/ } }
    then: { block: { status: 451 } }
"""


def origin_saw(origin, fragment):
    """The targets the fake origin received that contain fragment."""
    with origin.lock:
        return [r.target for r in origin.requests if fragment in r.target]


class RuleActions(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.origin = FakeOrigin.start(cls)
        d = make_tempdir(cls, "bawwab-rules-")
        write_file(os.path.join(d, "legal.html"), PAGE)
        cls.rules = write_file(os.path.join(d, "site.yaml"), RULES)
        cls.proxy, cls.log = start_proxy(cls, cls.origin.url, [cls.rules])
        cls.port = cls.proxy.port

    def assert_origin_saw_nothing(self, fragment):
        time.sleep(0.1)  # a forward that raced the answer would have arrived by now
        self.assertEqual(origin_saw(self.origin, fragment), [],
                         "a blocked request reached the origin")

    def test_block_403_never_reaches_origin(self):
        before = self.origin.request_count
        r = simple_get(self.port, "/admin/secret-1", "news.test")
        self.assertEqual(r.status, 403, r)
        self.assertIn("no-store", (r.header("cache-control") or ""), r)
        self.assert_origin_saw_nothing("/admin/")
        self.assertEqual(self.origin.request_count, before)
        e = self.log.wait_path("/admin/secret-1")[0]
        self.assertEqual((e["decision"], e["rule"], e["decided_by"], e["shadow"]),
                         ("block", "admin-blocked", "rule", False), e)
        # Other paths still pass.
        self.assertEqual(simple_get(self.port, "/public", "news.test").status, 200)

    def test_block_with_a_page_template(self):
        r = simple_get(self.port, "/legal/x%3Cb%3E", "news.test")
        self.assertEqual(r.status, 451, r)
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8", r)
        self.assertIn("no-store", (r.header("cache-control") or ""), r)
        body = r.body.decode("utf-8")
        self.assertIn("<title>451 Unavailable For Legal Reasons</title>", body)
        self.assertIn("هذا المحتوى غير متاح.", body)
        e = self.log.wait_path("/legal/x%3Cb%3E")[0]
        self.assertIn('<p id="ref">legal-page/%d</p>' % e["request_id"], body)
        self.assertIn('<p id="path">/legal/x%3Cb%3E</p>', body)
        self.assertEqual(int(r.header("content-length")), len(r.body))
        self.assert_origin_saw_nothing("/legal/")

    def test_block_drop_closes_without_a_response(self):
        with RawClient(self.port) as c:
            c.send("GET /drop HTTP/1.1\r\nHost: news.test\r\n\r\n")
            closed = c.is_closed(timeout=scaled(3))
            self.assertTrue(closed, "connection not closed after block: drop")
            self.assertEqual(c.extra, b"", "block: drop sent bytes: %r" % c.extra[:200])
        self.assert_origin_saw_nothing("/drop")
        e = self.log.wait_path("/drop")[0]
        self.assertEqual((e["decision"], e["rule"]), ("block", "drop-it"), e)

    def test_tarpit_delays_then_blocks(self):
        t0 = time.monotonic()
        r = simple_get(self.port, "/tarpit", "news.test", timeout=scaled(10))
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 403, r)
        self.assertGreaterEqual(elapsed, 1.0, "tarpit answered after %.3fs (< its 1s delay)"
                                % elapsed)
        self.assertLess(elapsed, scaled(3), "tarpit took %.2fs" % elapsed)
        self.assert_origin_saw_nothing("/tarpit")
        e = self.log.wait_path("/tarpit")[0]
        self.assertEqual((e["decision"], e["rule"]), ("tarpit", "tarpit-it"), e)

    def test_tarpit_does_not_hold_up_other_clients(self):
        results = []
        t = threading.Thread(target=lambda: results.append(
            simple_get(self.port, "/tarpit", "news.test", timeout=scaled(10))))
        t.start()
        try:
            time.sleep(0.1)
            t0 = time.monotonic()
            for i in range(5):
                self.assertEqual(simple_get(self.port, "/while-tarpit-%d" % i).status, 200)
            self.assertLess(time.monotonic() - t0, scaled(0.8),
                            "a tarpitted request held up other clients")
        finally:
            t.join(timeout=scaled(10))
        self.assertEqual(results[0].status, 403)

    def test_shadow_rule_lets_the_request_through_and_logs_it(self):
        r = simple_get(self.port, "/shadowed/1", "news.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(origin_saw(self.origin, "/shadowed/1"), ["/shadowed/1"])
        e = self.log.wait_path("/shadowed/1")[0]
        # The log must say that the rule fired in shadow and what it would have done: either the
        # decision fields (shadow true, the rule) or the list of shadow hits "id:action".
        said = (e.get("shadow") is True and e.get("rule") == "shadow-block"
                and e.get("decision") == "block") \
            or "shadow-block:block" in (e.get("shadow_rules") or [])
        self.assertTrue(said, "the log line does not say the shadow rule would have blocked: %r"
                        % e)
        self.assertIn("would-block", e.get("tags") or [], e)

    def test_shadow_rule_is_counted(self):
        # Issue 3: "mode: shadow runs the rule fully, counts and logs what it would have done".
        before = metric(metrics(self.proxy), "bawwab_decisions_total", action="block",
                        mode="shadow")
        self.assertEqual(simple_get(self.port, "/shadowed/2", "news.test").status, 200)
        self.log.wait_path("/shadowed/2")
        after = metric(metrics(self.proxy), "bawwab_decisions_total", action="block",
                       mode="shadow")
        self.assertEqual(after - before, 1,
                         "a shadow rule's would-be block is not counted in "
                         "bawwab_decisions_total{action=\"block\",mode=\"shadow\"}")

    def test_set_request_and_response_headers(self):
        r = simple_get(self.port, "/hdr/x", "news.test")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header("x-robots-tag"), "noai, noimageai", r)
        reqs = [q for q in self.origin.wait_requests(1, scaled(2)) if q.target == "/hdr/x"]
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0].header_all("x-bot-check"), ["checked"], reqs[0].raw_head)

    def test_client_cannot_smuggle_the_set_request_header(self):
        # A client-sent header of the same name is replaced, not duplicated.
        r = simple_get(self.port, "/hdr/y", "news.test", headers=[("X-Bot-Check", "forged")])
        self.assertEqual(r.status, 200, r)
        req = [q for q in self.origin.wait_requests(1, scaled(2)) if q.target == "/hdr/y"][0]
        self.assertEqual(req.header_all("x-bot-check"), ["checked"], req.raw_head)

    def test_path_normalisation_over_the_wire(self):
        for target in ["/articles/x", "/%61rticles/../articles//x", "//articles/x",
                       "/articles/./x", "/news/../articles/x", "/%61%72ticles/x",
                       "/./articles/x?q=1"]:
            with self.subTest(target=target):
                r = simple_get(self.port, target, "news.test")
                self.assertEqual(r.status, 451, "%s dodged the rule on /articles/: %r"
                                 % (target, r))
        time.sleep(0.1)
        with self.origin.lock:
            leaked = [q.target for q in self.origin.requests if "rticles" in q.target
                      or "%61" in q.target]
        self.assertEqual(leaked, [], "normalisation bypass reached the origin")


class ShippedRulesBlock(ProxyTestCase):
    """The shipped rules, unchanged: an AI crawler is refused and the origin sees nothing."""

    @classmethod
    def setUpClass(cls):
        cls.origin = FakeOrigin.start(cls)
        cls.proxy, cls.log = start_proxy(cls, cls.origin.url,
                                         [os.path.join(SHIPPED_RULES, "default.yaml")])

    def test_ai_crawler_blocked_before_the_origin(self):
        for i, ua in enumerate([
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
                "+https://openai.com/gptbot)",
                "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
                "+claudebot@anthropic.com)",
                "CCBot/2.0 (https://commoncrawl.org/faq/)"]):
            with self.subTest(ua=ua):
                path = "/articles/ai-%d" % i
                r = simple_get(self.proxy.port, path, "news.test", headers=[("User-Agent", ua)])
                self.assertEqual(r.status, 403, r)
                e = self.log.wait_path(path)[0]
                self.assertEqual((e["decision"], e["rule"]), ("block", "ai-crawlers-blocked"), e)
                self.assertIn("ua.ai_crawler", e["signals"], e)
        time.sleep(0.1)
        self.assertEqual(origin_saw(self.origin, "/articles/ai-"), [],
                         "a blocked AI crawler reached the origin")

    def test_robots_txt_still_served_to_ai_crawlers(self):
        r = simple_get(self.proxy.port, "/robots.txt", "news.test",
                       headers=[("User-Agent", "GPTBot/1.2")])
        self.assertEqual(r.status, 200, r)


class GlobalShadow(ProxyTestCase):

    def test_global_shadow_lets_everything_through(self):
        origin = FakeOrigin.start(self)
        d = make_tempdir(self, "bawwab-rules-")
        write_file(os.path.join(d, "legal.html"), PAGE)
        rules = write_file(os.path.join(d, "site.yaml"), "shadow: true\n" + RULES)
        proxy, log = start_proxy(self, origin.url, [rules])
        before = metric(metrics(proxy), "bawwab_decisions_total", action="block", mode="shadow")
        for path in ("/admin/x", "/articles/y", "/tarpit"):
            t0 = time.monotonic()
            r = simple_get(proxy.port, path, "news.test")
            self.assertEqual(r.status, 200, "%s under global shadow: %r" % (path, r))
            self.assertLess(time.monotonic() - t0, 0.9, "global shadow still tarpits")
            e = log.wait_path(path)[0]
            self.assertIs(e["shadow"], True, e)
            self.assertIn(e["decision"], ("block", "tarpit"), e)
        self.assertEqual(log.wait_path("/admin/x")[0]["rule"], "admin-blocked")
        self.assertEqual(sorted(origin_saw(origin, "/")), ["/admin/x", "/articles/y", "/tarpit"])
        after = metric(metrics(proxy), "bawwab_decisions_total", action="block", mode="shadow")
        self.assertEqual(after - before, 2, "global-shadow blocks not counted as shadow")
        self.assertEqual(metric(metrics(proxy), "bawwab_decisions_total", action="block",
                                mode="enforce"), 0)


PROBE_RULES = """\
rules:
  - id: probe-%(n)d
    when: { path: /probe-%(n)d }
    then: { block: { status: 403 } }
  - id: admin-blocked
    when: { path: { prefix: /admin/ } }
    then: { block: { status: 403 } }
"""


class Reload(ProxyTestCase):

    def setUp(self):
        self.origin = FakeOrigin.start(self)
        d = make_tempdir(self, "bawwab-rules-")
        self.rules = write_file(os.path.join(d, "site.yaml"), PROBE_RULES % {"n": 0})
        self.proxy, self.log = start_proxy(self, self.origin.url, [self.rules])

    def probe(self, path):
        return simple_get(self.proxy.port, path, "news.test", timeout=scaled(5)).status

    def test_reload_under_steady_load(self):
        stop = threading.Event()
        failures = []
        counts = [0] * 4

        def client(i):
            c = None
            n = 0
            while not stop.is_set():
                try:
                    if c is None:
                        c = RawClient(self.proxy.port, timeout=scaled(5))
                    n += 1
                    r = c.request("GET /load/%d/%d HTTP/1.1\r\nHost: news.test\r\n\r\n" % (i, n))
                    if r.status != 200:
                        failures.append("conn %d: %r" % (i, r))
                    counts[i] += 1
                    if (r.header("connection") or "").lower() == "close":
                        c.close()
                        c = None
                except (OSError, PeerClosed, ValueError) as e:
                    failures.append("conn %d request %d: %r" % (i, n, e))
                    if c:
                        c.close()
                    c = None
            if c:
                c.close()

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(4)]
        for t in threads:
            t.start()
        delays = []
        try:
            time.sleep(0.3)
            for n in range(1, 6):
                self.assertEqual(self.probe("/probe-%d" % n), 200)
                write_file(self.rules, PROBE_RULES % {"n": n})
                t_hup = time.monotonic()
                st, took = reload_and_wait(self.proxy)
                t_done = time.monotonic()
                self.assertEqual(st["last_reload"]["result"], "ok", st["last_reload"])
                while self.probe("/probe-%d" % n) != 403:
                    self.assertLess(time.monotonic() - t_done, 1.0,
                                    "reload %d: the new rule not in effect 1 s after the reload "
                                    "completed" % n)
                    time.sleep(0.01)
                effect = time.monotonic()
                forwarded = len(origin_saw(self.origin, "/probe-%d" % n))
                delays.append((took, effect - t_done, effect - t_hup))
                self.assertEqual(self.probe("/probe-%d" % (n - 1)), 200,
                                 "reload %d: the removed rule still applies" % n)
                self.assertEqual(self.probe("/probe-%d" % n), 403)
                self.assertEqual(len(origin_saw(self.origin, "/probe-%d" % n)), forwarded,
                                 "a blocked probe reached the origin")
                time.sleep(0.2)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=scaled(10))
        total = sum(counts)
        print("\n  reload under load: %d requests on 4 keep-alive connections, %d failed; "
              "per reload (SIGHUP->done, done->effect, SIGHUP->effect) ms: %s"
              % (total, len(failures),
                 ", ".join("%.0f/%.0f/%.0f" % (a * 1e3, b * 1e3, c * 1e3) for a, b, c in delays)))
        self.assertEqual(failures[:10], [], "requests failed during reloads")
        self.assertGreater(total, 50, "the load threads hardly ran")
        self.assertEqual(status(self.proxy)["last_reload"]["ok_total"], 5)

    def test_broken_rules_file_keeps_old_rules(self):
        self.assertEqual(self.probe("/probe-0"), 403)
        m0 = metrics(self.proxy)
        g0 = status(self.proxy)["config"]["generation"]
        # One error of each kind, on known lines (1-based); plus a rule that would allow /probe-0.
        broken = ("rules:\n"                                                # 1
                  "  - id: allow-probe\n"                                   # 2
                  "    when: { path: /probe-0 }\n"                          # 3
                  "    then: allow\n"                                       # 4
                  "  - id: typo\n"                                          # 5
                  "    when: { path: { prefx: /a } }\n"                     # 6
                  "    then: block\n"                                       # 7
                  "  - id: bad-regex\n"                                     # 8
                  "    when: { user_agent: { regex: '(unclosed' } }\n"      # 9
                  "    then: block\n"                                       # 10
                  "  - id: bad-cidr\n"                                      # 11
                  "    when: { ip: [10.0.0.300/8] }\n"                      # 12
                  "    then: block\n"                                       # 13
                  "  - id: typo\n"                                          # 14
                  "    when: { path: /dup }\n"                              # 15
                  "    then: block\n")                                      # 16
        write_file(self.rules, broken)
        mark = self.proxy.line_count()
        st, _ = reload_and_wait(self.proxy)
        self.assertIsNone(self.proxy.proc.poll(), "bawwab exited on a broken reload")
        # Every error, each with file:line:column (stderr is collected line by line).
        name = re.escape(self.rules)
        for line, rule in ((6, "typo"), (9, "bad-regex"), (12, "bad-cidr"), (14, "typo")):
            self.proxy.wait_line(r"%s:%d:\d+: rule '%s'" % (name, line, rule), scaled(3), mark)
        # Old rules keep serving.
        for _ in range(3):
            self.assertEqual(self.probe("/probe-0"), 403, "the broken file took effect")
        self.assertEqual(self.probe("/admin/x"), 403)
        # /status shows the failure and its errors; the generation did not move.
        lr = st["last_reload"]
        self.assertEqual(lr["result"], "failed", lr)
        self.assertEqual(lr["failed_total"], 1, lr)
        errors = " ".join(str(e) for e in lr["errors"])
        for line in (6, 9, 12, 14):
            self.assertIn("site.yaml:%d:" % line, errors, lr)
        self.assertEqual(st["config"]["generation"], g0)
        # /metrics counts it.
        m1 = metrics(self.proxy)
        self.assertEqual(metric(m1, "bawwab_reloads_total", result="failed")
                         - metric(m0, "bawwab_reloads_total", result="failed"), 1)
        self.assertEqual(metric(m1, "bawwab_reloads_total", result="ok"),
                         metric(m0, "bawwab_reloads_total", result="ok"))
        # A fixed file then loads.
        write_file(self.rules, PROBE_RULES % {"n": 7})
        st, _ = reload_and_wait(self.proxy)
        self.assertEqual(st["last_reload"]["result"], "ok", st["last_reload"])
        self.assertEqual(self.probe("/probe-7"), 403)
        self.assertEqual(self.probe("/probe-0"), 200)


class CheckCommand(unittest.TestCase):

    def test_check_reports_every_rule_error(self):
        d = make_tempdir(self, "bawwab-check-")
        rules = write_file(os.path.join(d, "bad.yaml"), (
            "rules:\n"                                                  # 1
            "  - id: one\n"                                             # 2
            "    when: { path: { prefx: /a } }\n"                       # 3
            "    then: block\n"                                         # 4
            "  - id: two\n"                                             # 5
            "    when: { user_agent: { regex: '(unclosed' } }\n"        # 6
            "    then: block\n"                                         # 7
            "  - id: three\n"                                           # 8
            "    when: { signal: ua.no_such_signal }\n"                 # 9
            "    then: { rate_limit: no-such-limit }\n"                 # 10
            "  - id: four\n"                                            # 11
            "    then: { set_request_header: { name: X-A, value: \"a\\r\\nb\" } }\n"  # 12
        ))
        config = write_file(os.path.join(d, "bawwab.yaml"),
                            proxy_config("http://127.0.0.1:9", [rules]))
        out = run_cli(["check", "--config", config])
        text = out.stdout + out.stderr
        self.assertEqual(out.returncode, 1, text)
        rx = re.compile(r"^%s:(\d+):(\d+): rule '([^']+)': (.+)$" % re.escape(rules), re.M)
        found = {(int(m.group(1)), m.group(3)) for m in rx.finditer(text)}
        for line, rule in ((3, "one"), (6, "two"), (9, "three"), (10, "three"), (12, "four")):
            self.assertIn((line, rule), found, "no '%s:%d:col: rule '%s': ...' in:\n%s"
                          % (rules, line, rule, text))
        self.assertIn("did you mean 'prefix'", text)
        self.assertRegex(text, r"missing \)")  # RE2's own message

    def test_check_accepts_the_shipped_rules(self):
        d = make_tempdir(self, "bawwab-check-")
        config = write_file(os.path.join(d, "bawwab.yaml"), proxy_config(
            "http://127.0.0.1:9", [os.path.join(SHIPPED_RULES, "default.yaml")]))
        out = run_cli(["check", "--config", config])
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
