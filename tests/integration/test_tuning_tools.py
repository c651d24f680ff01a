"""The tuning tools through the real binary (issue 3): `bawwab explain` (flags and a raw request
file, exit codes) and `bawwab replay` over an access log written by a real run, against the
recorded decisions and against another config (--against)."""

import os
import re
import shutil
import subprocess
import time
import unittest

from harness import BAWWAB_BIN, FakeOrigin, RawClient, make_tempdir, run_cli, scaled
from protection_support import (CHROME_HEADERS, SHIPPED_RULES, copy_shipped_rules,
                                proxy_config, start_proxy, write_file)

GPTBOT_UA = ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; "
             "+https://openai.com/gptbot)")


def decision_line(text):
    m = re.search(r"^decision: (.*)$", text, re.M)
    return m.group(1) if m else None


class Explain(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = make_tempdir(cls, "bawwab-explain-")
        cls.config = write_file(os.path.join(cls.dir, "bawwab.yaml"), proxy_config(
            "http://127.0.0.1:9", [os.path.join(SHIPPED_RULES, "default.yaml")]))

    def explain(self, *args):
        return run_cli(["explain", "--config", self.config] + list(args))

    def test_gptbot_by_flags(self):
        out = self.explain("--ua", GPTBOT_UA, "--path", "/articles/x")
        self.assertEqual(out.returncode, 0, out.stderr)
        text = out.stdout
        self.assertRegex(text, r"ua\.ai_crawler\s+= OpenAI", text)
        self.assertIn("ai-crawlers-blocked", text)
        self.assertRegex(decision_line(text) or "", r"^block\b.*'ai-crawlers-blocked'", text)
        # Why the rule matched, and where it is.
        self.assertRegex(text, r"ai-crawlers-blocked \(.*default\.yaml:\d+\)", text)
        self.assertRegex(text, r"score:\s+\d+", text)

    def test_browser_by_flags_is_not_blocked(self):
        out = self.explain("--ua", CHROME_HEADERS[4][1], "--path", "/articles/x")
        self.assertEqual(out.returncode, 0, out.stderr)
        d = decision_line(out.stdout) or ""
        self.assertNotRegex(d, r"^(block|challenge|tarpit)", out.stdout)

    def test_raw_request_file(self):
        req = write_file(os.path.join(self.dir, "gptbot.http"),
                         "GET /articles/x?page=2 HTTP/1.1\r\nHost: news.example\r\n"
                         "User-Agent: %s\r\nAccept: */*\r\n\r\n" % GPTBOT_UA)
        out = self.explain("--request", req, "--ip", "198.51.100.7")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("ua.ai_crawler", out.stdout)
        self.assertIn("198.51.100.7", out.stdout)
        self.assertRegex(decision_line(out.stdout) or "", r"^block\b.*'ai-crawlers-blocked'",
                         out.stdout)

    def test_raw_request_file_bare_lf_and_stdin(self):
        # Written by hand: bare LF line ends. And the same through stdin ('-').
        head = ("GET / HTTP/1.1\nHost: news.example\nUser-Agent: curl/8.5.0\nAccept: */*\n\n")
        req = write_file(os.path.join(self.dir, "curl.http"), head)
        out = self.explain("--request", req)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("ua.http_library", out.stdout)
        self.assertRegex(decision_line(out.stdout) or "", r"^block\b.*'http-libraries-blocked'")
        p = subprocess.run([BAWWAB_BIN, "explain", "--config", self.config, "--request", "-"],
                           input=head, capture_output=True, text=True, timeout=scaled(20))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(decision_line(p.stdout), decision_line(out.stdout))

    def test_spoofed_chrome_request_file(self):
        # What curl sends with a Chrome User-Agent: no Accept-Language, no Sec-Fetch-*, no
        # sec-ch-ua. The header-consistency signal must catch it.
        req = write_file(os.path.join(self.dir, "spoof.http"),
                         "GET /articles/x HTTP/1.1\r\nHost: news.example\r\nUser-Agent: %s\r\n"
                         "Accept: */*\r\n\r\n" % CHROME_HEADERS[4][1])
        out = self.explain("--request", req)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("headers.inconsistent", out.stdout)
        self.assertRegex(decision_line(out.stdout) or "", r"^challenge\b", out.stdout)

    def test_exit_codes(self):
        self.assertEqual(run_cli(["explain", "--help"]).returncode, 0)
        bad_opt = self.explain("--no-such-option")
        self.assertEqual(bad_opt.returncode, 2, bad_opt.stderr)
        self.assertIn("unknown option", bad_opt.stderr)
        bad_ip = self.explain("--ip", "not-an-ip")
        self.assertEqual(bad_ip.returncode, 2, bad_ip.stderr)
        missing = self.explain("--request", os.path.join(self.dir, "nope.http"))
        self.assertNotEqual(missing.returncode, 0)
        garbage = write_file(os.path.join(self.dir, "garbage.http"), "this is not HTTP\r\n\r\n")
        out = self.explain("--request", garbage)
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        broken_rules = write_file(os.path.join(self.dir, "broken.yaml"),
                                  "rules:\n  - id: x\n    then: blok\n")
        broken = write_file(os.path.join(self.dir, "broken-config.yaml"),
                            proxy_config("http://127.0.0.1:9", [broken_rules]))
        out = run_cli(["explain", "--config", broken, "--ua", "x"])
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertRegex(out.stderr, r"broken\.yaml:3:\d+: rule 'x'", out.stderr)


# Rules B: rules A (the shipped set) with one rule changed: HTTP libraries rate limited, no longer
# blocked.
OLD_THEN = "then: [ { tag: http-library }, { block: { status: 403 } } ]"
NEW_THEN = "then: [ { tag: http-library }, { rate_limit: bot-per-ip } ]"


class Replay(unittest.TestCase):
    """One real run under rules A produces the log; replay compares rules B with it."""

    # A browser's header set from one client: its grace pages (2), then it would be challenged.
    N_BROWSER, N_CURL, N_GPTBOT = 2, 4, 3

    @classmethod
    def setUpClass(cls):
        cls.dir = make_tempdir(cls, "bawwab-replay-")
        rules_a = copy_shipped_rules(cls)
        rules_b = os.path.join(cls.dir, "rules-b")
        shutil.copytree(rules_a, rules_b)
        default_b = os.path.join(rules_b, "default.yaml")
        with open(default_b, encoding="utf-8") as f:
            text = f.read()
        assert text.count(OLD_THEN) == 1, "the http-libraries rule changed; update this test"
        write_file(default_b, text.replace(OLD_THEN, NEW_THEN))
        cls.config_a = write_file(os.path.join(cls.dir, "a.yaml"), proxy_config(
            "http://127.0.0.1:9", [os.path.join(rules_a, "default.yaml")]))
        cls.config_b = write_file(os.path.join(cls.dir, "b.yaml"), proxy_config(
            "http://127.0.0.1:9", [default_b]))

        origin = FakeOrigin.start(cls)
        proxy, log = start_proxy(cls, origin.url, [os.path.join(rules_a, "default.yaml")])
        for i in range(cls.N_BROWSER):
            with RawClient(proxy.port) as c:
                head = "GET /articles/b%d HTTP/1.1\r\nHost: news.test\r\n" % i
                head += "".join("%s: %s\r\n" % kv for kv in CHROME_HEADERS)
                r = c.request(head + "Connection: close\r\n\r\n")
                assert r.status == 200, r
        for i in range(cls.N_CURL):
            subprocess.run(["curl", "-s", "-o", os.devnull, "-H", "Host: news.test",
                            "http://127.0.0.1:%d/articles/c%d" % (proxy.port, i)],
                           check=True, timeout=scaled(10))
        for i in range(cls.N_GPTBOT):
            with RawClient(proxy.port) as c:
                r = c.request("GET /articles/g%d HTTP/1.1\r\nHost: news.test\r\nUser-Agent: %s"
                              "\r\nAccept: */*\r\nConnection: close\r\n\r\n" % (i, GPTBOT_UA))
                assert r.status == 403, r
        total = cls.N_BROWSER + cls.N_CURL + cls.N_GPTBOT
        deadline = time.monotonic() + scaled(5)
        while len(log.entries()) < total and time.monotonic() < deadline:
            time.sleep(0.02)
        proxy.stop()
        cls.entries = log.entries()
        cls.log_path = os.path.join(cls.dir, "access.log")
        shutil.copy(log.path, cls.log_path)

    def replay(self, *args):
        out = run_cli(["replay"] + list(args))
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        return out.stdout

    def changed(self, text):
        m = re.search(r"decisions that would change: (\d+) of (\d+)", text)
        self.assertIsNotNone(m, text)
        return int(m.group(1)), int(m.group(2))

    def test_the_run_logged_what_was_decided(self):
        total = self.N_BROWSER + self.N_CURL + self.N_GPTBOT
        self.assertEqual(len(self.entries), total)
        by_rule = {}
        for e in self.entries:
            by_rule.setdefault((e["decision"], e["rule"]), []).append(e["path"])
        self.assertEqual(len(by_rule[("block", "http-libraries-blocked")]), self.N_CURL, by_rule)
        self.assertEqual(len(by_rule[("block", "ai-crawlers-blocked")]), self.N_GPTBOT, by_rule)
        self.assertEqual(len(by_rule[("rate_limit", "browsers-in-grace")]), self.N_BROWSER,
                         by_rule)

    def test_same_rules_change_nothing(self):
        # Replay under the rules that made the log reproduces every logged decision.
        text = self.replay("--config", self.config_a, "--log", self.log_path)
        total = self.N_BROWSER + self.N_CURL + self.N_GPTBOT
        self.assertEqual(self.changed(text), (0, total), text)

    def test_changed_rule_against_the_log(self):
        text = self.replay("--config", self.config_b, "--log", self.log_path, "--examples", "2")
        total = self.N_BROWSER + self.N_CURL + self.N_GPTBOT
        self.assertEqual(self.changed(text), (self.N_CURL, total), text)
        # Per action, with examples (at most --examples of them), naming the changed requests.
        m = re.search(r"^\s+(\d+)\s+block -> rate_limit$", text, re.M)
        self.assertIsNotNone(m, text)
        self.assertEqual(int(m.group(1)), self.N_CURL, text)
        section = text[m.end():].split("\n\n")[0]
        examples = re.findall(r"^\s+e\.g\. (.*)$", section, re.M)
        self.assertEqual(len(examples), 2, text)
        for ex in examples:
            self.assertRegex(ex, r"/articles/c\d", ex)
            self.assertIn("curl/", ex)
        # Per rule.
        m = re.search(r"^\s+(\d+)\s+http-libraries-blocked -> http-libraries-blocked$", text,
                      re.M)
        self.assertIsNotNone(m, text)
        self.assertEqual(int(m.group(1)), self.N_CURL)
        # Nothing else changed.
        self.assertNotIn("GPTBot", text)
        self.assertNotRegex(text, r"/articles/[bg]\d")

    def test_against_other_config(self):
        text = self.replay("--config", self.config_b, "--against", self.config_a,
                           "--log", self.log_path)
        total = self.N_BROWSER + self.N_CURL + self.N_GPTBOT
        self.assertEqual(self.changed(text), (self.N_CURL, total), text)
        self.assertIn(self.config_a, text)  # the baseline is named
        self.assertRegex(text, r"(?m)^\s+%d\s+block -> rate_limit$" % self.N_CURL, text)
        back = self.replay("--config", self.config_a, "--against", self.config_b,
                           "--log", self.log_path)
        self.assertEqual(self.changed(back), (self.N_CURL, total), back)
        self.assertRegex(back, r"(?m)^\s+%d\s+rate_limit -> block$" % self.N_CURL, back)
        same = self.replay("--config", self.config_b, "--against", self.config_b,
                           "--log", self.log_path)
        self.assertEqual(self.changed(same), (0, total), same)

    def test_exit_codes(self):
        self.assertEqual(run_cli(["replay", "--help"]).returncode, 0)
        no_log = run_cli(["replay", "--config", self.config_a])
        self.assertEqual(no_log.returncode, 2, no_log.stderr)
        missing = run_cli(["replay", "--config", self.config_a, "--log",
                           os.path.join(self.dir, "no-such.log")])
        self.assertEqual(missing.returncode, 1, missing.stderr)
        bad_against = run_cli(["replay", "--config", self.config_a, "--log", self.log_path,
                               "--against", os.path.join(self.dir, "no-such.yaml")])
        self.assertEqual(bad_against.returncode, 1, bad_against.stderr)
        # A log with a garbage line: skipped and said so, the rest replayed.
        mixed = os.path.join(self.dir, "mixed.log")
        with open(self.log_path) as src, open(mixed, "w") as dst:
            dst.write("not json\n" + src.read())
        out = run_cli(["replay", "--config", self.config_a, "--log", mixed])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("1 lines skipped", out.stdout)
        self.assertIn("mixed.log:1:", out.stderr)


if __name__ == "__main__":
    unittest.main()
