"""A real browser through bawwab (issue 5, "Acceptance with real clients"): headless Chromium
reads articles of the demo site (real nginx origin) under the shipped rules/default.yaml, on
plain HTTP and over TLS, including after a challenge; a second article is not challenged again;
and the same Chromium with its normal (non-headless) User-Agent is never challenged.

How the browser is driven: the Chrome DevTools Protocol over --remote-debugging-pipe (fd 3 and
4, NUL-separated JSON), not --dump-dom: with --dump-dom and --virtual-time-budget, virtual time
runs ahead of the Web Workers that solve the proof of work (they compute in real time), so the
dump often comes before the answer, and the challenge page's redirect chain may not finish.
Over the pipe the test navigates, then polls document.body.innerText in real time until the
article's text is there (or a deadline passes), with the access log telling what bawwab did.

Each test runs its own Chromium with a fresh --user-data-dir; skipped only when chromium is not
installed.
"""

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

from harness import Bawwab, NginxOrigin, ProxyTestCase, SOURCE_DIR, make_tempdir, scaled
from protection_support import (AccessLog, SHIPPED_RULES, metric, metrics, proxy_config)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VERIFY = "/.well-known/bawwab/verify"
ARTICLE_1 = "/articles/bilateral-efforts-against-cybercrime.html"
ARTICLE_2 = "/articles/interpol-general-assembly-marrakech-2025.html"


def article_text(path):
    """A sentence from the article's body, as innerText shows it."""
    with open(os.path.join(SOURCE_DIR, "demo", "site", path.lstrip("/")), encoding="utf-8") as f:
        html = f.read()
    paragraphs = re.findall(r"<p>([^<]{80,})</p>", html)
    assert len(paragraphs) >= 2, "the demo article %s changed; update this test" % path
    return paragraphs[1][:50]


def make_cert(directory, name="news.test"):
    cert = os.path.join(directory, name + ".pem")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=" + name, "-addext", "subjectAltName=DNS:%s,IP:127.0.0.1" % name,
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    return cert, key


class CdpError(Exception):
    pass


def _high_fd(fd):
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class Browser:
    """Chromium driven over the DevTools pipe. One page target, one flat session."""

    def __init__(self, case, profile, extra_args=()):
        self.case = case
        to_child_r, self._to_child_w = os.pipe()   # we write commands; chromium reads fd 3
        self._from_child_r, from_child_w = os.pipe()  # chromium writes fd 4; we read
        # The child's ends above fd 9, so that putting them on 3 and 4 clobbers neither.
        to_child_r, from_child_w = (_high_fd(to_child_r), _high_fd(from_child_w))
        cmd = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
               "--disable-extensions", "--disable-background-networking", "--disable-sync",
               "--disable-component-update", "--ignore-certificate-errors",
               "--user-data-dir=" + profile, "--remote-debugging-pipe"] + list(extra_args)
        # bash puts the two pipe ends on fds 3 and 4, where --remote-debugging-pipe wants them.
        wrapper = ["bash", "-c", 'exec "$@" 3<&%d 4>&%d %d<&- %d>&-'
                   % (to_child_r, from_child_w, to_child_r, from_child_w), "chromium"] + cmd
        self.stderr_path = os.path.join(profile, "..", os.path.basename(profile) + ".stderr")
        self._stderr = open(self.stderr_path, "wb")
        # Chromium's own temporary files (/tmp/org.chromium.Chromium.*) go into the test's
        # directory, which the test removes: a run leaves nothing behind in /tmp.
        env = dict(os.environ, TMPDIR=os.path.dirname(os.path.abspath(profile)))
        self.proc = subprocess.Popen(wrapper, stdin=subprocess.DEVNULL, stdout=self._stderr,
                                     stderr=self._stderr, pass_fds=(to_child_r, from_child_w),
                                     start_new_session=True, env=env)
        os.close(to_child_r)
        os.close(from_child_w)
        case.addCleanup(self.close)
        self._next_id = 0
        self._replies = {}
        self._cond = threading.Condition()
        self._closed = False
        self.events = []  # the CDP events (messages without an id), in arrival order
        threading.Thread(target=self._read_loop, daemon=True).start()
        self.session = None

    def _read_loop(self):
        buf = b""
        while True:
            try:
                data = os.read(self._from_child_r, 1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            buf += data
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                try:
                    obj = json.loads(msg)
                except ValueError:
                    continue
                with self._cond:
                    if "id" in obj:
                        self._replies[obj["id"]] = obj
                    else:
                        self.events.append(obj)
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def call(self, method, params=None, session=True, timeout=None):
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        try:
            os.write(self._to_child_w, json.dumps(msg).encode() + b"\0")
        except OSError as e:
            raise CdpError("chromium gone: %r" % e)
        deadline = time.monotonic() + (timeout or scaled(30))
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise CdpError("no reply to %s (%s)" % (method, "closed" if self._closed
                                                            else "timeout"))
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise CdpError("%s: %s" % (method, reply["error"]))
        return reply.get("result", {})

    def open_page(self):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False,
                           timeout=scaled(60))["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        return self

    def navigate(self, url):
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                      timeout=scaled(10))
        return r.get("result", {}).get("value")

    def wait_text(self, text, timeout):
        """Polls the page's innerText until it contains text; returns (ok, last innerText)."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                last = self.evaluate("document.body ? document.body.innerText : ''") or ""
            except CdpError:
                last = last  # navigating: the context was destroyed, try again
            if text in last:
                return True, last
            time.sleep(0.2)
        return False, last

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the browser and its helpers, all ours
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for fd in (self._to_child_w, self._from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._stderr.close()


@unittest.skipIf(CHROMIUM is None, "chromium is not installed (apt-get install chromium)")
class BrowserReadsArticles(ProxyTestCase):

    @classmethod
    def setUpClass(cls):
        cls.nginx = NginxOrigin.start_for(cls)
        d = make_tempdir(cls, "bawwab-browser-")
        cls.cert, cls.key = make_cert(d)

    def setUp(self):
        self.dir = make_tempdir(self, "bawwab-browser-")
        log = os.path.join(self.dir, "access.log")
        text = proxy_config(self.nginx.url, [os.path.join(SHIPPED_RULES, "default.yaml")],
                            "challenge:\n  contact: webmaster@news.example", log)
        tls = ('  - address: "127.0.0.1:0"\n    tls:\n      certificates:\n'
               '        - { cert: %s, key: %s }\n' % (json.dumps(self.cert), json.dumps(self.key)))
        text = text.replace("listeners:\n", "listeners:\n" + tls, 1)
        self.proxy = Bawwab.start(self, text, tmpdir=self.dir)
        self.log = AccessLog(log)
        ports = {kind: p for _, p, kind in self.proxy.listeners}
        self.http = "http://127.0.0.1:%d" % ports["plain"]
        self.https = "https://127.0.0.1:%d" % ports["tls"]

    def browser(self, *args):
        profile = os.path.join(make_tempdir(self, "bawwab-chromium-"), "profile")
        os.makedirs(profile)
        return Browser(self, profile, args).open_page()

    def dump_log(self):
        return "\n".join(json.dumps(e, ensure_ascii=False) for e in self.log.entries())[-8000:]

    def read_article(self, b, base, path, timeout):
        t0 = time.monotonic()
        b.navigate(base + path)
        ok, last = b.wait_text(article_text(path), timeout)
        took = time.monotonic() - t0
        self.assertTrue(ok, "the article text of %s never arrived in the browser (%.1fs); page "
                        "shows:\n%s\naccess log:\n%s" % (path, took, last[:1500], self.dump_log()))
        return took

    def article_lines(self, path):
        return [e for e in self.log.entries() if e.get("path") == path]

    def check_challenge_then_pass(self, base, tls):
        b = self.browser()
        took1 = self.read_article(b, base, ARTICLE_1, scaled(90))
        lines = self.article_lines(ARTICLE_1)
        verify = [e for e in self.log.entries() if e.get("path", "").startswith(VERIFY)]
        summary = [(e["status"], e.get("decision"), e.get("rule")) for e in lines]
        # Challenged first (HeadlessChrome), then the verify request, then the article.
        self.assertGreaterEqual(len(lines), 2, summary)
        self.assertEqual((lines[0]["decision"], lines[0]["rule"]),
                         ("challenge", "headless-browsers-challenged"), lines[0])
        self.assertIn("ua.headless", lines[0]["signals"], lines[0])
        self.assertTrue(verify, "no verify request in the log:\n" + self.dump_log())
        self.assertEqual(verify[-1]["status"], 303, verify[-1])
        self.assertEqual(lines[-1]["status"], 200, lines[-1])
        self.assertIn("challenge.passed", lines[-1]["signals"], lines[-1])
        self.assertEqual(lines[-1]["rule"], "challenge-passed", lines[-1])
        self.assertTrue(all(e["tls"] is tls for e in lines + verify))
        # The second article: not challenged again, the pass is accepted.
        passes0 = metric(metrics(self.proxy), "bawwab_challenge_passes_accepted_total")
        took2 = self.read_article(b, base, ARTICLE_2, scaled(30))
        time.sleep(0.3)  # the assets of the second article
        # After the pass, no request of this browser (page or asset, on any of its connections)
        # may find the pass invalid.
        after = self.log.entries()[self.log.entries().index(verify[0]) + 1:]
        invalid = ["%s %s ja4=%s" % (e["peer"], e["path"], e["signals"].get("tls.ja4"))
                   for e in after if "challenge.invalid" in e.get("signals", {})]
        valid_ja4 = sorted({e["signals"].get("tls.ja4") for e in after
                            if "challenge.passed" in e.get("signals", {})})
        self.assertEqual(invalid, [], "the pass was refused on some of the browser's requests "
                         "(pass accepted with ja4 %s):\n%s" % (valid_ja4, "\n".join(invalid)))
        lines2 = self.article_lines(ARTICLE_2)
        self.assertEqual([(e["status"], e["rule"]) for e in lines2], [(200, "challenge-passed")],
                         "second article: %s" % json.dumps(lines2, ensure_ascii=False))
        self.assertIn("challenge.passed", lines2[0]["signals"])
        self.assertEqual(len([e for e in self.log.entries()
                              if e.get("path", "").startswith(VERIFY)]), len(verify),
                         "a second verification for the second article")
        self.assertGreater(metric(metrics(self.proxy), "bawwab_challenge_passes_accepted_total"),
                           passes0)
        bits = re.search(r"[?&]c=[^.&]*\.[^.&]*\.[^.&]*\.(\d+)\.", verify[0]["path"])
        print("\n  headless chromium (%s): article 1 after the challenge (%s bits) in %.1fs, "
              "article 2 in %.1fs" % ("TLS" if tls else "plain HTTP",
                                      bits.group(1) if bits else "?", took1, took2))

    def test_headless_plain_http_passes_the_challenge(self):
        self.check_challenge_then_pass(self.http, tls=False)

    def test_headless_tls_passes_the_challenge(self):
        self.check_challenge_then_pass(self.https, tls=True)
        lines = self.article_lines(ARTICLE_1)
        self.assertIn("tls.ja4", lines[0]["signals"], lines[0])

    def test_normal_chrome_ua_is_never_challenged(self):
        b0 = self.browser()
        ua = b0.call("Browser.getVersion", session=False)["userAgent"]
        b0.close()
        self.assertIn("HeadlessChrome", ua)
        normal = ua.replace("HeadlessChrome", "Chrome")
        b = self.browser("--user-agent=" + normal)
        self.read_article(b, self.http, ARTICLE_1, scaled(30))
        self.read_article(b, self.http, ARTICLE_2, scaled(30))
        # The page's silent proof runs after load: its answer (204, the pass) follows shortly.
        deadline = time.monotonic() + scaled(10)
        while time.monotonic() < deadline:
            mine = [e for e in self.log.entries() if e.get("user_agent") == normal]
            if any(e.get("path", "").startswith(VERIFY) and e.get("status") == 204 for e in mine):
                break
            time.sleep(0.1)
        challenged = [e for e in mine if e.get("decision") in ("challenge", "block", "tarpit")
                      or e.get("status") in (403, 429, 503)]
        self.assertEqual(challenged, [], "FALSE POSITIVE: a browser with Chrome's normal UA was "
                         "refused or challenged; log lines:\n%s"
                         % "\n".join(json.dumps(e, ensure_ascii=False) for e in challenged))
        # The verify path sees only the silent proof (challenge, worker, and a 204 with the pass),
        # never an interstitial's redemption (a 303 back to the page) or a refusal.
        verify = [e for e in mine if e.get("path", "").startswith(VERIFY)]
        self.assertEqual([e for e in verify if e.get("status") not in (200, 204)], [], verify)
        self.assertIn(204, [e.get("status") for e in verify], verify)
        for e in mine:
            self.assertNotIn("ua.headless", e.get("signals", {}), e)

    def test_silent_proof_runs_under_a_strict_csp(self):
        # The origin's page allows only scripts with its nonce (and what they load): bawwab adds
        # its script's hash to the policy, and the proof earns the pass as on any page.
        b0 = self.browser()
        ua = b0.call("Browser.getVersion", session=False)["userAgent"]
        b0.close()
        normal = ua.replace("HeadlessChrome", "Chrome")
        b = self.browser("--user-agent=" + normal)
        path = "/strict" + ARTICLE_1
        b.navigate(self.http + path)
        ok, last = b.wait_text(article_text(ARTICLE_1), scaled(30))
        self.assertTrue(ok, last[:1500])
        deadline = time.monotonic() + scaled(10)
        answers = []
        while time.monotonic() < deadline and not answers:
            answers = [e for e in self.log.entries() if e.get("user_agent") == normal
                       and e.get("path", "").startswith(VERIFY) and e.get("status") == 204]
            time.sleep(0.1)
        self.assertTrue(answers, "the silent proof never answered under the strict CSP; log:\n"
                        + self.dump_log())
        page = [e for e in self.log.entries() if e.get("path") == path]
        self.assertEqual([e.get("status") for e in page], [200], page)


if __name__ == "__main__":
    unittest.main()
