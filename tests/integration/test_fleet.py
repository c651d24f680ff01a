"""Fleet mode (issue 4): two bawwab processes share rate limits through one real redis-server.

  SharedLimit     20 simultaneous requests split over two instances (workers: 2 each) against
                  one `10/s burst 5` limit on ip: 6 pass in all, as if there were one instance.
  StoreFailure    Redis SIGKILLed mid-run: with on_store_failure: local every request is still
                  answered promptly and limits fall back to each instance's own table; with
                  reject every rate-limited request gets a prompt 429. Redis SIGSTOPped (up but
                  silent): every request is answered within store_timeout plus a margin. Each
                  process logs the incident once and counts its fallbacks in /metrics.
  StoreRecovery   Redis restarted on the same port: the instances reconnect by themselves and
                  the limit is shared again.

Each class starts its own redis-server (no persistence, loopback, a free port) and kills it at
the end; tests that kill or stop it start it again on the same port in setUp. All requests come
from 127.0.0.1, so an `ip` key is one key per limit; every test flushes Redis and starts its own
bawwab processes, so no state is carried from one test to the next.

Environment: as harness.py; REDIS_SERVER overrides /usr/bin/redis-server.
"""

import os
import re
import signal
import socket
import subprocess
import threading
import time
import unittest
from datetime import datetime

import harness
from harness import (FakeOrigin, PeerClosed, ProxyTestCase, RawClient, free_port, make_tempdir,
                     scaled, wait_until)
from protection_support import metric, metrics, simultaneous, start_proxy, write_file

REDIS_SERVER = os.environ.get("REDIS_SERVER") or "/usr/bin/redis-server"

STORE_TIMEOUT_MS = 50
INCIDENT_RE = re.compile(r"limit: Redis store \S+ is unreachable or slow")
BACK_RE = re.compile(r"limit: Redis store \S+ answers again")
FALLBACKS = "bawwab_rate_limit_store_fallbacks_total"

# /lim/ is the limit under test; /run/ has a limit no test reaches, so that every request of a
# traffic run does one limit check (one Redis round trip) and is still let through.
RULES = """\
limits:
  - { name: l, key: ip, rate: 10/s, burst: 5, on_exceed: reject }
  - { name: run, key: ip, rate: 100000/s, burst: 100000, on_exceed: reject }
rules:
  - id: lim
    when: { path: { prefix: /lim/ } }
    then: { rate_limit: l }
  - id: run
    when: { path: { prefix: /run/ } }
    then: { rate_limit: run }
"""


# ------------------------------------------------------------------------------------------------
# A real redis-server.

class RedisServer:
    """redis-server on 127.0.0.1 without persistence. start() picks a free port the first time
    and reuses it afterwards (a restart "on the same port")."""

    def __init__(self, case):
        self.dir = make_tempdir(case, "bawwab-redis-")
        self.port = None
        self.proc = None
        self.starts = 0

    def start(self, timeout=None):
        attempts = 3 if self.port is None else 1  # a fresh port may be taken meanwhile
        last = ""
        for _ in range(attempts):
            port = self.port or free_port()
            self.starts += 1
            log = open(os.path.join(self.dir, "redis-%d.log" % self.starts), "w+")
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
            harness._live_processes.append(self.proc)
            try:
                wait_until(lambda: self.proc.poll() is not None or self._pong(port),
                           timeout or scaled(10), 0.01, "redis-server to answer PING")
            except AssertionError:
                pass
            log.seek(0)
            last = log.read()
            log.close()
            if self.proc.poll() is None and self._pong(port):
                self.port = port
                return self
            self.kill()
        raise RuntimeError("redis-server did not start:\n%s" % last[-2000:])

    def _pong(self, port):
        try:
            return self.command_on(port, "PING") == "PONG"
        except (OSError, ValueError):
            return False

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL (also works on a stopped process), and reap it."""
        if self.running:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)

    def command(self, *args):
        return self.command_on(self.port, *args)

    @staticmethod
    def command_on(port, *args, timeout=2.0):
        """One command in RESP; the reply as str / int / list / None."""
        with socket.create_connection((harness.LOOPBACK, port), timeout=timeout) as s:
            out = b"*%d\r\n" % len(args)
            for a in args:
                a = str(a).encode()
                out += b"$%d\r\n%s\r\n" % (len(a), a)
            s.sendall(out)
            return _resp_read(s.makefile("rb"))

    def bawwab_clients(self):
        """Connections from others than ourselves (the bawwab stores)."""
        lines = [l for l in self.command("CLIENT", "LIST").splitlines() if l.strip()]
        return [l for l in lines if "cmd=client|list" not in l and "cmd=client " not in l]


def _resp_read(f):
    line = f.readline()
    if not line.endswith(b"\r\n"):
        raise ValueError("short RESP reply %r" % line)
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise ValueError("Redis error: %s" % rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode("utf-8", "replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(f) for _ in range(n)]
    raise ValueError("unknown RESP reply %r" % line)


# ------------------------------------------------------------------------------------------------
# Requests.

class Traffic:
    """Client threads sending GETs (one connection each, Connection: close) round-robin to the
    given ports until stopped; records (proxy index, start, end, status or exception) with
    monotonic times, so that each answer's latency and its place relative to an event are known."""

    def __init__(self, ports, prefix, threads_per_port=2, timeout=None):
        self.ports = ports
        self.prefix = prefix
        self.timeout = timeout or scaled(5)
        self.records = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i % len(ports), i), daemon=True)
                        for i in range(threads_per_port * len(ports))]

    def _run(self, proxy, tid):
        n = 0
        while not self.stop_event.is_set():
            n += 1
            t0 = time.monotonic()
            try:
                with RawClient(self.ports[proxy], timeout=self.timeout) as c:
                    r = c.request("GET %s%d-%d HTTP/1.1\r\nHost: news.test\r\n"
                                  "Connection: close\r\n\r\n" % (self.prefix, tid, n))
                outcome = r.status
            except (OSError, PeerClosed, ValueError) as e:
                outcome = e
            t1 = time.monotonic()
            with self.lock:
                self.records.append((proxy, t0, t1, outcome))
            time.sleep(0.005)  # a paced stream, not a flood: latency is what is measured

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_event.set()
        for t in self.threads:
            t.join(timeout=self.timeout + scaled(5))

    def snapshot(self):
        with self.lock:
            return list(self.records)


def log_times(entries):
    return [datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for e in entries]


def ms(seconds):
    return "%.0f ms" % (seconds * 1e3)


def latency_summary(records):
    lat = sorted(t1 - t0 for _, t0, t1, _ in records)
    if not lat:
        return "no requests"
    return "n=%d median %s p99 %s max %s" % (len(lat), ms(lat[len(lat) // 2]),
                                               ms(lat[min(len(lat) - 1, int(len(lat) * 0.99))]),
                                               ms(lat[-1]))


# ------------------------------------------------------------------------------------------------

class FleetCase(ProxyTestCase):
    """A redis-server for the class; two bawwab instances per test."""

    @classmethod
    def setUpClass(cls):
        if not os.access(REDIS_SERVER, os.X_OK):
            raise unittest.SkipTest("redis-server not installed at %s" % REDIS_SERVER)
        cls.redis = RedisServer(cls)
        cls.addClassCleanup(cls.redis.kill)
        cls.redis.start()

    def setUp(self):
        if not self.redis.running:
            self.redis.start()
        self.redis.command("FLUSHALL")
        self.origin = FakeOrigin.start(self)
        d = make_tempdir(self, "bawwab-fleet-")
        self.rules = write_file(os.path.join(d, "fleet.yaml"), RULES)

    def start_fleet(self, on_failure="local", store_timeout_ms=STORE_TIMEOUT_MS, n=2):
        """n bawwab instances (workers: 2) sharing this class's Redis; waits until each of their
        2n stores is connected (Redis lists the connections and each process logged its
        connects). Returns [(Bawwab, AccessLog)]."""
        prefix = "fleet-%s:" % self._testMethodName
        extra = ("rate_limits:\n"
                 "  store: redis://127.0.0.1:%d/0\n"
                 "  key_prefix: \"%s\"\n"
                 "  store_timeout: %dms\n"
                 "  on_store_failure: %s\n"
                 "  draft_headers: true" % (self.redis.port, prefix, store_timeout_ms, on_failure))
        fleet = [start_proxy(self, self.origin.url, [self.rules], extra=extra, workers=2)
                 for _ in range(n)]
        for proxy, _ in fleet:
            wait_until(lambda: len(re.findall(r"connected to Redis store",
                                              proxy.output())) >= 2,
                       scaled(10), 0.02, "both stores of a bawwab to connect to Redis")
        self.wait_stores_connected(2 * n)
        return fleet

    def wait_stores_connected(self, n, timeout=None):
        return wait_until(lambda: len(self.redis.bawwab_clients()) >= n, timeout or scaled(10),
                          0.02, "%d bawwab connections in Redis's CLIENT LIST" % n)

    def incident_lines(self, proxy, rx=INCIDENT_RE):
        with proxy.cond:
            return [l for stream, l in proxy.lines if stream == "err" and rx.search(l)]

    def split_burst(self, fleet, tag, n=20):
        """n simultaneous /lim/ requests, alternating between the instances. Returns the per-
        instance status lists and the instances' access-log entries for them."""
        targets = [(fleet[i % len(fleet)][0].port, "/lim/%s-%d" % (tag, i)) for i in range(n)]
        results = simultaneous(targets)
        errors = [(i, r) for i, (r, _) in enumerate(results) if not hasattr(r, "status")]
        self.assertEqual(errors, [], "requests failed at the transport level")
        per = [[] for _ in fleet]
        for i, (r, _) in enumerate(results):
            per[i % len(fleet)].append(r.status)
        entries = []
        for k, (_, log) in enumerate(fleet):
            entries.append(log.wait_matching(
                lambda e: e.get("path", "").startswith("/lim/%s-" % tag), len(per[k])))
        return per, entries, max(t for _, t in results)

    def origin_count(self, prefix):
        with self.origin.lock:
            return sum(1 for r in self.origin.requests if r.target.startswith(prefix))


class SharedLimit(FleetCase):

    def test_limit_holds_across_two_instances(self):
        # A generous store timeout: this test is about sharing, and a check that fell back to
        # the local table on this loaded machine would count against the wrong limit. The
        # fallback counters are asserted 0 below, so a fallback could not hide a pass either.
        fleet = self.start_fleet(store_timeout_ms=int(scaled(1000)))
        per, entries, slowest = self.split_burst(fleet, "a")
        passed = [s.count(200) for s in per]
        rejected = [s.count(429) for s in per]
        times = log_times(entries[0] + entries[1])
        spread = max(times) - min(times)
        # GCRA in Redis with Redis's clock: 1 + burst pass at once, then one per 100 ms. Only if
        # the 20 heads reached bawwab over more than 100 ms (measured in the two access logs,
        # one clock) can a 7th pass be correct.
        allowed_extra = int(spread / 0.1)
        print("\n  fleet 10/s burst 5, 20 simultaneous over 2 instances: passed %s (total %d), "
              "429 %s; arrivals spread over %s, slowest answer %s (extra passes allowed: %d)"
              % (passed, sum(passed), rejected, ms(spread), ms(slowest), allowed_extra))
        m = [metrics(p) for p, _ in fleet]
        self.assertEqual([metric(x, FALLBACKS) for x in m], [0, 0],
                         "checks fell back to the local table: the count is not the fleet's")
        self.assertEqual(sum(passed) + sum(rejected), 20, per)
        if allowed_extra == 0:
            self.assertEqual(sum(passed), 6, "combined passes over both instances: %r" % per)
        else:
            self.assertGreaterEqual(sum(passed), 6, per)
            self.assertLessEqual(sum(passed), 6 + allowed_extra, per)
        # Each instance alone would have let 6 through (12 in all); and the state is in Redis.
        keys = self.redis.command("KEYS", "fleet-%s:*" % self._testMethodName)
        self.assertTrue(keys, "no limit key in Redis")
        time.sleep(0.1)
        self.assertEqual(self.origin_count("/lim/a-"), sum(passed), "the origin saw rejected "
                         "requests")
        for k, (proxy, _) in enumerate(fleet):
            self.assertEqual(metric(m[k], "bawwab_rate_limit_verdicts_total", verdict="reject"),
                             rejected[k])
            self.assertEqual(self.incident_lines(proxy), [], proxy.output())


class StoreFailure(FleetCase):

    # Redis down: each answer within store_timeout plus this margin (for the client threads and
    # bawwab on a loaded 2-core machine; a hang would be seconds). Printed with the measurement.
    MARGIN = scaled(0.25)

    def kill_mid_run(self, fleet, before=0.6, after=0.8):
        """Traffic on /run/ to both instances; Redis SIGKILLed after `before` seconds. Returns
        (records before the signal, records started after Redis was reaped, all records)."""
        ports = [p.port for p, _ in fleet]
        with Traffic(ports, "/run/k") as traffic:
            time.sleep(before)
            t_signal = time.monotonic()
            self.redis.kill()
            t_killed = time.monotonic()
            time.sleep(after)
        records = traffic.snapshot()
        return ([r for r in records if r[2] < t_signal], [r for r in records if r[1] > t_killed],
                records)

    def assert_prompt(self, records, bound, what):
        errors = [(p, round(t1 - t0, 3), repr(o)) for p, t0, t1, o in records
                  if not isinstance(o, int)]
        self.assertEqual(errors, [], "%s: requests without an answer" % what)
        worst = max(records, key=lambda r: r[2] - r[1])
        self.assertLessEqual(worst[2] - worst[1], bound,
                             "%s: an answer took %s (bound %s): %s"
                             % (what, ms(worst[2] - worst[1]), ms(bound),
                                latency_summary(records)))

    def test_killed_redis_falls_back_to_local_limits(self):
        fleet = self.start_fleet(on_failure="local")
        before, after, records = self.kill_mid_run(fleet)
        print("\n  Redis SIGKILLed, on_store_failure: local\n    before: %s\n    after:  %s"
              % (latency_summary(before), latency_summary(after)))
        self.assertGreater(len(before), 5, "too little traffic before the kill")
        self.assertGreater(len(after), 5, "too little traffic after the kill")
        self.assert_prompt(records, STORE_TIMEOUT_MS / 1e3 + self.MARGIN, "Redis killed")
        self.assertEqual(sorted({o for *_, o in records}), [200],
                         "the /run/ limit is never reached, locally or in Redis")

        m0 = [metrics(p) for p, _ in fleet]
        for k, (proxy, _) in enumerate(fleet):
            n_after = sum(1 for r in after if r[0] == k)
            n_all = sum(1 for r in records if r[0] == k)
            fb = metric(m0[k], FALLBACKS)
            self.assertGreaterEqual(fb, n_after, "instance %d: fallbacks not counted" % k)
            self.assertLessEqual(fb, n_all)

        # Local limits now, per instance: the 10 requests each instance gets are judged by its
        # own table, 6 pass on each (12 in all, where the fleet would pass 6).
        per, entries, slowest = self.split_burst(fleet, "b")
        passed = [s.count(200) for s in per]
        spreads = [max(log_times(e)) - min(log_times(e)) for e in entries]
        print("    20 simultaneous over 2 instances after the kill: passed %s, arrivals spread "
              "%s, slowest answer %s" % (passed, [ms(s) for s in spreads], ms(slowest)))
        for k in range(2):
            extra = int(spreads[k] / 0.1)
            self.assertGreaterEqual(passed[k], 6, per)
            self.assertLessEqual(passed[k], 6 + extra, per)
        m1 = [metrics(p) for p, _ in fleet]
        for k, (proxy, _) in enumerate(fleet):
            self.assertGreaterEqual(metric(m1[k], FALLBACKS), metric(m0[k], FALLBACKS) + 10,
                                    "instance %d: fallback counter did not increase" % k)
            lines = self.incident_lines(proxy)
            self.assertEqual(len(lines), 1, "instance %d: incident lines on stderr:\n%s\n--- "
                             "output:\n%s" % (k, "\n".join(lines), proxy.output()[-4000:]))
            self.assertIn("falling back to local limits", lines[0])

    def test_killed_redis_with_reject_gives_prompt_429s(self):
        fleet = self.start_fleet(on_failure="reject")
        m0 = [metrics(p) for p, _ in fleet]
        self.assertEqual([metric(x, FALLBACKS) for x in m0], [0, 0])
        before, after, records = self.kill_mid_run(fleet)
        during = [o for r in records if r not in before and r not in after for o in r[3:]]
        print("\n  Redis SIGKILLed, on_store_failure: reject\n    before: %s\n    after:  %s"
              "\n    in flight at the kill: %r"
              % (latency_summary(before), latency_summary(after), during))
        self.assertGreater(len(before), 5, "too little traffic before the kill")
        self.assertGreater(len(after), 5, "too little traffic after the kill")
        self.assert_prompt(records, STORE_TIMEOUT_MS / 1e3 + self.MARGIN, "Redis killed")
        self.assertEqual(sorted({o for *_, o in before}), [200], "Redis up: the /run/ limit is "
                         "never reached")
        self.assertEqual(sorted({o for *_, o in after}), [429],
                         "Redis gone, on_store_failure: reject: every limited request refused")

        per, _, slowest = self.split_burst(fleet, "r")
        self.assertEqual(per, [[429] * 10, [429] * 10], per)
        self.assertLessEqual(slowest, STORE_TIMEOUT_MS / 1e3 + self.MARGIN)
        time.sleep(0.1)
        self.assertEqual(self.origin_count("/lim/r-"), 0)
        m1 = [metrics(p) for p, _ in fleet]
        for k, (proxy, _) in enumerate(fleet):
            n_after = sum(1 for r in after if r[0] == k)
            self.assertGreaterEqual(metric(m1[k], FALLBACKS), n_after + 10,
                                    "instance %d: fallbacks not counted" % k)
            lines = self.incident_lines(proxy)
            self.assertEqual(len(lines), 1, "instance %d: incident lines on stderr:\n%s\n--- "
                             "output:\n%s" % (k, "\n".join(lines), proxy.output()[-4000:]))
            self.assertIn("rejecting rate-limited requests", lines[0])

    def test_silent_redis_costs_each_request_at_most_the_store_timeout(self):
        # SIGSTOP: the connections stay open and the kernel still accepts new ones, but nothing
        # answers: every check must end at its deadline, never wait for Redis.
        fleet = self.start_fleet(on_failure="local")
        ports = [p.port for p, _ in fleet]
        try:
            with Traffic(ports, "/run/s") as traffic:
                time.sleep(0.5)
                self.redis.pause()
                t_stopped = time.monotonic()
                time.sleep(1.8)  # past the 1 s after which a silent connection is replaced
            records = traffic.snapshot()
        finally:
            self.redis.resume()
        after = [r for r in records if r[1] > t_stopped]
        print("\n  Redis SIGSTOPped, store_timeout %d ms: %s"
              % (STORE_TIMEOUT_MS, latency_summary(after)))
        self.assertGreater(len(after), 10, "too little traffic while Redis was stopped")
        self.assert_prompt(records, STORE_TIMEOUT_MS / 1e3 + self.MARGIN, "Redis stopped")
        self.assertEqual(sorted({o for *_, o in records}), [200])
        for k, (proxy, _) in enumerate(fleet):
            n_after = sum(1 for r in after if r[0] == k)
            self.assertGreaterEqual(metric(metrics(proxy), FALLBACKS), n_after,
                                    "instance %d: fallbacks not counted" % k)
            lines = self.incident_lines(proxy)
            self.assertEqual(len(lines), 1, "instance %d: incident lines on stderr:\n%s"
                             % (k, "\n".join(lines)))


class StoreRecovery(FleetCase):

    def test_restarted_redis_shares_the_limit_again(self):
        fleet = self.start_fleet(on_failure="local")
        self.redis.kill()
        t_killed = time.monotonic()
        # The outage is seen (each instance logs it) and requests go on, locally.
        for proxy, _ in fleet:
            r = harness.simple_get(proxy.port, "/run/outage", "news.test")
            self.assertEqual(r.status, 200, r)
            wait_until(lambda: self.incident_lines(proxy), scaled(5), 0.02, "the incident line")
        time.sleep(max(0.0, 1.2 - (time.monotonic() - t_killed)))  # let a reconnect fail once
        self.redis.start()  # same port, empty
        t_started = time.monotonic()
        self.wait_stores_connected(4, timeout=scaled(15))
        t_connected = time.monotonic()
        # The store counts as up when hiredis's connect callback ran, a moment after Redis
        # accepted; then each instance's first answer ends the incident.
        time.sleep(0.1)
        m0 = [metrics(p) for p, _ in fleet]
        per, entries, slowest = self.split_burst(fleet, "c")
        m1 = [metrics(p) for p, _ in fleet]
        passed = [s.count(200) for s in per]
        times = log_times(entries[0] + entries[1])
        spread = max(times) - min(times)
        allowed_extra = int(spread / 0.1)
        fallbacks = [metric(m1[k], FALLBACKS) - metric(m0[k], FALLBACKS) for k in range(2)]
        print("\n  Redis down %s, restarted on port %d: all 4 stores reconnected %s later; "
              "20 simultaneous: passed %s (total %d), arrivals spread %s, fallbacks during the "
              "burst %s" % (ms(t_started - t_killed), self.redis.port,
                            ms(t_connected - t_started), passed, sum(passed), ms(spread),
                            fallbacks))
        # Each store retries 1 s after the loss, then 2 s later (then 4, 8): Redis back 1.2 s
        # after the kill is reached by the second attempt, 3 s after the kill.
        self.assertLessEqual(t_connected - t_started, scaled(5), "reconnected too late")
        self.assertEqual(fallbacks, [0, 0], "checks still decided locally after the reconnect")
        if allowed_extra == 0:
            self.assertEqual(sum(passed), 6, "combined passes over both instances: %r" % per)
        else:
            self.assertGreaterEqual(sum(passed), 6, per)
            self.assertLessEqual(sum(passed), 6 + allowed_extra, per)
        self.assertTrue(self.redis.command("KEYS", "fleet-%s:*" % self._testMethodName),
                        "no limit key in the restarted Redis")
        for proxy, _ in fleet:
            self.assertEqual(len(self.incident_lines(proxy)), 1, proxy.output())
            wait_until(lambda: self.incident_lines(proxy, BACK_RE), scaled(5), 0.02,
                       "the 'answers again' line")
            self.assertEqual(len(self.incident_lines(proxy, BACK_RE)), 1, proxy.output())


if __name__ == "__main__":
    unittest.main()
