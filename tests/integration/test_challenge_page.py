"""The challenge pages in a real browser (Debian's chromium, headless), without bawwab itself.

A small python http.server plays the proxy: it answers article URLs with the challenge page
rendered by the C++ code (tests/support/render_challenge, built with the tests), routes the verify
path to the C++ verifier, and serves the article once the pass cookie checks out (checked by the
C++ code too). Independently of the C++ code, the stub recomputes SHA-256(challenge + ":" +
answer) in python and checks the leading zero bits, so a bug shared by the JS solver and the C++
checker cannot hide. The article carries an image whose request proves the browser rendered it.

The browser runs live (real time) until the stub saw that image, then is killed. Not
--virtual-time-budget + --dump-dom: virtual time runs ahead of Web Workers, which compute in real
time, so the dump often came before even an 8-bit answer (2 runs in 3 under load); and the no-JS
page's 3 s refresh would fire early under virtual time and rightly fail the delay check.

Skipped (with a message) only when chromium is not installed.

Environment: BAWWAB_BIN (the render_challenge binary is <dir of BAWWAB_BIN>/tests/render_challenge)
or RENDER_CHALLENGE (its path).
"""

import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("BAWWAB_SOURCE_DIR") or os.path.normpath(os.path.join(HERE, "..", ".."))
BAWWAB_BIN = os.environ.get("BAWWAB_BIN") or os.path.join(SOURCE_DIR, "build", "bawwab")
RENDER = os.environ.get("RENDER_CHALLENGE") or os.path.join(
    os.path.dirname(BAWWAB_BIN), "tests", "render_challenge")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
VERIFY_PATH = "/.well-known/bawwab/verify"
ARTICLE = "ARTICLE-BODY-7f3c"  # what only a reader with a valid pass gets


def leading_zero_bits(digest):
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        bits += 8 - byte.bit_length()
        break
    return bits


class Stub:
    """The proxy's part: challenge, verify, article. Records every verify request."""

    def __init__(self, keys, difficulty, nojs_entry=False):
        self.keys = keys
        self.difficulty = difficulty
        self.verifications = []  # dicts: query, python_ok, reason, status, at, answer
        self.pages = []  # monotonic times at which a challenge page was served
        self.articles_served = 0
        self.articles_rendered = 0  # requests for the article's image
        self.lock = threading.Lock()
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                stub.handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.port = self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def run(self, *args):
        out = subprocess.run([RENDER, *args, "--keys", self.keys], capture_output=True, text=True,
                             timeout=30)
        if out.returncode != 0:
            raise RuntimeError("render_challenge failed: " + out.stderr)
        return json.loads(out.stdout)

    def client_args(self, h):
        args = ["--ip", h.client_address[0], "--ua", h.headers.get("User-Agent", "")]
        for c in h.headers.get_all("Cookie") or []:
            args += ["--cookie", c]
        return args

    @staticmethod
    def reply(h, status, headers, body):
        data = body.encode("utf-8")
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def handle(self, h):
        url = urllib.parse.urlsplit(h.path)
        if url.path == VERIFY_PATH:
            params = urllib.parse.parse_qs(url.query)
            record = {"query": url.query, "python_ok": None, "at": time.monotonic()}
            if "c" in params and "a" in params:
                c, a = params["c"][0], params["a"][0]
                record["answer"] = int(a)
                wanted = int(c.split(".")[3])
                got = leading_zero_bits(hashlib.sha256((c + ":" + a).encode()).digest())
                record["python_ok"] = got >= wanted
            out = self.run("verify", "--query", url.query, *self.client_args(h))
            record["reason"] = out["reason"]
            record["status"] = out["status"]
            with self.lock:
                self.verifications.append(record)
            self.reply(h, out["status"], out["headers"], out["body"])
            return
        if url.path.startswith("/articles/"):
            check = self.run("pass", *self.client_args(h))["check"]
            if check == "valid":
                with self.lock:
                    self.articles_served += 1
                self.reply(h, 200, [("Content-Type", "text/html; charset=utf-8")],
                           '<!DOCTYPE html><html lang="ar"><body><article id="a">%s</article>'
                           '<img src="/rendered.gif" alt=""></body></html>' % ARTICLE)
                return
            out = self.run("page", "--level", "js", "--difficulty", str(self.difficulty),
                           "--target", h.path, "--site", "أخبار الاختبار",
                           "--contact", "webmaster@news.example", *self.client_args(h))
            self.reply(h, out["status"], out["headers"], out["body"])
            with self.lock:
                self.pages.append(time.monotonic())
            return
        if url.path == "/rendered.gif":
            with self.lock:
                self.articles_rendered += 1
            self.reply(h, 204, [], "")
            return
        self.reply(h, 404, [("Content-Type", "text/plain")], "not found")


@unittest.skipIf(CHROMIUM is None, "chromium is not installed (apt-get install chromium): "
                                   "the challenge page's JavaScript cannot be run without it")
class ChallengePageInChromium(unittest.TestCase):

    def setUp(self):
        if not os.path.exists(RENDER):
            self.fail("render_challenge not built at %s (build the tests first)" % RENDER)
        self.tmp = tempfile.TemporaryDirectory(prefix="bawwab-challenge-")
        self.addCleanup(self.tmp.cleanup)
        self.keys = os.path.join(self.tmp.name, "challenge.keys")

    def start_stub(self, difficulty):
        stub = Stub(self.keys, difficulty)
        self.addCleanup(stub.close)
        return stub

    def base_cmd(self):
        profile = tempfile.mkdtemp(dir=self.tmp.name, prefix="profile-")
        return [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--user-data-dir=" + profile]

    def browse_until_article(self, stub, url, deadline_s=60):
        """A live headless browser on `url` until it has rendered the article (or the deadline)."""
        # TMPDIR: Chromium's /tmp/org.chromium.Chromium.* files go into our directory, removed
        # with it, so a run leaves nothing behind in /tmp.
        proc = subprocess.Popen(self.base_cmd() + [url], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True,
                                env=dict(os.environ, TMPDIR=self.tmp.name))

        def stop():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the browser and its helpers, all ours
            proc.wait(timeout=10)
        self.addCleanup(stop)
        end = time.monotonic() + deadline_s
        while time.monotonic() < end and stub.articles_rendered == 0 and proc.poll() is None:
            time.sleep(0.05)
        stop()

    def assert_passed(self, stub):
        passed = [v for v in stub.verifications if v["reason"] == "passed"]
        self.assertTrue(passed, "the browser never passed the verifier; verifications: %r"
                        % stub.verifications)
        self.assertEqual(passed[0]["status"], 303)
        self.assertEqual(stub.articles_served, 1, "the article did not follow the pass")
        self.assertEqual(stub.articles_rendered, 1, "the browser did not render the article")
        return passed[0]

    def test_js_level_solves_and_returns_to_the_article(self):
        stub = self.start_stub(difficulty=8)
        self.browse_until_article(stub, "http://127.0.0.1:%d/articles/7?x=1" % stub.port)
        passed = self.assert_passed(stub)
        self.assertTrue(passed["python_ok"], "python disagrees with the answer: %r" % passed)
        self.assertIn("r=%2Farticles%2F7%3Fx%3D1", passed["query"])
        # One page, one verification: no challenge loop.
        self.assertEqual(len(stub.pages), 1)
        self.assertEqual(len(stub.verifications), 1)

    def test_js_level_at_the_default_minimum_difficulty(self):
        # 14 bits: ~16k hashes on average; several 64-byte blocks, progress messages, 1-4 workers.
        stub = self.start_stub(difficulty=14)
        self.browse_until_article(stub, "http://127.0.0.1:%d/articles/8" % stub.port)
        passed = self.assert_passed(stub)
        self.assertTrue(passed["python_ok"], "python disagrees with the answer: %r" % passed)
        solve_s = passed["at"] - stub.pages[0]
        print("\n  chromium: 14-bit challenge: answer %d after %.2f s (page served -> verify)"
              % (passed["answer"], solve_s))

    def test_nojs_level(self):
        # Where the <noscript> and accessible-page links lead. The page has no script at all; the
        # meta refresh waits for real (3 s): virtual time would fire it early and (rightly) fail
        # the verifier's delay check.
        stub = self.start_stub(difficulty=8)
        start = "http://127.0.0.1:%d%s?level=nojs&r=%%2Farticles%%2F9" % (stub.port, VERIFY_PATH)
        started = time.monotonic()
        self.browse_until_article(stub, start)
        reasons = [v["reason"] for v in stub.verifications]
        self.assertEqual(reasons[0], "page_nojs")
        passed = self.assert_passed(stub)
        self.assertGreaterEqual(passed["at"] - started, 2.0)


if __name__ == "__main__":
    unittest.main()
