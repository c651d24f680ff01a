"""The command line: check (exit codes, every problem as file:line:column), version, --help for
each subcommand, usage errors (exit 2), run refusing a bad config, and the demo."""

import os
import re
import shlex
import subprocess
import unittest

import requests

from harness import (Bawwab, FakeOrigin, ProxyTestCase, make_config, make_tempdir, run_cli,
                     scaled)

SUBCOMMANDS = ("run", "check", "demo", "version")

# Each entry: (line text, what is wrong). The file is assembled so the line numbers are known.
BAD_LINES = [
    "workers: 2",
    "listeners:",
    '  - address: "127.0.0.1:notaport"',        # bad address
    "upstreams:",
    "  o:",
    '    servers: ["http://127.0.0.1:1"]',
    "sites:",
    '  - hosts: ["*"]',
    "    upstream: o",
    'trusted_proxies: ["10.0.0.0/33"]',          # bad CIDR
    "timeouts:",
    "  client_header: banana",                   # wrong type
    "bogus_key: 1",                              # unknown key
]
BAD_AT = {3: "address", 10: "cidr", 12: "duration", 13: "unknown key"}


class Cli(ProxyTestCase):

    def setUp(self):
        self.dir = make_tempdir(self)

    def write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def diagnostics(self, out, path):
        """{line: [message]} from lines 'path:line:column: message'."""
        found = {}
        for m in re.finditer(r"^(.*?):(\d+):(\d+): (.+)$", out, re.M):
            if os.path.basename(m.group(1)) == os.path.basename(path):
                found.setdefault(int(m.group(2)), []).append(m.group(4))
        return found

    # -- check --

    def test_check_good_config(self):
        path = self.write("good.yaml", make_config({"o": ["http://127.0.0.1:8081"]}))
        p = run_cli(["check", "--config", path])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_check_shipped_configs(self):
        from harness import SOURCE_DIR
        for name in ("bawwab.yaml", "demo.yaml"):
            path = os.path.join(SOURCE_DIR, "config", name)
            self.assertTrue(os.path.exists(path), "missing " + path)
            # bawwab.yaml names the installed rules (/etc/bawwab/rules/): check it with the
            # repository's copy in their place.
            rules = ["--rules", os.path.join(SOURCE_DIR, "rules", "default.yaml")]
            p = run_cli(["check", "--config", path] + (rules if name == "bawwab.yaml" else []))
            self.assertEqual(p.returncode, 0, "%s: %s" % (name, p.stdout + p.stderr))

    def test_check_reports_every_problem_with_position(self):
        path = self.write("bad.yaml", "\n".join(BAD_LINES) + "\n")
        p = run_cli(["check", "--config", path])
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        found = self.diagnostics(out, path)
        for line, what in BAD_AT.items():
            self.assertIn(line, found, "no file:%d:column diagnostic for the %s; output:\n%s"
                          % (line, what, out))
        self.assertEqual(set(found) - set(BAD_AT), set(), "diagnostics on good lines:\n" + out)
        m = re.search(r":3:(\d+): ", out)
        self.assertIn(int(m.group(1)), (5, 14, 15), "column of the bad address: " + out)

    def test_check_undefined_upstream(self):
        text = make_config({"o": ["http://127.0.0.1:8081"]}, sites=[(["*"], "nope")])
        path = self.write("undef.yaml", text)
        p = run_cli(["check", "--config", path])
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        line = text.splitlines().index("    upstream: nope") + 1
        self.assertIn(line, self.diagnostics(out, path), out)

    def test_check_yaml_syntax_error(self):
        path = self.write("syntax.yaml", "workers: 2\nlisteners: [\n  - address: x\n")
        p = run_cli(["check", "--config", path])
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, 1, out)
        self.assertTrue(self.diagnostics(out, path), "no file:line:column in:\n" + out)

    def test_check_missing_file(self):
        path = os.path.join(self.dir, "nope.yaml")
        p = run_cli(["check", "--config", path])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("nope.yaml", p.stdout + p.stderr)

    def test_check_flags_only(self):
        p = run_cli(["check", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:8081"])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = run_cli(["check", "--listen", "nowhere", "--upstream", "http://127.0.0.1:8081"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        p = run_cli(["check", "--listen", "127.0.0.1:0", "--upstream", "ftp://x"])
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)

    def test_run_refuses_bad_config(self):
        path = self.write("bad.yaml", "\n".join(BAD_LINES) + "\n")
        p = run_cli(["run", "--config", path], timeout=scaled(10))
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(self.diagnostics(p.stdout + p.stderr, path), p.stdout + p.stderr)

    # -- run without a file --

    def test_run_with_flags_only(self):
        origin = FakeOrigin.start(self)
        proxy = Bawwab.start(self, None, args=["--listen", "127.0.0.1:0", "--upstream",
                                               origin.url, "--status", "127.0.0.1:0",
                                               "--workers", "1", "--access-log", "off"])
        r = requests.get(proxy.url("/hi"), timeout=10)
        self.assertEqual((r.status_code, r.text), (200, "origin fake: /hi"))
        self.assertIsNotNone(proxy.status_port, "no status listening line:\n" + proxy.output())
        self.assertEqual(requests.get(proxy.status_url("/healthz"), timeout=10).status_code, 200)
        self.assertEqual(proxy.stop(), 0, proxy.output())

    # -- version, help, usage --

    def test_version(self):
        p = run_cli(["version"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\d+\.\d+\.\d+")

    def test_help(self):
        p = run_cli(["--help"])
        self.assertEqual(p.returncode, 0, p.stderr)
        for sub in SUBCOMMANDS:
            self.assertIn(sub, p.stdout, "--help does not mention %s" % sub)

    def test_help_for_each_subcommand(self):
        want = {"run": ["--config", "--listen", "--upstream", "--status", "--workers",
                        "--access-log", "--rules"],
                "check": ["--config"], "demo": ["--listen"], "version": []}
        for sub in SUBCOMMANDS:
            p = run_cli([sub, "--help"])
            self.assertEqual(p.returncode, 0, "%s --help: %s" % (sub, p.stderr))
            self.assertIn(sub, p.stdout, "%s --help output:\n%s" % (sub, p.stdout))
            for flag in want[sub]:
                self.assertIn(flag, p.stdout, "%s --help does not mention %s" % (sub, flag))

    def test_unknown_subcommand(self):
        p = run_cli(["frobnicate"])
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertRegex(p.stderr.lower(), "usage", p.stderr)

    def test_unknown_flag(self):
        for args in (["run", "--bogus"], ["check", "--bogus"], ["run", "--config"],
                     ["demo", "--bogus"]):
            p = run_cli(args, timeout=scaled(10))
            self.assertEqual(p.returncode, 2, "%s: %s" % (args, p.stdout + p.stderr))
            self.assertRegex(p.stderr.lower(), "usage|options:", "%s: %s" % (args, p.stderr))


ARABIC = re.compile("[\u0600-\u06ff]")


class Demo(ProxyTestCase):

    def test_demo_serves_site_through_proxy(self):
        demo = Bawwab(self, None, subcommand="demo", args=["--listen", "127.0.0.1:0"])
        self.addCleanup(demo.stop_and_check)
        demo.launch()
        out = demo.output()
        urls = re.findall(r"https?://[^\s\"'<>]+", out)
        self.assertTrue(any(":%d" % demo.port in u for u in urls),
                        "demo does not print the URL to open:\n" + out)
        base = demo.url("")
        # The demo runs the shipped rules: python-requests' own UA is refused, so this client
        # sends what Chromium sends to http://127.0.0.1, in its order.
        bot = requests.get(base + "/", timeout=10)
        self.assertEqual(bot.status_code, 403, "python-requests' UA is not refused by the demo")
        gpt = requests.get(base + "/", headers={"User-Agent": "GPTBot/1.2"}, timeout=10)
        self.assertEqual(gpt.status_code, 403)
        s = requests.Session()
        self.addCleanup(s.close)
        s.headers.clear()
        s.headers.update([
            ("Connection", "keep-alive"),
            ("sec-ch-ua", '"Chromium";v="130", "Google Chrome";v="130", "Not?A_Brand";v="99"'),
            ("sec-ch-ua-mobile", "?0"),
            ("sec-ch-ua-platform", '"Linux"'),
            ("Upgrade-Insecure-Requests", "1"),
            ("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                           "Chrome/130.0.0.0 Safari/537.36"),
            ("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,"
                       "image/webp,image/apng,*/*;q=0.8"),
            ("Sec-Fetch-Site", "none"),
            ("Sec-Fetch-Mode", "navigate"),
            ("Sec-Fetch-User", "?1"),
            ("Sec-Fetch-Dest", "document"),
            ("Accept-Encoding", "gzip, deflate"),
            ("Accept-Language", "ar,en-US;q=0.9,en;q=0.8"),
        ])
        r = s.get(base + "/", timeout=10)
        self.assertEqual(r.status_code, 200, r.text[:500])
        r.encoding = "utf-8"
        self.assertIn('dir="rtl"', r.text)
        self.assertRegex(r.text, ARABIC, "front page has no Arabic text")
        links = [h for h in re.findall(r'href="([^"#]+\.html)"', r.text)
                 if not h.rstrip("/").endswith("index.html") and "://" not in h]
        self.assertTrue(links, "no article link on the front page")
        art = s.get(base + "/" + links[0].lstrip("/"), timeout=10)
        art.encoding = "utf-8"
        self.assertEqual(art.status_code, 200, links[0])
        self.assertRegex(art.text, ARABIC, "article has no Arabic text")
        self.assertIn('dir="rtl"', art.text)
        robots = s.get(base + "/robots.txt", timeout=10)
        self.assertEqual(robots.status_code, 200)
        self.assertRegex(robots.text.lower(), "user-agent")
        feed = re.search(r'<link[^>]+application/rss\+xml[^>]+href="([^"]+)"', r.text) or \
            re.search(r'href="([^"]+)"[^>]+application/rss\+xml', r.text)
        candidates = [feed.group(1)] if feed else ["/feed.xml", "/rss.xml", "/feed", "/rss"]
        got_feed = None
        for c in candidates:
            f = s.get(c if c.startswith("http") else base + "/" + c.lstrip("/"), timeout=10)
            if f.status_code == 200 and "<rss" in f.text:
                got_feed = f
                break
        self.assertIsNotNone(got_feed, "no RSS feed found (tried %s)" % candidates)
        self.assertIsNotNone(demo.status_port, "demo prints no status address:\n" + out)
        st = requests.get(demo.status_url("/status"), timeout=10)
        self.assertEqual(st.status_code, 200)
        self.assertIsInstance(st.json(), dict)
        self.assertEqual(demo.stop(), 0, demo.output())

    def test_demo_hints_work_as_printed(self):
        """Every command the demo prints for a newcomer runs as printed, on this machine, and
        gets what the hint says it gets."""
        demo = Bawwab(self, None, subcommand="demo", args=["--listen", "127.0.0.1:0"])
        self.addCleanup(demo.stop_and_check)
        demo.launch()
        out = demo.output()
        hints = {}
        for line in out.splitlines():
            m = re.match(r"^  (a reader|plain curl|AI crawler|a refusal|why):\s+(.*?)(?:\s+\((\d{3})[^)]*\))?$",
                         line)
            if m:
                hints[m.group(1)] = (m.group(2), m.group(3))
        self.assertEqual(set(hints), {"a reader", "plain curl", "AI crawler", "a refusal", "why"},
                         "the demo does not print every hint:\n" + out)
        self.assertIn("403", out, "the demo does not say that plain curl gets 403")
        for name, expected in (("a reader", "200"), ("plain curl", "403"), ("AI crawler", "403"),
                               ("a refusal", "405")):
            command, said = hints[name]
            if said is not None:
                self.assertEqual(said, expected, line)
            argv = shlex.split(command)
            self.assertEqual(argv[0], "curl", command)
            r = subprocess.run(argv[:1] + ["-s", "-o", "/dev/null", "-w", "%{http_code}"] +
                               [a for a in argv[1:] if a != "-i"],
                               capture_output=True, text=True, timeout=scaled(20))
            self.assertEqual(r.stdout, expected, "%s: %s gave %s" % (name, command, r.stdout))
        # The explain hint names the binary by a path that works from where the demo started.
        argv = shlex.split(hints["why"][0])
        self.assertTrue(os.path.isfile(argv[0]) or os.path.isabs(argv[0]), argv[0])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(20))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("decision: block", r.stdout)


if __name__ == "__main__":
    unittest.main()
