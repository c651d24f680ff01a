#!/usr/bin/env python3
"""Generates the demo news site under demo/site/ from the seed article.

The seed is the plain-text reader's copy of one real article of the Arabic news site that bawwab
protects (see /work/shared/seed/README.md). The first article page is the seed itself; the others
re-arrange its paragraphs under titles taken from the events the seed reports, each opened by a
one-sentence lede that restates the seed's facts, so every page is distinct, realistic Arabic and
several KB, without inventing news. The seed's copy-guard line is site chrome, not content: dropped.

Run once and commit the output; the build embeds demo/site/ and never runs python:
    python3 demo/make_site.py [--seed PATH]
The output is deterministic (fixed dates, sorted lists), so re-running on an unchanged seed
changes nothing. Files under demo/site/ that this script does not produce are removed.
"""

import argparse
import html
import math
import os
import sys
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "site")
DEFAULT_SEED = "/work/shared/seed/000_771e1424d74f8935.txt"

# Feeds, sitemaps and robots.txt need absolute URLs. The demo runs on whatever loopback port the
# user picks, so they name a reserved example domain (RFC 2606), as a real site would name its own.
BASE_URL = "https://news.example"
SITE_NAME = "الجريدة التجريبية"
SITE_TAGLINE = "موقع إخباري تجريبي يحرسه بوّاب"
TZ = timezone(timedelta(hours=1))  # Morocco

# Markers in the seed text, as the reader's copy shows them.
RELATED_HEADING = "مقالات ذات صلة"
LEAVE_COMMENT = "اترك تعليقاً"
COMMENT_NOTICE_PREFIX = "لن يتم نشر عنوان بريدك الإلكتروني"
BACK_TO_TOP = "زر الذهاب إلى الأعلى"
COPY_GUARD_PREFIX = "error: Content is protected"

# Moroccan month names, as Moroccan news sites print them.
MONTHS = ["يناير", "فبراير", "مارس", "أبريل", "ماي", "يونيو", "يوليوز", "غشت", "شتنبر",
          "أكتوبر", "نونبر", "دجنبر"]
RFC822_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
RFC822_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                 "Dec"]

# The derived articles: each reports one event the seed mentions. A one-sentence lede restates
# the seed's own facts about that event (so the front page shows a distinct summary per article),
# then come the seed paragraphs that tell it, most relevant first. Paragraph indexes refer to the
# seed body (0-based). Motifs pick the illustration.
DERIVED = [
    ("hammouchi-spain-counter-terrorism",
     "حموشي ونظيره الإسباني يعززان التعاون في مكافحة الإرهاب والجريمة المنظمة",
     "بحث المدير العام للأمن الوطني ولمراقبة التراب الوطني، عبد اللطيف حموشي، مع نظيره "
     "الإسباني فرانسيسكو باردو بيكيراس سبل تدعيم الجهود الثنائية في مكافحة الإرهاب والجريمة "
     "المنظمة والجرائم السيبيرانية.",
     [4, 2, 0, 6], "shield"),
    ("morocco-germany-sports-security",
     "تعاون أمني مغربي ألماني في مجال الأمن الرياضي والتظاهرات الكبرى",
     "تباحث عبد اللطيف حموشي مع رئيس الشرطة الفدرالية الألمانية ديتر رومان ورئيس المكتب "
     "الفيدرالي للشرطة الجنائية هولغر منش حول سبل تعزيز الأمن في مجال الأمن الرياضي والتظاهرات "
     "الكبرى.",
     [4, 3, 1, 5], "stadium"),
    ("paris-2024-olympics-moroccan-expertise",
     "الخبرة الأمنية المغربية في خدمة تأمين الألعاب الأولمبية باريس 2024",
     "التقى عبد اللطيف حموشي بالمدير العام للشرطة الوطنية الفرنسية فريديريك فو، لبحث الاستعانة "
     "بالخبرة المغربية في تأمين الألعاب الأولمبية الصيفية 2024 بباريس.",
     [5, 1, 2, 6], "medal"),
    ("world-cup-2030-security-readiness",
     "المملكة تستعد أمنيا لاحتضان كأس العالم 2030 مع إسبانيا والبرتغال",
     "تواصل المملكة المغربية استعداداتها لاحتضان كأس العالم 2030 جنبا إلى جنب مع البرتغال "
     "وإسبانيا، مستندة إلى ما تنعم به من مستويات عالية من الأمن والاستقرار.",
     [6, 0, 3, 4], "ball"),
    ("interpol-general-assembly-marrakech-2025",
     "مراكش تحتضن الدورة 93 للجمعية العامة للأنتربول سنة 2025",
     "تستعد مدينة مراكش لاستقبال الدورة 93 لأشغال الجمعية العامة للمنظمة الدولية للشرطة "
     "الجنائية (أنتربول) خلال سنة 2025.",
     [6, 5, 2, 1], "pin"),
    ("morocco-us-periodic-security-meetings",
     "اجتماعات دورية بين الأجهزة الأمنية المغربية ونظيراتها الأمريكية",
     "يحرص عبد اللطيف حموشي على حضور وتأطير الاجتماعات الدورية مع نظرائه من الولايات المتحدة "
     "الأمريكية، في إطار تعزيز التعاون الأمني بين البلدين.",
     [5, 0, 3, 2], "globe"),
    ("european-capitals-praise-moroccan-security",
     "عواصم أوروبية تشيد باحترافية الأمن المغربي",
     "تستمر العديد من الدول الأوروبية في الإشادة باحترافية الأجهزة الأمنية المغربية، وبالتعاون "
     "الذي يرقى إلى درجة الشراكة.",
     [1, 2, 0, 3, 5], "stars"),
    ("bilateral-efforts-against-cybercrime",
     "جهود ثنائية مغربية إسبانية لمكافحة الجرائم السيبيرانية",
     "تشكل مكافحة الجرائم السيبيرانية أحد محاور الجهود الثنائية التي يدعمها المغرب وإسبانيا، "
     "إلى جانب مكافحة الإرهاب والجريمة المنظمة.",
     [4, 3, 6, 0], "network"),
    ("morocco-stability-in-troubled-region",
     "المغرب واحة للأمن والاستقرار في محيط مضطرب",
     "تعد المملكة المغربية من الدول القلائل في المنطقة التي تنعم بمستويات عالية من الأمن "
     "والاستقرار، في زمن تشهد فيه دول كثيرة حالات خطيرة من عدم الاستقرار.",
     [6, 0, 1, 2], "shield"),
]
SEED_SLUG = "hammouchi-moroccan-security-partnerships-europe"
SEED_DATE = datetime(2024, 3, 12, 10, 30, tzinfo=TZ)
HUES = [4, 150, 210, 25, 280, 190, 340, 45, 120, 230]


def parse_seed(text):
    """Returns (category, title, paragraphs, comment_notice). Raises ValueError on a bad seed."""
    lines = [l.strip() for l in text.splitlines()]
    lines = [l for l in lines if l]
    if len(lines) < 3:
        raise ValueError("seed too short")
    category, title = lines[0], lines[1]
    try:
        end = lines.index(RELATED_HEADING)
    except ValueError:
        raise ValueError("seed has no '%s' line" % RELATED_HEADING)
    paragraphs = lines[2:end]
    notice = next((l for l in lines[end:] if l.startswith(COMMENT_NOTICE_PREFIX)), None)
    if not paragraphs or notice is None:
        raise ValueError("seed has no body or no comment notice")
    return category, title, paragraphs, notice


def esc(s):
    return html.escape(s, quote=True)


def arabic_date(d):
    return "%d %s %d" % (d.day, MONTHS[d.month - 1], d.year)


def rfc822(d):
    return "%s, %02d %s %d %02d:%02d:%02d %s" % (
        RFC822_DAYS[d.weekday()], d.day, RFC822_MONTHS[d.month - 1], d.year, d.hour, d.minute,
        d.second, d.strftime("%z"))


def excerpt(text, limit=180):
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit] + "…"


def word_count(paragraphs):
    return sum(len(p.split()) for p in paragraphs)


# --- illustrations -------------------------------------------------------------------------------

def motif_svg(motif):
    """White line-art motif centred in a 800x400 box."""
    w = 'fill="none" stroke="#fff" stroke-width="10" stroke-linejoin="round" stroke-linecap="round"'
    if motif == "shield":
        return ('<path d="M400 90 L500 130 Q500 260 400 320 Q300 260 300 130 Z" %s/>'
                '<path d="M355 200 L390 235 L450 165" %s/>' % (w, w))
    if motif == "rings":
        # Two linked rings: a partnership.
        return ('<circle cx="340" cy="200" r="95" %s/><circle cx="460" cy="200" r="95" %s/>'
                % (w, w))
    if motif == "stadium":
        return ('<ellipse cx="400" cy="210" rx="190" ry="90" %s/>'
                '<ellipse cx="400" cy="210" rx="110" ry="45" %s/>'
                '<line x1="400" y1="165" x2="400" y2="255" %s/>' % (w, w, w))
    if motif == "medal":
        return ('<path d="M350 80 L380 170 M450 80 L420 170" %s/>'
                '<circle cx="400" cy="230" r="70" %s/>'
                '<path d="M400 190 L412 218 L442 220 L419 239 L427 268 L400 252 L373 268 '
                'L381 239 L358 220 L388 218 Z" fill="#fff"/>' % (w, w))
    if motif == "ball":
        return ('<circle cx="400" cy="200" r="110" %s/>'
                '<path d="M400 150 L445 183 L428 236 L372 236 L355 183 Z" fill="#fff"/>'
                '<path d="M400 150 L400 90 M445 183 L503 165 M428 236 L463 288 M372 236 '
                'L337 288 M355 183 L297 165" %s/>' % (w, w))
    if motif == "pin":
        return ('<path d="M400 330 Q310 220 310 170 A90 90 0 0 1 490 170 Q490 220 400 330 Z" '
                '%s/><circle cx="400" cy="170" r="32" %s/>' % (w, w))
    if motif == "globe":
        return ('<circle cx="400" cy="200" r="120" %s/><ellipse cx="400" cy="200" rx="50" '
                'ry="120" %s/><line x1="280" y1="200" x2="520" y2="200" %s/>'
                '<path d="M296 140 H504 M296 260 H504" %s/>' % (w, w, w, w))
    if motif == "stars":
        stars = []
        for i in range(12):
            # A ring of twelve dots, the way European symbols show a union of states.
            a = 2 * math.pi * i / 12
            stars.append('<circle cx="%.1f" cy="%.1f" r="12" fill="#fff"/>' %
                         (400 + 120 * math.cos(a), 200 + 120 * math.sin(a)))
        return "".join(stars) + '<circle cx="400" cy="200" r="40" %s/>' % w
    if motif == "network":
        nodes = [(300, 130), (500, 120), (400, 210), (290, 290), (510, 290)]
        lines = "".join('<line x1="%d" y1="%d" x2="%d" y2="%d" %s/>' %
                        (nodes[a][0], nodes[a][1], nodes[b][0], nodes[b][1], w)
                        for a, b in [(0, 2), (1, 2), (3, 2), (4, 2), (0, 1), (3, 4)])
        dots = "".join('<circle cx="%d" cy="%d" r="22" fill="#fff"/>' % n for n in nodes)
        return lines + dots
    raise ValueError("unknown motif " + motif)


def illustration(title, motif, hue):
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 800 400" width="800" height="400" '
        'role="img">\n'
        '<title>%s</title>\n'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        '<stop offset="0" stop-color="hsl(%d,55%%,38%%)"/>'
        '<stop offset="1" stop-color="hsl(%d,60%%,22%%)"/></linearGradient></defs>\n'
        '<rect width="800" height="400" fill="url(#g)"/>\n'
        '<circle cx="90" cy="340" r="160" fill="#fff" opacity=".06"/>\n'
        '<circle cx="720" cy="60" r="120" fill="#fff" opacity=".08"/>\n'
        '%s\n'
        '</svg>\n' % (esc(title), hue, (hue + 20) % 360, motif_svg(motif)))


LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" width="64" height="64" '
    'role="img">\n'
    '<title>%s</title>\n'
    '<rect width="64" height="64" rx="12" fill="#0b5d3b"/>\n'
    '<path d="M18 52 V26 A14 14 0 0 1 46 26 V52" fill="none" stroke="#fff" stroke-width="5"/>\n'
    '<path d="M26 52 V30 A6 6 0 0 1 38 30 V52" fill="#c8102e"/>\n'
    '<circle cx="32" cy="16" r="3" fill="#f2c94c"/>\n'
    '</svg>\n' % esc(SITE_NAME))


# --- stylesheet and script ------------------------------------------------------------------------

# Logical properties (margin-inline-start, inset-inline-end...) so the layout follows dir="rtl"
# without a mirrored copy of every rule.
CSS = """/* Demo news site: right-to-left friendly (logical properties), no web fonts. */
:root {
  --ink: #1d1d1f;
  --muted: #6b6b70;
  --brand: #0b5d3b;
  --accent: #c8102e;
  --paper: #ffffff;
  --line: #e4e4e7;
  --bg: #f5f5f4;
}
* { box-sizing: border-box; }
html { font-size: 17px; }
body {
  margin: 0;
  background: var(--bg);
  color: var(--ink);
  font-family: "Noto Naskh Arabic", "Noto Sans Arabic", "Segoe UI", Tahoma, "DejaVu Sans",
    sans-serif;
  line-height: 1.8;
  text-align: start;
}
a { color: var(--brand); text-decoration: none; }
a:hover, a:focus { text-decoration: underline; }
img { max-width: 100%; height: auto; display: block; }
.container { max-width: 1100px; margin-inline: auto; padding-inline: 1rem; }

.site-header { background: var(--paper); border-block-end: 4px solid var(--brand); }
.site-header .bar { display: flex; align-items: center; justify-content: space-between; gap: 1rem;
  padding-block: .75rem; flex-wrap: wrap; }
.brand { display: flex; align-items: center; gap: .6rem; color: var(--ink); }
.brand .name { font-size: 1.6rem; font-weight: 700; }
.tagline { margin: 0; color: var(--muted); font-size: .9rem; }
.nav { display: flex; gap: 1.25rem; padding-block: .5rem; font-weight: 600; }

.layout { display: grid; grid-template-columns: minmax(0, 1fr) 300px; gap: 1.5rem;
  padding-block: 1.5rem; }
.layout > .post, .layout > .related, .layout > .comments, .layout > .lead, .layout > .latest {
  grid-column: 1; }
.sidebar { grid-column: 2; grid-row: 1 / span 3; align-self: start; background: var(--paper);
  border: 1px solid var(--line); border-radius: 6px; padding: 1rem; }
.sidebar ol { padding-inline-start: 1.25rem; margin: 0; }
.sidebar li { margin-block-end: .5rem; }

.post, .lead, .related, .comments, .latest { background: var(--paper);
  border: 1px solid var(--line); border-radius: 6px; padding: 1.25rem 1.5rem; }
.post h1, .lead h1 { font-size: 1.9rem; line-height: 1.4; margin-block: .25rem .5rem; }
.lead h1 a { color: var(--ink); }
.category { margin: 0; font-size: .85rem; font-weight: 700; color: var(--accent); }
.category a { color: var(--accent); }
.meta { color: var(--muted); font-size: .85rem; margin-block: 0 .75rem; }
.hero { margin: 0 0 1rem; }
.hero img, .lead img { border-radius: 4px; width: 100%; }
.entry-content p { margin-block: 0 1.1rem; text-align: justify; }
.entry-content .lede { font-weight: 700; font-size: 1.05rem; }
.excerpt { font-size: 1.05rem; }

.cards { list-style: none; margin: 0; padding: 0; }
.card { display: grid; grid-template-columns: 200px minmax(0, 1fr); gap: 1rem;
  padding-block: 1rem; border-block-start: 1px solid var(--line); }
.card:first-child { border-block-start: 0; }
.card h3 { margin: 0; font-size: 1.15rem; line-height: 1.5; }
.card h3 a { color: var(--ink); }
.card p { margin-block: .25rem 0; }

.related ul { list-style: none; margin: 0; padding: 0; display: grid;
  grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 1rem; }
.related li a { display: block; color: var(--ink); font-weight: 600; line-height: 1.5; }
.related li img { margin-block-end: .4rem; border-radius: 4px; }
.related time { color: var(--muted); font-size: .8rem; }

.comment-form label { display: block; font-weight: 600; }
.comment-form .consent label { display: inline; font-weight: 400; }
.comment-form textarea, .comment-form input[type="text"], .comment-form input[type="email"],
.comment-form input[type="url"] { width: 100%; padding: .5rem; border: 1px solid var(--line);
  border-radius: 4px; font: inherit; }
.comment-form button { background: var(--brand); color: #fff; border: 0; border-radius: 4px;
  padding: .6rem 1.4rem; font: inherit; cursor: pointer; }
.notice { color: var(--muted); font-size: .9rem; }
.req { color: var(--accent); }

.site-footer { background: #1f2a24; color: #d9e2dc; padding-block: 1.5rem; margin-block-start: 2rem;
  font-size: .9rem; }
.site-footer a { color: #fff; }
.back-to-top { position: fixed; inset-block-end: 1.25rem; inset-inline-end: 1.25rem; width: 2.75rem;
  height: 2.75rem; border-radius: 50%; background: var(--brand); color: #fff; display: grid;
  place-items: center; font-size: 1.4rem; box-shadow: 0 2px 6px rgba(0, 0, 0, .25); }
.back-to-top[hidden] { display: none; }

@media (max-width: 800px) {
  .layout { grid-template-columns: minmax(0, 1fr); }
  .sidebar { grid-column: 1; grid-row: auto; }
  .card { grid-template-columns: 1fr; }
  .post h1, .lead h1 { font-size: 1.5rem; }
}
"""

# Harmless and self-contained: no network, no storage, no tracking. It only decorates the page.
JS = """// Demo news site script: today's date, reading time, back-to-top button. No network access.
(function () {
  'use strict';

  // Arabic counts: 1 دقيقة, 2 دقيقتان, 3-10 دقائق, 11+ دقيقة.
  function minutes(n) {
    if (n === 1) return 'دقيقة واحدة';
    if (n === 2) return 'دقيقتان';
    if (n >= 3 && n <= 10) return n + ' دقائق';
    return n + ' دقيقة';
  }

  function formatDate(date, withTime) {
    var options = { year: 'numeric', month: 'long', day: 'numeric' };
    if (withTime) { options.hour = '2-digit'; options.minute = '2-digit'; }
    try {
      return date.toLocaleDateString('ar-MA', options);
    } catch (e) {
      return date.toISOString().slice(0, 10);
    }
  }

  function ready() {
    document.querySelectorAll('.today').forEach(function (el) {
      el.textContent = formatDate(new Date(), false);
    });

    // About 180 words a minute for Arabic news prose.
    document.querySelectorAll('.reading-time[data-words]').forEach(function (el) {
      var words = parseInt(el.getAttribute('data-words'), 10) || 0;
      el.textContent = 'مدة القراءة: ' + minutes(Math.max(1, Math.round(words / 180)));
    });

    document.querySelectorAll('time[datetime]').forEach(function (el) {
      var d = new Date(el.getAttribute('datetime'));
      if (!isNaN(d.getTime())) el.title = formatDate(d, true);
    });

    var top = document.querySelector('.back-to-top');
    if (top) {
      var update = function () { top.hidden = window.scrollY < 400; };
      window.addEventListener('scroll', update, { passive: true });
      update();
    }
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', ready);
  } else {
    ready();
  }
})();
"""


# --- pages ---------------------------------------------------------------------------------------

def head(title, description):
    return (
        '<!DOCTYPE html>\n'
        '<html lang="ar" dir="rtl">\n'
        '<head>\n'
        '<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<title>%s</title>\n'
        '<meta name="description" content="%s">\n'
        '<link rel="stylesheet" href="/assets/site.css">\n'
        '<link rel="icon" href="/assets/logo.svg" type="image/svg+xml">\n'
        '<link rel="alternate" type="application/rss+xml" title="%s" href="/feed.xml">\n'
        '<script src="/assets/site.js" defer></script>\n'
        '</head>\n' % (esc(title), esc(description), esc(SITE_NAME)))


def header(category):
    return (
        '<body id="top">\n'
        '<header class="site-header">\n'
        '<div class="container bar">\n'
        '<a class="brand" href="/"><img src="/assets/logo.svg" alt="" width="48" height="48">'
        '<span class="name">%s</span></a>\n'
        '<p class="tagline">%s · <span class="today"></span></p>\n'
        '</div>\n'
        '<nav class="container nav"><a href="/">الرئيسية</a><a href="/#latest">%s</a>'
        '<a href="/feed.xml">RSS</a></nav>\n'
        '</header>\n' % (esc(SITE_NAME), esc(SITE_TAGLINE), esc(category)))


def footer():
    return (
        '<footer class="site-footer">\n'
        '<div class="container">\n'
        '<p>© 2024 %s. موقع تجريبي يقدمه خادم العرض المدمج في بوّاب، ولا يجمع أي بيانات.</p>\n'
        '<p><a href="/feed.xml">RSS</a> · <a href="/sitemap.xml">خريطة الموقع</a> · '
        '<a href="/robots.txt">robots.txt</a></p>\n'
        '</div>\n'
        '</footer>\n'
        '<a href="#top" class="back-to-top" title="%s" aria-label="%s">↑</a>\n'
        '</body>\n'
        '</html>\n' % (esc(SITE_NAME), esc(BACK_TO_TOP), esc(BACK_TO_TOP)))


def time_tag(d):
    return '<time datetime="%s">%s</time>' % (d.isoformat(), arabic_date(d))


def comment_form(notice):
    # The labels are the site's own (WordPress, Arabic). The origin answers POST with 405: the
    # demo does not store comments, but a proxy rule on comment spam has a realistic target.
    return (
        '<section class="comments" id="respond">\n'
        '<h2>%s</h2>\n'
        '<form class="comment-form" action="/wp-comments-post.php" method="post">\n'
        '<p class="notice">%s</p>\n'
        '<p><label for="comment">التعليق <span class="req">*</span></label>\n'
        '<textarea id="comment" name="comment" rows="6" required></textarea></p>\n'
        '<p><label for="author">الاسم <span class="req">*</span></label>\n'
        '<input id="author" name="author" type="text" autocomplete="name" required></p>\n'
        '<p><label for="email">البريد الإلكتروني <span class="req">*</span></label>\n'
        '<input id="email" name="email" type="email" autocomplete="email" dir="ltr" '
        'required></p>\n'
        '<p><label for="url">الموقع الإلكتروني</label>\n'
        '<input id="url" name="url" type="url" dir="ltr"></p>\n'
        '<p class="consent"><input id="consent" name="consent" type="checkbox"> '
        '<label for="consent">احفظ اسمي، بريدي الإلكتروني، والموقع الإلكتروني في هذا المتصفح '
        'لاستخدامها المرة المقبلة في تعليقي.</label></p>\n'
        '<p><button type="submit">إرسال التعليق</button></p>\n'
        '</form>\n'
        '</section>\n' % (esc(LEAVE_COMMENT), esc(notice)))


def sidebar(articles):
    most_read = "".join('<li><a href="/articles/%s.html">%s</a></li>\n' % (a["slug"],
                        esc(a["title"])) for a in articles[::3])
    return '<aside class="sidebar">\n<h2>الأكثر قراءة</h2>\n<ol>\n%s</ol>\n</aside>\n' % most_read


def article_page(a, articles, category, notice):
    paragraphs = "".join('<p class="lede">%s</p>\n' % esc(p) if p == a["lede"] else
                         "<p>%s</p>\n" % esc(p) for p in a["paragraphs"])
    # Related: the next four articles in list order, wrapping, so each page links to different
    # ones and every article is linked from several pages.
    i = articles.index(a)
    related = [articles[(i + k) % len(articles)] for k in range(1, 5)]
    related_items = "".join(
        '<li><a href="/articles/%s.html"><img src="/assets/img/%s.svg" alt="" width="160" '
        'height="80" loading="lazy"><span>%s</span></a>%s</li>\n'
        % (r["slug"], r["slug"], esc(r["title"]), time_tag(r["date"])) for r in related)
    return (
        head("%s – %s" % (a["title"], SITE_NAME), a["excerpt"]) + header(category) +
        '<main class="container layout">\n'
        '<article class="post">\n'
        '<p class="category"><a href="/#latest">%s</a></p>\n'
        '<h1>%s</h1>\n'
        '<p class="meta">%s · <span class="reading-time" data-words="%d"></span></p>\n'
        '<figure class="hero"><img src="/assets/img/%s.svg" alt="%s" width="800" height="400">'
        '</figure>\n'
        '<div class="entry-content">\n%s</div>\n'
        '</article>\n'
        '<section class="related">\n<h2>%s</h2>\n<ul>\n%s</ul>\n</section>\n'
        '%s%s'
        '</main>\n'
        % (esc(category), esc(a["title"]), time_tag(a["date"]), a["words"], a["slug"],
           esc(a["title"]), paragraphs, esc(RELATED_HEADING), related_items,
           comment_form(notice), sidebar(articles)) + footer())


def index_page(articles, category):
    lead, rest = articles[0], articles[1:]
    items = "".join(
        '<li class="card"><a href="/articles/%s.html"><img src="/assets/img/%s.svg" alt="" '
        'width="240" height="120" loading="lazy"></a>\n'
        '<div><h3><a href="/articles/%s.html">%s</a></h3>\n<p class="meta">%s</p>\n'
        '<p>%s</p></div></li>\n'
        % (a["slug"], a["slug"], a["slug"], esc(a["title"]), time_tag(a["date"]),
           esc(a["excerpt"])) for a in rest)
    return (
        head("%s – %s" % (SITE_NAME, SITE_TAGLINE), SITE_TAGLINE) + header(category) +
        '<main class="container layout">\n'
        '<section class="lead">\n'
        '<a href="/articles/%s.html"><img src="/assets/img/%s.svg" alt="%s" width="800" '
        'height="400"></a>\n'
        '<p class="category">%s</p>\n'
        '<h1><a href="/articles/%s.html">%s</a></h1>\n'
        '<p class="meta">%s</p>\n'
        '<p class="excerpt">%s</p>\n'
        '</section>\n'
        '<section class="latest" id="latest">\n<h2>آخر الأخبار</h2>\n<ul class="cards">\n%s'
        '</ul>\n</section>\n'
        '%s'
        '</main>\n'
        % (lead["slug"], lead["slug"], esc(lead["title"]), esc(category), lead["slug"],
           esc(lead["title"]), time_tag(lead["date"]), esc(lead["excerpt"]), items,
           sidebar(articles))
        + footer())


def feed(articles, category):
    items = "".join(
        '<item>\n'
        '<title>%s</title>\n'
        '<link>%s/articles/%s.html</link>\n'
        '<guid isPermaLink="true">%s/articles/%s.html</guid>\n'
        '<pubDate>%s</pubDate>\n'
        '<category>%s</category>\n'
        '<description>%s</description>\n'
        '</item>\n'
        % (esc(a["title"]), BASE_URL, a["slug"], BASE_URL, a["slug"], rfc822(a["date"]),
           esc(category), esc(a["excerpt"])) for a in articles)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        '<channel>\n'
        '<title>%s</title>\n'
        '<link>%s/</link>\n'
        '<description>%s</description>\n'
        '<language>ar</language>\n'
        '<lastBuildDate>%s</lastBuildDate>\n'
        '<atom:link href="%s/feed.xml" rel="self" type="application/rss+xml"/>\n'
        '%s'
        '</channel>\n'
        '</rss>\n'
        % (esc(SITE_NAME), BASE_URL, esc(SITE_TAGLINE), rfc822(articles[0]["date"]), BASE_URL,
           items))


def sitemap(articles):
    urls = ['<url><loc>%s/</loc><lastmod>%s</lastmod><changefreq>hourly</changefreq></url>\n'
            % (BASE_URL, articles[0]["date"].date().isoformat())]
    urls += ['<url><loc>%s/articles/%s.html</loc><lastmod>%s</lastmod></url>\n'
             % (BASE_URL, a["slug"], a["date"].date().isoformat()) for a in articles]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n%s</urlset>\n'
            % "".join(urls))


def robots():
    return "User-agent: *\nAllow: /\n\nSitemap: %s/sitemap.xml\n" % BASE_URL


def build(seed_text):
    category, title, paragraphs, notice = parse_seed(seed_text)
    if max(max(d[3]) for d in DERIVED) >= len(paragraphs):
        raise ValueError("seed has fewer paragraphs than the derived articles use")
    articles = [{"slug": SEED_SLUG, "title": title, "lede": None, "paragraphs": paragraphs,
                 "date": SEED_DATE, "motif": "rings"}]
    for n, (slug, t, lede, order, motif) in enumerate(DERIVED, start=1):
        # Older than the seed, a few days apart, at varied hours, like a real archive.
        date = SEED_DATE - timedelta(days=3 * n + n % 2, hours=(5 * n) % 9)
        articles.append({"slug": slug, "title": t, "lede": lede,
                         "paragraphs": [lede] + [paragraphs[i] for i in order],
                         "date": date, "motif": motif})
    for n, a in enumerate(articles):
        a["excerpt"] = excerpt(a["paragraphs"][0])
        if any(a["excerpt"] == b["excerpt"] for b in articles[:n]):
            raise ValueError("two articles share the excerpt of " + a["slug"])
        a["words"] = word_count(a["paragraphs"])
        a["hue"] = HUES[n % len(HUES)]

    files = {
        "index.html": index_page(articles, category),
        "feed.xml": feed(articles, category),
        "sitemap.xml": sitemap(articles),
        "robots.txt": robots(),
        "assets/logo.svg": LOGO,
        "assets/site.css": CSS,
        "assets/site.js": JS,
    }
    for a in articles:
        files["articles/%s.html" % a["slug"]] = article_page(a, articles, category, notice)
        files["assets/img/%s.svg" % a["slug"]] = illustration(a["title"], a["motif"], a["hue"])
    for name, content in files.items():
        if COPY_GUARD_PREFIX in content:
            raise ValueError("copy-guard text leaked into " + name)
    return files


def write_tree(files):
    wanted = {os.path.normpath(os.path.join(OUT, name)) for name in files}
    for root, _, names in os.walk(OUT):
        for n in names:
            p = os.path.normpath(os.path.join(root, n))
            if p not in wanted:
                os.remove(p)
    changed = 0
    for name, content in sorted(files.items()):
        path = os.path.join(OUT, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = content.encode("utf-8")
        try:
            with open(path, "rb") as f:
                if f.read() == data:
                    continue
        except FileNotFoundError:
            pass
        with open(path, "wb") as f:
            f.write(data)
        changed += 1
    total = sum(len(c.encode("utf-8")) for c in files.values())
    print("demo/site: %d files, %d bytes, %d changed" % (len(files), total, changed))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", default=DEFAULT_SEED, help="seed article text (UTF-8)")
    args = ap.parse_args()
    with open(args.seed, encoding="utf-8") as f:
        seed_text = f.read()
    try:
        files = build(seed_text)
    except ValueError as e:
        print("make_site: %s: %s" % (args.seed, e), file=sys.stderr)
        return 1
    write_tree(files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
