"""Admit by proof (issue 11), acceptance with real clients: an article page goes only to a client
positively identified as a browser that ran the page (the silent proof), a verified crawler, a
feed reader on the feed or a link preview (head only), or an operator-allowed client; anyone else
gets at most the grace (2 article pages per client key), then a challenge or a refusal.

The real binary under the SHIPPED rules (rules/default.yaml) in front of a real nginx serving the
demo site; each test starts its own bawwab (grace, limits and behaviour are per process). Rows of
the issue's acceptance table:

  chrome-headers  curl and python-requests replaying Chrome's full header set in Chrome's order,
                  with and without keeping cookies, plain HTTP and TLS: at most 2 of 30 articles
  non-browsers    curl, wget, python-requests, a Scrapy spider (real tools, default settings) and
                  56 non-browser User-Agents of 9 kinds from 127.0.0.1: at most 2 articles each
  headless        Chromium with its normal (non-"Headless") UA, JavaScript on, one profile:
                  21 article loads, 21 articles, 0 interstitials
  feed readers    the feed on every poll (and the open paths stay open)
  link previews   200 with the page's <title> and head metadata, none of the article's body
  verified        Googlebot from a range the (test copy of the) googlebot file lists: the article
  unverified      Googlebot, Bingbot, Applebot, DuckDuckBot UAs from 127.0.0.1: no article

"Got the article" (admit_support.got_article): a 200 whose body holds a sentence of the article's
body that is not in its head. A challenge page, 403, 429, 503 or a head-only page does not count.
Every figure is printed as it is measured, and a summary table at the end of the module.

Link previews: the check asks for the <title> and every description / og:* / twitter:* meta tag
of the page's head. The demo pages have a description and no og:* tag today, so og:title is
asked for as soon as the demo pages carry one. Headless Chromium runs with its HTTP cache off
(admit_support.ArticleReader), so that every one of the 21 loads reaches bawwab.
"""

import http.cookiejar
import json
import os
import subprocess
import time
import unittest
import warnings

import requests
import urllib3

from admit_support import (ARTICLES, SITE_DIR, ArticleReader, articles, got_article,
                           head_meta, is_interstitial, normal_user_agent, outcome,
                           requests_body)
from harness import make_tempdir, scaled, simple_get
from protection_support import CHROME_HEADERS, copy_shipped_rules, write_file
from test_browser import CHROMIUM, Browser
from test_detection import GOOGLEBOT_UA, PYTHON, DetectionCase

GRACE = 2  # article pages a client key may read without a pass

SUMMARY = []  # (row, client, figure, expected, ok)
ROWS = ["chrome-headers", "non-browser", "headless", "feed readers", "link previews",
        "verified crawler", "unverified claims"]  # the table, in its order


def record(row, client, figure, expected, ok):
    SUMMARY.append((row, client, figure, expected, ok))
    print("\n  %s %s: %s (expected %s)%s" % (row, client, figure, expected,
                                             "" if ok else "  <-- FAILS"), flush=True)


def tearDownModule():
    if not SUMMARY:
        return
    w_row = max(len(r[0]) for r in SUMMARY)
    w_client = max(len(r[1]) for r in SUMMARY)
    w_fig = max(len(r[2]) for r in SUMMARY)
    lines = ["", "admit-by-proof acceptance (issue 11), this binary: %d of %d rows pass"
             % (sum(1 for r in SUMMARY if r[4]), len(SUMMARY))]
    for row, client, fig, exp, ok in sorted(SUMMARY, key=lambda r: ROWS.index(r[0])):
        lines.append("  %-*s  %-*s  %-*s  %-4s  expected %s"
                     % (w_row, row, w_client, client, w_fig, fig, "ok" if ok else "FAIL", exp))
    print("\n".join(lines), flush=True)


# ------------------------------------------------------------------------------------------------
# Clients.

def curl_get(url, headers=(), jar=None):
    """(status, decoded body) of one curl run; jar: a cookie file read and written."""
    args = ["curl", "-s", "-k", "--compressed", "-w", "\n@@status=%{http_code}"]
    for k, v in headers:
        args += ["-H", "%s: %s" % (k, v)]
    if jar:
        args += ["-b", jar, "-c", jar]
    out = subprocess.run(args + [url], capture_output=True, timeout=scaled(10)).stdout
    body, _, code = out.rpartition(b"\n@@status=")
    return int(code or 0), body


def wget_get(url):
    run = subprocess.run(["wget", "-q", "-S", "--content-on-error", "-O", "-", url],
                         capture_output=True, timeout=scaled(10))
    codes = [int(l.split()[1]) for l in run.stderr.decode("latin-1").splitlines()
             if l.strip().startswith("HTTP/")]
    return (codes[-1] if codes else 0), run.stdout


def chrome_session():
    """python-requests sending exactly Chrome's navigation headers, in Chrome's order."""
    s = requests.Session()
    s.headers.clear()
    s.headers.update(CHROME_HEADERS)
    return s


def tally(results):
    """results: [(path, status, body)] -> (articles obtained, outcomes in order)."""
    outs = [outcome(st, body, path) for path, st, body in results]
    return sum(1 for o in outs if o == "article"), outs


def compact(outs):
    """'article x2, challenge x28' from a list of outcomes, in first-seen order."""
    counts = {}
    for o in outs:
        counts[o] = counts.get(o, 0) + 1
    return ", ".join("%s x%d" % kv for kv in counts.items())


class AdmitCase(DetectionCase):
    """DetectionCase (test_detection.py: nginx shared, bawwab per test, shipped rules)."""

    def check_at_most_grace(self, row, client, results, limit=GRACE):
        got, outs = tally(results)
        ok = got <= limit
        record(row, client, "%d/%d articles" % (got, len(results)),
               "<= %d" % limit if limit else "0", ok)
        self.assertLessEqual(got, limit, "%s got %d articles of %d (%s)"
                             % (client, got, len(results), compact(outs)))


# ------------------------------------------------------------------------------------------------
# Row 1: Chrome's header set replayed by curl and python-requests.

class ChromeHeaderReplay(AdmitCase):
    N = 30

    def bases(self, tls):
        if tls:
            return self.start_tls()[1]
        self.start()
        return self.base

    def replay_curl(self, tls, cookies):
        base = self.bases(tls)
        jar = os.path.join(make_tempdir(self, "bawwab-jar-"), "jar") if cookies else None
        results = []
        for path in articles(self.N):
            st, body = curl_get(base + path, CHROME_HEADERS, jar)
            results.append((path, st, body))
        return results

    def replay_requests(self, tls, cookies):
        base = self.bases(tls)
        results = []
        with chrome_session() as s, warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            if not cookies:
                s.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
            for path in articles(self.N):
                r = s.get(base + path, timeout=scaled(10), verify=False)
                results.append((path, r.status_code, requests_body(r)))
        return results


def _replay_test(tool, tls, cookies):
    name = "chrome-headers %s %s %s" % (tool, "tls" if tls else "plain",
                                       "cookies" if cookies else "no-cookies")

    def test(self):
        results = getattr(self, "replay_" + tool)(tls, cookies)
        self.check_at_most_grace("chrome-headers", name[len("chrome-headers "):], results)
    test.__doc__ = "%s: at most %d of 30 articles" % (name, GRACE)
    return test


for _tool in ("curl", "requests"):
    for _tls in (False, True):
        for _cookies in (False, True):
            setattr(ChromeHeaderReplay, "test_%s_%s_%s" % (
                _tool, "tls" if _tls else "plain", "cookies" if _cookies else "no_cookies"),
                _replay_test(_tool, _tls, _cookies))


# ------------------------------------------------------------------------------------------------
# Row 2: non-browser clients: the real tools, then User-Agents of every kind.

SCRAPY_SPIDER = '''
import json
import scrapy


class Admit(scrapy.Spider):
    name = "admit"

    def start_requests(self):
        for url in self.urls.split(" "):
            yield scrapy.Request(url, meta={"handle_httpstatus_all": True})

    def parse(self, response):
        with open(self.out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"url": response.url, "status": response.status,
                                "body": response.text}) + "\\n")
'''

NON_BROWSER_UAS = {
    "seo-tools": [
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
        "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
        "Mozilla/5.0 (compatible; BLEXBot/1.0; +http://webmeup-crawler.com/)",
        "Mozilla/5.0 (compatible; DataForSeoBot/1.0; +https://dataforseo.com/dataforseo-bot)",
        "Screaming Frog SEO Spider/19.4",
    ],
    "archivers": [
        "Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot)",
        "ia_archiver (+http://www.alexa.com/site/help/webmasters; crawler@alexa.com)",
        "Mozilla/5.0 (compatible; heritrix/3.4.0 +https://www.webarchive.org.uk/)",
        "ArchiveTeam ArchiveBot/20230601.01 (wpull 2.0.3) and not Mozilla/5.0",
        "Mozilla/5.0 (compatible; Arquivo-web-crawler; +https://arquivo.pt/faq-crawling)",
    ],
    "scanners": [
        "Mozilla/5.0 zgrab/0.x",
        "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
        "Mozilla/5.0 (compatible; CensysInspect/1.1; +https://about.censys.io/)",
        "Nuclei - Open-source project (github.com/projectdiscovery/nuclei)",
        "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)",
        "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    ],
    "monitoring": [
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "check_http/v2.3.3 (monitoring-plugins 2.3.3)",
        "Site24x7",
        "Datadog/Synthetics",
        "Zabbix",
    ],
    "academic": [
        "Mozilla/5.0 (compatible; researchscan/t13rl; +http://researchscan.comsys.rwth-aachen.de)",
        "Mozilla/5.0 (compatible; BUbiNG; +http://law.di.unimi.it/BUbiNG.html)",
        "Mozilla/5.0 (compatible; ICC-Crawler/3.0; +https://ucri.nict.go.jp/en/icccrawler.html)",
        "Mozilla/5.0 (compatible; TurnitinBot/3.0; "
        "+https://www.turnitin.com/robot/crawlerinfo.html)",
        "Mozilla/5.0 (compatible; SemanticScholarBot/1.0; "
        "+https://www.semanticscholar.org/crawler)",
    ],
    "other-search-engines": [
        "Mozilla/5.0 (compatible; SeznamBot/4.0; "
        "+https://o-seznam.cz/napoveda/vyhledavani/en/seznambot-crawler/)",
        "Mozilla/5.0 (compatible; Qwantbot/1.0; +https://help.qwant.com/bot/)",
        "Mozilla/5.0 (compatible; MojeekBot/0.11; +https://www.mojeek.com/bot.html)",
        "Mozilla/5.0 (compatible; Yeti/1.1; +https://naver.me/spd)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    ],
    "link-previews": [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "WhatsApp/2.23.20.0 A",
        "TelegramBot (like TwitterBot)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    ],
    "ai-crawlers": [
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko); compatible; GPTBot/1.1; "
        "+https://openai.com/gptbot",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; "
        "+claudebot@anthropic.com)",
        "CCBot/2.0 (https://commoncrawl.org/faq/)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; "
        "+https://perplexity.ai/perplexitybot)",
        "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile "
        "Safari/537.36 (compatible; Bytespider; spider-feedback@bytedance.com)",
        "Mozilla/5.0 (compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)",
        "meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)",
    ],
    "http-libraries": [
        "Go-http-client/1.1",
        "Java/17.0.9",
        "okhttp/4.12.0",
        "axios/1.6.8",
        "Python-urllib/3.11",
        "python-httpx/0.27.0",
        "libwww-perl/6.72",
    ],
}
UA_ARTICLES = 5  # article pages each User-Agent asks for (more than the grace)


class NonBrowsers(AdmitCase):

    def test_curl_default(self):
        self.start()
        results = [(p, *curl_get(self.base + p)) for p in ARTICLES]
        self.check_at_most_grace("non-browser", "curl (default UA)", results)

    def test_wget_default(self):
        self.start()
        results = [(p, *wget_get(self.base + p)) for p in ARTICLES]
        self.check_at_most_grace("non-browser", "wget (default UA)", results)

    def test_python_requests_default(self):
        self.start()
        with requests.Session() as s:
            results = []
            for p in ARTICLES:
                r = s.get(self.base + p, timeout=scaled(10))
                results.append((p, r.status_code, requests_body(r)))
        self.check_at_most_grace("non-browser", "python-requests (default UA)", results)

    def test_scrapy_spider(self):
        # Scrapy's defaults, but ROBOTSTXT_OBEY as a new project's settings.py has it.
        self.start()
        d = make_tempdir(self, "bawwab-scrapy-")
        out = os.path.join(d, "out.jsonl")
        spider = write_file(os.path.join(d, "spider.py"), SCRAPY_SPIDER)
        run = subprocess.run(
            [PYTHON, "-m", "scrapy", "runspider", spider, "-s", "ROBOTSTXT_OBEY=True",
             "-s", "LOG_LEVEL=INFO", "-a", "out=" + out,
             "-a", "urls=" + " ".join(self.base + p for p in ARTICLES)],
            capture_output=True, text=True, timeout=scaled(90), cwd=d)
        self.assertEqual(run.returncode, 0, run.stderr[-3000:])
        with open(out, encoding="utf-8") as f:
            rows = [json.loads(l) for l in f if l.strip()]
        self.assertEqual(len(rows), len(ARTICLES), run.stderr[-3000:])
        base_len = len(self.base)
        results = [(r["url"][base_len:], r["status"], r["body"].encode("utf-8")) for r in rows]
        self.check_at_most_grace("non-browser", "Scrapy spider (default settings)", results)

    def sweep(self, kind):
        self.start()
        over = []
        total = 0
        print()
        for ua in NON_BROWSER_UAS[kind]:
            results = []
            for p in articles(UA_ARTICLES):
                r = simple_get(self.proxy.port, p, headers=[("User-Agent", ua),
                                                            ("Accept", "*/*")])
                results.append((p, r.status, r.body))
            got, outs = tally(results)
            total += got
            print("    %-26s %d/%d  %-32s %s" % (kind, got, len(results), compact(outs), ua[:70]))
            if got > GRACE:
                over.append("%s: %d/%d" % (ua, got, len(results)))
        n = len(NON_BROWSER_UAS[kind])
        record("non-browser", "%s (%d UAs x %d)" % (kind, n, UA_ARTICLES),
               "%d/%d articles, %d of %d UAs over the grace" % (total, n * UA_ARTICLES,
                                                                 len(over), n),
               "<= %d per UA" % GRACE, not over)
        self.assertEqual(over, [], "User-Agents that got more than %d articles:\n  %s"
                         % (GRACE, "\n  ".join(over)))


def _sweep_test(kind):
    def test(self):
        self.sweep(kind)
    test.__doc__ = "%s User-Agents: at most %d of %d articles each" % (kind, GRACE, UA_ARTICLES)
    return test


for _kind in NON_BROWSER_UAS:
    setattr(NonBrowsers, "test_user_agents_" + _kind.replace("-", "_"), _sweep_test(_kind))


# ------------------------------------------------------------------------------------------------
# Row 3: a real browser that runs the page.

@unittest.skipIf(CHROMIUM is None, "chromium is not installed (apt-get install chromium)")
class HeadlessChromium(AdmitCase):
    LOADS = 21
    SETTLE = 1.5    # seconds on each page after it loaded (the proof script's time)
    TIMEOUT = 8.0   # for one page to show its article
    GIVE_UP = 3     # consecutive pages without the article: the rest would not come either

    def browser(self, *args):
        profile = os.path.join(make_tempdir(self, "bawwab-chromium-"), "profile")
        os.makedirs(profile)
        return Browser(self, profile, args).open_page()

    def test_normal_ua_reads_21_articles_without_interstitial(self):
        self.start()
        b0 = self.browser()
        ua = normal_user_agent(b0.call("Browser.getVersion", session=False)["userAgent"])
        b0.close()
        reader = ArticleReader(self.browser("--user-agent=" + ua))
        navs = []
        misses = 0
        t0 = time.monotonic()
        for path in articles(self.LOADS):
            nav = reader.read(self.base, path, scaled(self.TIMEOUT), self.SETTLE)
            navs.append(nav)
            misses = 0 if nav.got else misses + 1
            if misses >= self.GIVE_UP:
                break
        took = time.monotonic() - t0
        got = sum(1 for n in navs if n.got)
        inter = sum(1 for n in navs if n.interstitial)
        proofs = sum(n.proof_requests for n in navs)
        for i, n in enumerate(navs):
            print("    load %2d %r" % (i + 1, n))
        mine = [e for e in self.log.entries() if e.get("user_agent") == ua
                and e.get("path", "").startswith("/articles/")]
        decisions = compact(["%s/%s" % (e.get("decision"), e.get("status")) for e in mine])
        ok = got == self.LOADS and inter == 0
        record("headless", "chromium normal UA, JS on, 1 profile",
               "%d/%d articles, %d interstitials, %d proof requests, %.0fs" % (
                   got, self.LOADS, inter, proofs, took), "%d/%d, 0 interstitials"
               % (self.LOADS, self.LOADS), ok)
        self.assertEqual(inter, 0, "interstitials met: %s; bawwab's article decisions: %s"
                         % ([n for n in navs if n.interstitial], decisions))
        self.assertEqual(got, self.LOADS, "articles obtained %d of %d (stopped after %d loads); "
                         "last page shows:\n%s\nbawwab's article decisions: %s"
                         % (got, self.LOADS, len(navs), navs[-1].last_text[:800], decisions))


# ------------------------------------------------------------------------------------------------
# Rows 4 and 5: feed readers and link previews.

FEED_READERS = [
    "Feedly/1.0 (+http://www.feedly.com/fetcher.html; 16 subscribers; like FeedFetcher-Google)",
    "Mozilla/5.0 (compatible; Inoreader/1.0; +http://www.inoreader.com/feed-fetcher; "
    "3 subscribers)",
    "NewsBlur Feed Fetcher - 12 subscribers - https://www.newsblur.com/site/6190/x "
    "(Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36)",
    "Mozilla/5.0 (compatible; Miniflux/2.1.3; +https://miniflux.app)",
    "FreshRSS/1.23.1 (Linux; https://freshrss.org)",
    "Tiny Tiny RSS/23.04 (https://tt-rss.org/)",
    "NetNewsWire (RSS Reader; https://netnewswire.com/)",
    "Newsboat/2.32 (Linux x86_64)",
]
FEED_POLLS = 3

LINK_PREVIEWS = NON_BROWSER_UAS["link-previews"]
PREVIEW_ARTICLES = 3

# Paths every client may fetch (the issue: static assets, robots.txt, feeds and /.well-known/
# stay open), asked by clients that no rule of the policy refuses by name.
OPEN_PATHS = ["/robots.txt", "/feed.xml", "/assets/site.css", "/assets/site.js",
              "/assets/logo.svg", ARTICLES[0].replace("/articles/", "/assets/img/")[:-5] + ".svg"]


class FeedsAndPreviews(AdmitCase):

    def survey(self, row, client, cases, check, figure, expected, rules=None):
        """cases: [(label, headers, path)], one request each; check(response, path) -> the list
        of what is wrong with it."""
        if rules:
            self.start(rules)
        else:
            self.start()
        bad = []
        for label, headers, path in cases:
            r = simple_get(self.proxy.port, path, headers=headers)
            problems = check(r, path)
            if is_interstitial(r.body):
                problems.append("a challenge page")
            if problems:
                bad.append("%s %s: %s" % (label, path, ", ".join(problems)))
        record(row, client, "%d/%d %s" % (len(cases) - len(bad), len(cases), figure), expected,
               not bad)
        self.assertEqual(bad, [], "\n  ".join([""] + bad))

    def test_feed_readers_get_the_feed_on_every_poll(self):
        def check(r, path):
            ok = r.status == 200 and b"<rss" in r.body and b"<item>" in r.body
            return [] if ok else ["status %d, not the feed" % r.status]
        accept = ("Accept", "application/rss+xml, application/xml, */*")
        cases = [(ua[:40], [("User-Agent", ua), accept], "/feed.xml")
                 for ua in FEED_READERS for _ in range(FEED_POLLS)]
        self.survey("feed readers", "%d readers x %d polls" % (len(FEED_READERS), FEED_POLLS),
                    cases, check, "polls got the feed", "every poll")

    def test_open_paths_stay_open(self):
        def check(r, path):
            with open(os.path.join(SITE_DIR, path.lstrip("/")), "rb") as f:
                ok = r.status == 200 and r.body == f.read()
            return [] if ok else ["status %d, not the file" % r.status]
        # No Accept-Encoding: the body is compared with the file as it is.
        chrome = [(k, v) for k, v in CHROME_HEADERS if k.lower() != "accept-encoding"]
        clients = [("chrome-headers", chrome),
                   ("monitoring", [("User-Agent", NON_BROWSER_UAS["monitoring"][0])]),
                   ("feed reader", [("User-Agent", FEED_READERS[0])])]
        cases = [(name, headers, path) for name, headers in clients for path in OPEN_PATHS]
        self.survey("feed readers", "open paths (%d paths x %d clients)"
                    % (len(OPEN_PATHS), len(clients)), cases, check, "served", "all")

    def test_link_previews_get_the_head_not_the_body(self):
        # The head-only page keeps the <title> and every description / og:* / twitter:* meta of
        # the page's head (the demo pages have a description and no og:* tags).
        def check(r, path):
            text = r.body.decode("utf-8", "replace")
            title, metas = head_meta(path)
            problems = [] if r.status == 200 else ["status %d" % r.status]
            if "<title>%s</title>" % title not in text:
                problems.append("no <title>")
            problems += ["no " + k for k, v in metas.items() if 'content="%s"' % v not in text]
            if got_article(200, r.body, path):
                problems.append("the article's body text")
            return problems
        cases = [(ua[:40], [("User-Agent", ua), ("Accept", "*/*")], path)
                 for ua in LINK_PREVIEWS for path in articles(PREVIEW_ARTICLES)]
        # Twitterbot and TelegramBot publish their networks: from elsewhere they are impostors
        # (503). Here loopback is in their networks, as their real fetches are in the real ones.
        rules = copy_shipped_rules(self)
        for name in ("twitterbot.txt", "telegrambot.txt"):
            with open(os.path.join(rules, "networks", name), "a") as f:
                f.write("\n# test: loopback is this previewer here\n127.0.0.0/8\n")
        self.survey("link previews", "%d previewers x %d articles"
                    % (len(LINK_PREVIEWS), PREVIEW_ARTICLES), cases, check, "head-only",
                    "all head-only", rules=rules)


# ------------------------------------------------------------------------------------------------
# Rows 6 and 7: search engines, verified and not.

CRAWLER_HEADERS = [("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                   ("From", "googlebot(at)googlebot.com")]
UNVERIFIED_CLAIMS = [
    GOOGLEBOT_UA,
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
]


class SearchEngines(AdmitCase):

    def crawl(self, ua, paths):
        results = []
        for p in paths:
            r = simple_get(self.proxy.port, p, headers=[("User-Agent", ua)] + CRAWLER_HEADERS)
            results.append((p, r.status, r.body))
        return results

    def test_verified_crawler_gets_every_article(self):
        rules = copy_shipped_rules(self)
        with open(os.path.join(rules, "networks", "googlebot.txt"), "a") as f:
            f.write("\n# test: loopback is Googlebot here\n127.0.0.0/8\n")
        self.start(rules)
        got, outs = tally(self.crawl(GOOGLEBOT_UA, ARTICLES))
        ok = got == len(ARTICLES)
        record("verified crawler", "Googlebot from a listed range",
               "%d/%d articles" % (got, len(ARTICLES)), "all", ok)
        self.assertEqual(got, len(ARTICLES), compact(outs))

    def test_unverified_claims_get_no_article(self):
        self.start()
        over = []
        total = 0
        for ua in UNVERIFIED_CLAIMS:
            got, outs = tally(self.crawl(ua, articles(UA_ARTICLES)))
            total += got
            print("    unverified %d/%d  %-24s %s" % (got, UA_ARTICLES, compact(outs), ua[:60]))
            if got:
                over.append("%s: %d" % (ua, got))
        record("unverified claims", "%d crawler UAs x %d from 127.0.0.1"
               % (len(UNVERIFIED_CLAIMS), UA_ARTICLES),
               "%d/%d articles" % (total, len(UNVERIFIED_CLAIMS) * UA_ARTICLES), "0", not over)
        self.assertEqual(over, [])


if __name__ == "__main__":
    unittest.main()
