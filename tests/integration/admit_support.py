"""What "got the article" means, for the admit-by-proof acceptance tests (test_admit.py, issue 11)
and bench/admit/headless.sh: the demo site's articles, a marker of each article's body, the
interstitial's marker, and a headless Chromium that reads an article and tells what it met.

Article marker: the first 60 characters of the article's first plain body paragraph (<p> without
a class, 80 characters or more), checked to be nowhere in the page's <head> (the lede repeats the
meta description, so the lede is not used): a head-only page for a link preview never contains
it, the full page always does.

Interstitial marker: the <title> of bawwab's challenge pages (src/challenge/page.cpp: the JS, the
no-JS and the accessible page all open with it), in Arabic (the site's language) or English.
"""

import ctypes
import ctypes.util
import glob
import json
import os
import re
import time
import urllib.parse

from harness import SOURCE_DIR
from test_browser import CdpError

SITE_DIR = os.path.join(SOURCE_DIR, "demo", "site")
VERIFY_PATH = "/.well-known/bawwab/verify"
CHALLENGE_TITLES = ("التحقق من المتصفح", "Checking your browser")
_CHALLENGE_RE = re.compile(r"<title>\s*(?:%s)" % "|".join(CHALLENGE_TITLES))


def _read_page(path):
    with open(os.path.join(SITE_DIR, path.lstrip("/")), encoding="utf-8") as f:
        return f.read()


def _marker(path):
    html = _read_page(path)
    head = html[:html.index("</head>")]
    for text in re.findall(r"<p>([^<]{80,})</p>", html):
        if text[:60] not in head:
            return text[:60]
    raise AssertionError("no body paragraph in %s to recognise it by; update admit_support.py"
                         % path)


ARTICLES = sorted("/articles/" + os.path.basename(p)
                  for p in glob.glob(os.path.join(SITE_DIR, "articles", "*.html")))
MARKERS = {p: _marker(p) for p in ARTICLES}
assert len(ARTICLES) >= 3, "the demo site has fewer than 3 articles"


def head_meta(path):
    """What a link preview must still get of the article: the <title> text, and the content of
    every <meta name="description"> / og:* / twitter:* tag of the page's head."""
    html = _read_page(path)
    head = html[:html.index("</head>")]
    title = re.search(r"<title>([^<]*)</title>", head).group(1)
    metas = {}
    for tag in re.findall(r"<meta\s[^>]*>", head):
        key = re.search(r'(?:name|property)="([^"]+)"', tag)
        content = re.search(r'content="([^"]*)"', tag)
        if key and content and (key.group(1) == "description"
                                or key.group(1).startswith(("og:", "twitter:"))):
            metas[key.group(1)] = content.group(1)
    return title, metas


def articles(n):
    """n article paths, cycling through the demo site's articles (no two neighbours equal)."""
    return [ARTICLES[i % len(ARTICLES)] for i in range(n)]


def is_interstitial(body):
    """True when body (bytes or str) is one of bawwab's challenge pages."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return bool(_CHALLENGE_RE.search(body))


def got_article(status, body, path):
    """The article counts as obtained: a 200 whose body holds the article's body text."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return status == 200 and MARKERS[path].encode("utf-8") in body


def outcome(status, body, path):
    """A word for what one response was: article, challenge, head-only, or the status."""
    if got_article(status, body, path):
        return "article"
    if is_interstitial(body):
        return "challenge"
    if status == 200:
        return "head-only" if b"<title>" in (body if isinstance(body, bytes)
                                             else body.encode("utf-8")) else "200-other"
    return str(status)


_brotli = None


def brotli_decompress(data):
    """Brotli via libbrotlidec (bawwab links it, so it is there): python-requests without the
    brotli module hands br bodies over undecoded, and a br article must not count as missed."""
    global _brotli
    if _brotli is None:
        _brotli = ctypes.CDLL(ctypes.util.find_library("brotlidec") or "libbrotlidec.so.1")
        _brotli.BrotliDecoderDecompress.argtypes = [
            ctypes.c_size_t, ctypes.c_char_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_char_p]
        _brotli.BrotliDecoderDecompress.restype = ctypes.c_int
    size = max(1 << 20, 32 * len(data))
    while size <= 1 << 28:
        out = ctypes.create_string_buffer(size)
        n = ctypes.c_size_t(size)
        if _brotli.BrotliDecoderDecompress(len(data), data, ctypes.byref(n), out) == 1:
            return out.raw[:n.value]
        size *= 8
    raise ValueError("undecodable br body")


def requests_body(r):
    """The decoded body of a python-requests Response (br included)."""
    if r.headers.get("Content-Encoding", "").strip().lower() == "br":
        return brotli_decompress(r.content)
    return r.content


# ------------------------------------------------------------------------------------------------
# A headless Chromium reading articles (a Browser of test_browser.py, driven over CDP).

class Navigation:
    """What one page load met: got (the article's text on screen), interstitial (a challenge
    page as a main response, in the DOM, or a navigation through the verify endpoint), the
    statuses of the main (Document) responses, the proof requests (non-navigation requests to
    the verify endpoint, e.g. from a Worker), and how long it took."""

    def __init__(self, path):
        self.path = path
        self.got = False
        self.interstitial = False
        self.doc_statuses = []
        self.proof_requests = 0
        self.seconds = 0.0
        self.last_text = ""

    def __repr__(self):
        return ("<%s got=%s interstitial=%s main=%s proof=%d %.1fs>"
                % (self.path, self.got, self.interstitial, self.doc_statuses,
                   self.proof_requests, self.seconds))


_STATE_JS = ("JSON.stringify({s: document.readyState, p: location.pathname, t: document.title, "
             "x: document.body ? document.body.innerText : ''})")


class ArticleReader:
    """Navigates one Chromium page (an open Browser) from article to article. The browser's HTTP
    cache is off: the demo pages come with a Last-Modified and no Cache-Control, so Chromium
    would otherwise serve a second load of an article from its cache (heuristic freshness) and
    bawwab would never see it."""

    def __init__(self, browser):
        self.b = browser
        self.b.call("Network.enable")
        self.b.call("Network.setCacheDisabled", {"cacheDisabled": True})
        self.b.call("Page.enable")

    def _state(self):
        try:
            return json.loads(self.b.evaluate(_STATE_JS) or "{}")
        except (CdpError, ValueError):
            return {}  # between documents

    def read(self, base, path, timeout, settle=0.0):
        """Loads base+path; waits until the article's text is on screen and the page has loaded
        (or timeout), then settle seconds more (for a proof script to finish)."""
        nav = Navigation(path)
        mark = len(self.b.events)
        t0 = time.monotonic()
        self.b.navigate(base + path)
        marker = MARKERS[path]
        deadline = t0 + timeout
        while time.monotonic() < deadline:
            st = self._state()
            challenge = st.get("t", "").startswith(CHALLENGE_TITLES)
            nav.interstitial |= challenge
            nav.last_text = st.get("x", nav.last_text)
            if st.get("p") == path and st.get("s") == "complete":
                if marker in st.get("x", ""):
                    nav.got = True
                    break
                if not challenge and self._main_status(mark, path) not in (None, 200):
                    break  # refused: no redirect is coming
            time.sleep(0.05)
        nav.seconds = time.monotonic() - t0
        if nav.got and settle:
            time.sleep(settle)
        self._inspect(nav, self.b.events[mark:])
        return nav

    def _main_status(self, mark, path):
        """The status of the last main response for path since events[mark] (None: none yet)."""
        status = None
        for e in self.b.events[mark:]:
            p = e.get("params", {})
            if (e.get("method") == "Network.responseReceived" and p.get("type") == "Document"
                    and urllib.parse.urlsplit(p["response"].get("url", "")).path == path):
                status = p["response"].get("status")
        return status

    def _inspect(self, nav, events):
        for e in events:
            p = e.get("params", {})
            if e.get("method") == "Network.requestWillBeSent":
                url_path = urllib.parse.urlsplit(p.get("request", {}).get("url", "")).path
                if url_path.startswith(VERIFY_PATH):
                    if p.get("type") == "Document":
                        nav.interstitial = True  # the challenge page sent the browser there
                    else:
                        nav.proof_requests += 1
            elif e.get("method") == "Network.responseReceived" and p.get("type") == "Document":
                resp = p.get("response", {})
                nav.doc_statuses.append(resp.get("status"))
                if resp.get("status") != 200 and self._body_is_interstitial(p.get("requestId")):
                    nav.interstitial = True

    def _body_is_interstitial(self, request_id):
        try:
            r = self.b.call("Network.getResponseBody", {"requestId": request_id}, timeout=5)
        except CdpError:
            return False  # no longer kept; the verify navigation or the DOM tells instead
        return is_interstitial(r.get("body", ""))


def normal_user_agent(headless_ua):
    """The UA the same Chromium sends when not headless."""
    return headless_ua.replace("HeadlessChrome", "Chrome")
