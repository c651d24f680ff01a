"""Bot detection with REAL clients (issue 5, "Acceptance with real clients"): curl, wget,
python3-requests and a Scrapy spider with their default User-Agents, the same tools with a
spoofed desktop Chrome UA (plain HTTP and TLS), and a client claiming Googlebot, against bawwab
under the shipped rules/default.yaml in front of a real nginx serving the demo site.

"No article body" means: the distinctive Arabic text of the article (a sentence from its body,
read from demo/site) does not appear in what the client received. Each test starts its own
bawwab (the behaviour signals remember 127.0.0.1 across requests); nginx is shared.

Scrapy: `python3 -m scrapy runspider` with Scrapy's default settings except ROBOTSTXT_OBEY=True,
which is what `scrapy startproject` writes into a new project's settings.py (runspider alone
defaults to False). The demo robots.txt allows everything, so obeying it changes nothing but the
extra /robots.txt request.
"""

import json
import os
import re
import subprocess
import time
import unittest
import warnings

import requests
import urllib3

from harness import Bawwab, NginxOrigin, ProxyTestCase, SOURCE_DIR, make_tempdir, scaled
from protection_support import (CHROME_HEADERS, CHROME_UA, SHIPPED_RULES, AccessLog,
                                copy_shipped_rules, proxy_config, start_proxy, write_file)

ARTICLE = "/articles/bilateral-efforts-against-cybercrime.html"
GOOGLEBOT_UA = ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
PYTHON = "/usr/bin/python3"


def article_text():
    """A sentence of the article's body (not its title or description, which the challenge or
    an error page could never contain anyway, but which a preview might)."""
    with open(os.path.join(SOURCE_DIR, "demo", "site", ARTICLE.lstrip("/")), encoding="utf-8") as f:
        html = f.read()
    paragraphs = re.findall(r"<p>([^<]{80,})</p>", html)
    assert len(paragraphs) >= 2, "the demo article changed; update this test"
    return paragraphs[1][:60]


TEXT = article_text()
TEXT_BYTES = TEXT.encode("utf-8")


def make_cert(directory, name="news.test"):
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % name,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


def tls_listener_yaml(cert, key):
    return ('  - address: "127.0.0.1:0"\n    tls:\n      certificates:\n'
            '        - { cert: %s, key: %s }\n' % (json.dumps(cert), json.dumps(key)))


class DetectionCase(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.nginx = NginxOrigin.start_for(cls)
        cls.dir = make_tempdir(cls, "bawwab-detect-")

    def start(self, rules_dir=SHIPPED_RULES):
        extra = "challenge:\n  contact: webmaster@news.example"
        self.proxy, self.log = start_proxy(self, self.nginx.url,
                                           [os.path.join(rules_dir, "default.yaml")], extra)
        self.base = "http://127.0.0.1:%d" % self.proxy.port
        return self.proxy

    def start_tls(self):
        """bawwab with a plain and a TLS listener: (plain base URL, https base URL)."""
        cert, key = make_cert(make_tempdir(self, "bawwab-cert-"))
        d = make_tempdir(self, "bawwab-prot-")
        log = os.path.join(d, "access.log")
        text = proxy_config(self.nginx.url, [os.path.join(SHIPPED_RULES, "default.yaml")],
                            "challenge:\n  contact: webmaster@news.example", log)
        text = text.replace("listeners:\n", "listeners:\n" + tls_listener_yaml(cert, key), 1)
        self.proxy = Bawwab.start(self, text, tmpdir=d)
        self.log = AccessLog(log)
        tls_ports = [p for _, p, kind in self.proxy.listeners if kind == "tls"]
        plain = [p for _, p, kind in self.proxy.listeners if kind != "tls"]
        self.assertTrue(tls_ports and plain, self.proxy.output())
        self.base = "http://127.0.0.1:%d" % plain[0]
        return self.base, "https://127.0.0.1:%d" % tls_ports[0]

    # -- assertions --

    def assert_logged(self, lines, expect_signal, expect_rule):
        """Every line names its signals and the deciding rule; these carry the expected ones."""
        for e in lines:
            self.assertTrue(e.get("signals"), "log line without signals: %r" % e)
            self.assertTrue(e.get("rule"), "log line without the deciding rule: %r" % e)
            self.assertEqual(e.get("decided_by"), "rule", e)
            if e["path"] == "/robots.txt":
                self.assertEqual(e["rule"], "well-known-always-allowed", e)
                continue
            self.assertIn(expect_signal, e["signals"], e)
            self.assertEqual(e["rule"], expect_rule, e)

    def lines_for(self, ua_fragment, n, path=ARTICLE):
        """The n access-log lines of requests for path whose UA contains ua_fragment."""
        def pick():
            return [e for e in self.log.entries() if e.get("path") == path
                    and ua_fragment in (e.get("user_agent") or "")]
        deadline = time.monotonic() + scaled(5)
        while len(pick()) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        got = pick()
        self.assertEqual(len(got), n, "wanted %d log lines for %s by %r, have:\n%s"
                         % (n, path, ua_fragment, "\n".join(json.dumps(e) for e in got)))
        return got

    def assert_no_body_after_first(self, bodies, who):
        leaked = [i for i, b in enumerate(bodies) if TEXT_BYTES in b]
        self.assertFalse([i for i in leaked if i > 0],
                         "%s received the article body on requests %s of %d"
                         % (who, leaked, len(bodies)))
        return leaked


class DefaultUserAgents(DetectionCase):
    """Tools with their default UA: no article body after the first request."""

    N = 3

    def test_curl(self):
        self.start()
        bodies = []
        for _ in range(self.N):
            out = subprocess.run(["curl", "-s", self.base + ARTICLE], capture_output=True,
                                 timeout=scaled(10))
            bodies.append(out.stdout)
        self.assert_no_body_after_first(bodies, "curl")
        self.assert_logged(self.lines_for("curl/", self.N), "ua.http_library",
                           "http-libraries-blocked")

    def test_wget(self):
        self.start()
        bodies = []
        for _ in range(self.N):
            # --content-on-error: keep what the server sent even on 4xx (a leak would show).
            out = subprocess.run(["wget", "-q", "--content-on-error", "-O", "-",
                                  self.base + ARTICLE], capture_output=True, timeout=scaled(10))
            bodies.append(out.stdout)
        self.assert_no_body_after_first(bodies, "wget")
        self.assert_logged(self.lines_for("Wget/", self.N), "ua.http_library",
                           "http-libraries-blocked")

    def test_python_requests(self):
        self.start()
        with requests.Session() as s:
            bodies = [s.get(self.base + ARTICLE, timeout=scaled(10)).content
                      for _ in range(self.N)]
        self.assert_no_body_after_first(bodies, "python-requests")
        self.assert_logged(self.lines_for("python-requests/", self.N), "ua.http_library",
                           "http-libraries-blocked")

    def test_scrapy_spider(self):
        self.start()
        d = make_tempdir(self, "bawwab-scrapy-")
        out_file = os.path.join(d, "out.jsonl")
        spider = write_file(os.path.join(d, "spider.py"), '''
import json
import scrapy


class ArticleSpider(scrapy.Spider):
    name = "article"

    def start_requests(self):
        for i in range(int(self.n)):
            # dont_filter: the same URL several times; handle_httpstatus_all: record 403s too.
            yield scrapy.Request(self.url, dont_filter=True, priority=-i,
                                 meta={"handle_httpstatus_all": True}, callback=self.parse)

    def parse(self, response):
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"status": response.status,
                                "has_text": self.text.encode("utf-8") in response.body,
                                "ua": response.request.headers.get("User-Agent", b"").decode()})
                    + "\\n")
''')
        # Scrapy's defaults, but ROBOTSTXT_OBEY as in a new project's settings.py.
        cmd = [PYTHON, "-m", "scrapy", "runspider", spider, "-s", "ROBOTSTXT_OBEY=True",
               "-s", "LOG_LEVEL=INFO", "-a", "url=" + self.base + ARTICLE, "-a", "n=%d" % self.N,
               "-a", "out=" + out_file, "-a", "text=" + TEXT]
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=scaled(90), cwd=d)
        self.assertEqual(run.returncode, 0, run.stderr[-3000:])
        with open(out_file, encoding="utf-8") as f:
            results = [json.loads(l) for l in f if l.strip()]
        self.assertEqual(len(results), self.N, run.stderr[-3000:])
        self.assertTrue(all(r["ua"].startswith("Scrapy/") for r in results), results)
        # Scrapy runs its requests concurrently: no order to speak of, so none may leak.
        self.assertEqual([r for r in results if r["has_text"]], [],
                         "Scrapy received the article body: %r" % results)
        self.assert_logged(self.lines_for("Scrapy/", self.N), "ua.scraping_framework",
                           "scraping-frameworks-blocked")
        robots = self.lines_for("Scrapy/", 1, "/robots.txt")
        self.assert_logged(robots, "ua.scraping_framework", "well-known-always-allowed")
        self.assertEqual(robots[0]["status"], 200, robots)


class SpoofedChrome(DetectionCase):
    """A desktop Chrome UA on a library: at most 1 article body out of 30 requests."""

    N = 30

    def check(self, bodies, who, ua_fragment=CHROME_UA, signal="headers.inconsistent"):
        got = sum(1 for b in bodies if TEXT_BYTES in b)
        lines = self.lines_for(ua_fragment, self.N)
        print("\n  %s: %d article bodies of %d; rules: %s; signals: %s"
              % (who, got, len(bodies), sorted({e["rule"] for e in lines}),
                 sorted({k for e in lines for k in e["signals"]})))
        self.assertLessEqual(got, 1, "%s got %d article bodies of %d" % (who, got, len(bodies)))
        for e in lines:
            self.assertTrue(e.get("signals") and e.get("rule"), e)
            self.assertIn(signal, e["signals"], e)
        return lines

    def test_python_requests_with_chrome_ua(self):
        self.start()
        with requests.Session() as s:
            s.headers["User-Agent"] = CHROME_UA
            bodies = [s.get(self.base + ARTICLE, timeout=scaled(10)).content
                      for _ in range(self.N)]
        self.check(bodies, "python-requests + Chrome UA")

    def test_curl_with_chrome_ua(self):
        self.start()
        bodies = []
        for _ in range(self.N):
            out = subprocess.run(["curl", "-s", "-A", CHROME_UA, self.base + ARTICLE],
                                 capture_output=True, timeout=scaled(10))
            bodies.append(out.stdout)
        self.check(bodies, "curl + Chrome UA")

    def test_tls_curl_with_all_chrome_headers(self):
        # Over TLS even Chrome's complete header set does not help: the TLS stack is curl's.
        _, https = self.start_tls()
        args = ["curl", "-s", "-k", "--compressed"]
        for k, v in CHROME_HEADERS:
            args += ["-H", "%s: %s" % (k, v)]
        bodies = []
        for _ in range(self.N):
            out = subprocess.run(args + [https + ARTICLE], capture_output=True,
                                 timeout=scaled(10))
            bodies.append(out.stdout)
        lines = self.check(bodies, "curl over TLS + Chrome headers", signal="tls.ua_mismatch")
        self.assertTrue(all(e["tls"] for e in lines))

    def test_tls_python_requests_with_all_chrome_headers(self):
        _, https = self.start_tls()
        with requests.Session() as s, warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            s.headers.clear()
            s.headers.update(CHROME_HEADERS)
            bodies = [s.get(https + ARTICLE, timeout=scaled(10), verify=False).content
                      for _ in range(self.N)]
        self.check(bodies, "python-requests over TLS + Chrome headers", signal="tls.ua_mismatch")


class Googlebot(DetectionCase):

    def get_as_googlebot(self):
        return requests.get(self.base + ARTICLE, timeout=scaled(10), headers={
            "User-Agent": GOOGLEBOT_UA, "Accept": "text/html,application/xhtml+xml,"
            "application/xml;q=0.9,*/*;q=0.8", "Accept-Encoding": "gzip, deflate, br",
            "From": "googlebot(at)googlebot.com"})

    def test_googlebot_from_loopback_is_not_verified(self):
        self.start()
        for _ in range(2):  # also once any DNS check has had its chance
            r = self.get_as_googlebot()
            self.assertNotIn(TEXT_BYTES, r.content, "a fake Googlebot got the article")
            self.assertNotEqual(r.status_code, 200, r.headers)
            time.sleep(0.3)
        lines = self.lines_for("Googlebot", 2)
        for e in lines:
            self.assertIn("crawler.unverified", e["signals"], e)
            self.assertNotIn("crawler.verified", e["signals"], e)
            self.assertEqual(e["rule"], "unverified-search-engines-refused", e)

    def test_googlebot_verified_by_a_test_copy_of_the_ranges(self):
        rules = copy_shipped_rules(self)
        ranges = os.path.join(rules, "networks", "googlebot.txt")
        self.assertTrue(os.path.exists(ranges), os.listdir(os.path.dirname(ranges)))
        with open(ranges, "a") as f:
            f.write("\n# test: loopback is Googlebot here\n127.0.0.1/32\n")
        self.start(rules)
        for _ in range(3):
            r = self.get_as_googlebot()
            self.assertEqual(r.status_code, 200, r.text[:300])
            self.assertIn(TEXT_BYTES, r.content, "a verified Googlebot did not get the article")
            self.assertNotIn("bawwab_pass", r.headers.get("Set-Cookie", ""), "challenged")
        lines = self.lines_for("Googlebot", 3)
        for e in lines:
            self.assertIn("crawler.verified", e["signals"], e)
            self.assertEqual((e["decision"], e["rule"]), ("allow",
                             "verified-search-engines-allowed"), e)


if __name__ == "__main__":
    unittest.main()
