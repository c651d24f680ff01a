"""Rate limits through the real binary, local store (issue 4): exact GCRA counts for simultaneous
requests, the 429's headers, Expect: 100-continue on a rejected key, ban and delay, state kept
across a rules reload, and shadow limits. (The Redis fleet tests live elsewhere.)

All requests come from 127.0.0.1, so an `ip` key is one key for the whole test; each test starts
its own bawwab so that no state is shared."""

import json
import os
import time
import unittest
from datetime import datetime

from harness import (FakeOrigin, ProxyTestCase, RawClient, make_tempdir, scaled,
                     simple_get)
from protection_support import (metric, metrics, reload_and_wait, simultaneous_on,
                                start_proxy, write_file)


def limit_rules(limit_yaml, extra_rules=""):
    return ("limits:\n%s\nrules:\n"
            "  - id: limited\n"
            "    when: { path: { prefix: /lim/ } }\n"
            "    then: { rate_limit: l }\n%s" % (limit_yaml, extra_rules))


def log_spread_s(entries):
    """Seconds between the first and the last request start in access-log entries."""
    times = [datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for e in entries]
    return max(times) - min(times)


class LimitCase(ProxyTestCase):

    def start(self, rules_text, extra=""):
        self.origin = FakeOrigin.start(self)
        d = make_tempdir(self, "bawwab-limits-")
        self.rules = write_file(os.path.join(d, "limits.yaml"), rules_text)
        self.proxy, self.log = start_proxy(self, self.origin.url, [self.rules], extra=extra)
        return self.proxy

    def origin_targets(self, prefix):
        with self.origin.lock:
            return [r.target for r in self.origin.requests if r.target.startswith(prefix)]


class Reject(LimitCase):

    LIMIT = "  - { name: l, key: ip, rate: 10/s, burst: 5, on_exceed: reject }"

    def test_twenty_simultaneous_give_six_passes(self):
        proxy = self.start(limit_rules(self.LIMIT),
                           extra="rate_limits:\n  store: local\n  draft_headers: true")
        paths = ["/lim/%d" % i for i in range(20)]
        results = simultaneous_on(proxy.port, paths)
        errors = [r for r, _ in results if not hasattr(r, "status")]
        self.assertEqual(errors, [], "requests failed at the transport level")
        statuses = sorted(r.status for r, _ in results)
        passed = statuses.count(200)
        lim_entries = self.log.wait_matching(lambda x: x.get("path", "").startswith("/lim/"), 20)
        spread = log_spread_s(lim_entries)
        # GCRA: 1 + burst pass at once; one more per 100 ms of spread. On a loaded machine the 20
        # heads may reach bawwab over more than 100 ms: only then is a 7th pass correct.
        allowed_extra = int(spread / 0.1)
        print("\n  10/s burst 5, 20 simultaneous: %d passed, %d got 429; arrivals spread over "
              "%.0f ms (extra passes allowed: %d)" % (passed, statuses.count(429), spread * 1e3,
                                                       allowed_extra))
        self.assertEqual(statuses.count(429), 20 - passed, statuses)
        if allowed_extra == 0:
            self.assertEqual(passed, 6, statuses)
        else:
            self.assertGreaterEqual(passed, 6, statuses)
            self.assertLessEqual(passed, 6 + allowed_extra + 1, statuses)
        time.sleep(0.1)
        self.assertEqual(len(self.origin_targets("/lim/")), passed,
                         "the origin saw rejected requests")
        verdicts = [x.get("limit") for x in lim_entries if x["status"] == 429]
        self.assertTrue(all(v == "l:reject" for v in verdicts), verdicts)
        m = metrics(proxy)
        self.assertEqual(metric(m, "bawwab_rate_limit_verdicts_total", verdict="reject"),
                         20 - passed)

    def test_429_headers_and_size(self):
        proxy = self.start(limit_rules(self.LIMIT),
                           extra="rate_limits:\n  draft_headers: true")
        results = simultaneous_on(proxy.port, ["/lim/h%d" % i for i in range(8)])
        rejected = [r for r, _ in results if getattr(r, "status", 0) == 429]
        self.assertTrue(rejected, [r for r, _ in results])
        r = rejected[0]
        ra = r.header("retry-after")
        self.assertIsNotNone(ra, r)
        self.assertRegex(ra, r"^[0-9]+$", r)
        self.assertGreaterEqual(int(ra), 1, r)  # delta-seconds, rounded up: never 0
        self.assertLessEqual(int(ra), 2, r)
        policy = r.header("ratelimit-policy")
        self.assertIsNotNone(policy, r)
        # draft-ietf-httpapi-ratelimit-headers: a quota and a window, e.g. "l";q=..;w=..
        self.assertRegex(policy, r"q=\d+", r)
        self.assertRegex(policy, r"w=\d+", r)
        rl = r.header("ratelimit")
        self.assertIsNotNone(rl, r)
        self.assertRegex(rl, r"r=0\b", r)
        self.assertRegex(rl, r"t=\d+", r)
        self.assertIn("no-store", (r.header("cache-control") or "").lower(), r)
        self.assertLessEqual(len(r.raw_head) + len(r.body), 2048, "429 is not small: %r" % r)
        time.sleep(0.1)
        self.assertEqual(len(self.origin_targets("/lim/h")), 8 - len(rejected))

    def test_draft_headers_can_be_turned_off(self):
        proxy = self.start(limit_rules(self.LIMIT),
                           extra="rate_limits:\n  draft_headers: false")
        results = simultaneous_on(proxy.port, ["/lim/o%d" % i for i in range(8)])
        r = [r for r, _ in results if getattr(r, "status", 0) == 429][0]
        self.assertIsNotNone(r.header("retry-after"), r)
        self.assertIsNone(r.header("ratelimit-policy"), r)
        self.assertIsNone(r.header("ratelimit"), r)

    def test_expect_100_continue_rejected_without_upload(self):
        proxy = self.start(limit_rules("  - { name: l, key: ip, rate: 1/min, burst: 0 }"))
        # The key's one request.
        r = simple_get(proxy.port, "/lim/first", "news.test")
        self.assertEqual(r.status, 200, r)
        size = 256 * 1024
        with RawClient(proxy.port, timeout=scaled(5)) as c:
            c.send("POST /lim/upload HTTP/1.1\r\nHost: news.test\r\nContent-Type: "
                   "application/octet-stream\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
                   % size)
            # Read the answer before sending any byte of the body.
            first = c.read_response(method="POST", stop_at_1xx=True, timeout=scaled(3))
            self.assertEqual(first.informational, [], "a 100 Continue was sent first")
            self.assertEqual(first.status, 429, first)
            self.assertIsNotNone(first.header("retry-after"), first)
            self.assertIn("no-store", (first.header("cache-control") or "").lower())
            # Not waiting for the body: the connection is closed (or kept for another request,
            # which would not be a body).
            if (first.header("connection") or "").lower() != "close":
                r2 = c.request("GET /lim/next HTTP/1.1\r\nHost: news.test\r\n\r\n")
                self.assertEqual(r2.status, 429, r2)
        time.sleep(0.1)
        self.assertEqual(self.origin_targets("/lim/upload"), [])
        self.assertLess(self.origin.total_bytes, 4096, "the body reached the origin")


class Ban(LimitCase):

    def test_banned_key_refused_for_the_duration_then_passes(self):
        proxy = self.start(limit_rules(
            "  - { name: l, key: ip, rate: 5/s, burst: 1, on_exceed: ban,"
            " ban: { duration: 2s } }"))
        # Two at once pass (1 + burst), the third trips the ban. (5/s: the three need only
        # arrive within 200 ms of each other, which a loaded CI machine manages.)
        results = simultaneous_on(proxy.port, ["/lim/b%d" % i for i in range(3)])
        statuses = sorted(r.status for r, _ in results)
        self.assertEqual(statuses, [200, 200, 429], statuses)
        t_ban = time.monotonic()
        # At 5/s the rate alone would let a request through every 200 ms; the ban refuses all.
        during = []
        while time.monotonic() - t_ban < 1.5:
            r = simple_get(proxy.port, "/lim/during", "news.test")
            during.append(r)
            time.sleep(0.1)
        self.assertEqual(sorted({r.status for r in during}), [429],
                         "banned key let through: %r" % [r.status for r in during])
        ra = int(during[0].header("retry-after") or "0")
        self.assertIn(ra, (1, 2), during[0])
        e = self.log.wait_path("/lim/during")[0]
        self.assertEqual(e.get("limit"), "l:ban", e)
        # After the ban: passes again.
        time.sleep(max(0.0, 2.2 - (time.monotonic() - t_ban)))
        r = simple_get(proxy.port, "/lim/after", "news.test")
        self.assertEqual(r.status, 200, "still refused after the ban: %r" % r)
        self.assertGreaterEqual(metric(metrics(proxy), "bawwab_rate_limit_verdicts_total",
                                       verdict="ban"), len(during))
        self.assertEqual(self.origin_targets("/lim/during"), [])


class Delay(LimitCase):

    def test_requests_within_the_burst_are_held_not_rejected(self):
        proxy = self.start(limit_rules(
            "  - { name: l, key: ip, rate: 10/s, burst: 5, on_exceed: delay, max_delay: 2s }"))
        results = simultaneous_on(proxy.port, ["/lim/d%d" % i for i in range(7)])
        statuses = [getattr(r, "status", r) for r, _ in results]
        self.assertEqual(sorted(statuses), [200] * 6 + [429],
                         "delay mode: 6 held (1 + burst), the 7th refused: %r" % statuses)
        held = sorted(t for r, t in results if r.status == 200)
        print("\n  delay 10/s burst 5: answers after (ms) %s"
              % ", ".join("%.0f" % (t * 1e3) for t in held))
        # One at once, then one every 100 ms: the last is held about 500 ms.
        self.assertGreaterEqual(held[-1], 0.45, held)
        self.assertLess(held[-1], scaled(2.0), held)
        for i, t in enumerate(held):
            self.assertGreaterEqual(t, i * 0.1 - 0.03, "answer %d after %.3fs" % (i, t))
        time.sleep(0.1)
        self.assertEqual(len(self.origin_targets("/lim/d")), 6)
        delayed = metric(metrics(proxy), "bawwab_rate_limit_verdicts_total", verdict="delay")
        self.assertEqual(delayed, 5)


class StateAcrossReload(LimitCase):

    def test_limit_state_survives_a_rules_reload(self):
        limit = "  - { name: l, key: ip, rate: 1/min, burst: 2 }"
        proxy = self.start(limit_rules(limit))
        statuses = [simple_get(proxy.port, "/lim/s%d" % i, "news.test").status for i in range(4)]
        self.assertEqual(statuses, [200, 200, 200, 429])
        # Same limit name, other rules changed: the key stays exhausted.
        write_file(self.rules, limit_rules(limit, (
            "  - id: unrelated\n"
            "    when: { path: /unrelated }\n"
            "    then: { block: { status: 403 } }\n")))
        st, _ = reload_and_wait(proxy)
        self.assertEqual(st["last_reload"]["result"], "ok", st["last_reload"])
        self.assertEqual(simple_get(proxy.port, "/unrelated", "news.test").status, 403,
                         "the reload did not take effect")
        r = simple_get(proxy.port, "/lim/after-reload", "news.test")
        self.assertEqual(r.status, 429, "the reload reset the limit's state: %r" % r)


class Shadow(LimitCase):

    def test_shadow_limit_lets_everything_through_and_logs(self):
        proxy = self.start(limit_rules(
            "  - { name: l, key: ip, rate: 10/s, burst: 5, mode: shadow }"))
        results = simultaneous_on(proxy.port, ["/lim/x%d" % i for i in range(20)])
        statuses = [getattr(r, "status", r) for r, _ in results]
        self.assertEqual(statuses, [200] * 20)
        time.sleep(0.1)
        self.assertEqual(len(self.origin_targets("/lim/x")), 20)
        entries = self.log.wait_matching(lambda x: x.get("path", "").startswith("/lim/x"), 20)
        would = [x for x in entries if x.get("limit") == "l:reject:shadow"]
        extra = int(log_spread_s(entries) / 0.1)  # as in Reject: arrivals over > 100 ms
        self.assertGreaterEqual(len(would), 14 - extra - 1 if extra else 14,
                                "shadow verdicts not logged: %s"
                                % json.dumps([x.get("limit") for x in entries]))
        self.assertLessEqual(len(would), 14)
        self.assertTrue(all(x["status"] == 200 for x in would))
        self.assertEqual(metric(metrics(proxy), "bawwab_rate_limit_verdicts_total",
                                verdict="shadow"), len(would))
        self.assertEqual(metric(metrics(proxy), "bawwab_rate_limit_verdicts_total",
                                verdict="reject"), 0)


if __name__ == "__main__":
    unittest.main()
