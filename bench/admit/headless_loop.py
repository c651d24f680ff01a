"""The driver of bench/admit/headless.sh: one headless Chromium (one profile, JavaScript on)
loads the demo site's articles one after the other through bawwab, as fast as it can, for a
fixed time, and prints what it got.

    headless_loop.py BASE_URL SECONDS [normal|headless]

normal (default): Chromium with its normal User-Agent ("Chrome/..."), as a scraper driving a
headless browser would run it; headless: the "HeadlessChrome/..." UA as it comes.

A load counts as an article when the article's body text is on screen and the page has loaded
(tests/integration/admit_support.py, shared with test_admit.py); as a challenge when an
interstitial was met on the way (a challenge page as the main response or in the DOM, or a
navigation through the verify endpoint). The next load starts at once: no reading time.
"""

import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "integration"))

from admit_support import ARTICLES, ArticleReader, normal_user_agent  # noqa: E402
from test_browser import CHROMIUM, Browser  # noqa: E402


class Cleanups:
    """What Browser wants of a test case: somewhere to register its cleanup."""

    def __init__(self):
        self.fns = []

    def addCleanup(self, fn, *args, **kwargs):
        self.fns.append((fn, args, kwargs))

    def run(self):
        for fn, args, kwargs in reversed(self.fns):
            fn(*args, **kwargs)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    base, seconds = sys.argv[1], float(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "normal"
    if CHROMIUM is None:
        sys.exit("headless_loop.py: chromium not found")
    work = tempfile.mkdtemp(prefix="bawwab-headless-")
    case = Cleanups()
    try:
        def browser(*args):
            profile = os.path.join(work, "profile%d" % len(case.fns))
            os.makedirs(profile)
            return Browser(case, profile, args).open_page()

        args = []
        if mode == "normal":
            b0 = browser()
            ua = normal_user_agent(b0.call("Browser.getVersion", session=False)["userAgent"])
            b0.close()
            args = ["--user-agent=" + ua]
        reader = ArticleReader(browser(*args))
        loads = got = challenges = proofs = 0
        statuses = {}
        t0 = time.monotonic()
        deadline = t0 + seconds
        while time.monotonic() < deadline:
            path = ARTICLES[loads % len(ARTICLES)]
            nav = reader.read(base, path, timeout=min(10.0, max(1.0, deadline - time.monotonic())))
            loads += 1
            got += nav.got
            challenges += nav.interstitial
            proofs += nav.proof_requests
            key = "article" if nav.got else "no article (main %s)" % (
                "/".join(str(s) for s in nav.doc_statuses) or "none")
            statuses[key] = statuses.get(key, 0) + 1
        elapsed = time.monotonic() - t0
        print("headless chromium (%s UA), %.0f s, one profile, no pause between pages:"
              % (mode, elapsed))
        print("  page loads          %d" % loads)
        print("  articles obtained   %d" % got)
        print("  challenges met      %d" % challenges)
        print("  proof requests      %d" % proofs)
        for k, v in sorted(statuses.items(), key=lambda kv: -kv[1]):
            print("    %-34s %d" % (k, v))
        print("  articles per hour   %.0f (extrapolated from %.0f s)"
              % (got * 3600.0 / elapsed if elapsed else 0, elapsed))
    finally:
        case.run()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
