// The embedded sample site: file lookup, content types, and the site's own consistency (every
// link resolves, pages are RTL Arabic UTF-8, the feed and sitemap list every article).
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/demo/assets.hpp"
#include "bawwab/demo/origin.hpp"

using bawwab::EmbeddedFile;
using bawwab::demo::content_type_for;
using bawwab::demo::find_site_file;

namespace {

constexpr std::string_view site_root = "demo/site/";
constexpr std::string_view base_url = "https://news.example";  // demo/make_site.py BASE_URL
constexpr std::string_view seed_title = "حموشي مهندس الشراكات الأمنية المغربية مع أوروبا";
constexpr std::string_view seed_page =
    "demo/site/articles/hammouchi-moroccan-security-partnerships-europe.html";

std::vector<const EmbeddedFile*> site_files(std::string_view under, std::string_view suffix) {
  std::vector<const EmbeddedFile*> out;
  for (const EmbeddedFile& f : bawwab::demo::assets::files()) {
    if (f.path.starts_with(under) && f.path.ends_with(suffix)) out.push_back(&f);
  }
  return out;
}

std::string_view path_of(const EmbeddedFile* f) { return f ? f->path : std::string_view("(none)"); }

std::size_t count(std::string_view hay, std::string_view needle) {
  std::size_t n = 0;
  for (std::size_t at = hay.find(needle); at != std::string_view::npos;
       at = hay.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// Values of every href="..." and src="..." attribute, by a plain scan (the generator always
// double-quotes attributes).
std::vector<std::string> link_values(std::string_view html) {
  std::vector<std::string> out;
  for (std::string_view attr : {" href=\"", " src=\""}) {
    for (std::size_t at = html.find(attr); at != std::string_view::npos;
         at = html.find(attr, at + 1)) {
      std::size_t start = at + attr.size();
      std::size_t end = html.find('"', start);
      REQUIRE(end != std::string_view::npos);
      out.emplace_back(html.substr(start, end - start));
    }
  }
  return out;
}

// The URL path a page at `page_url` reaches with `link` (root-absolute or relative).
std::string resolve(std::string_view page_url, std::string_view link) {
  if (link.starts_with('/') || link.starts_with('#')) return std::string(link);
  std::string base(page_url.substr(0, page_url.rfind('/') + 1));
  while (link.starts_with("../")) {
    link.remove_prefix(3);
    base.pop_back();
    base.erase(base.rfind('/') + 1);
  }
  if (link.starts_with("./")) link.remove_prefix(2);
  return base + std::string(link);
}

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80         ? 1
                      : (c >> 5) == 6  ? 2
                      : (c >> 4) == 14 ? 3
                      : (c >> 3) == 30 ? 4
                                       : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += len;
  }
  return true;
}

// Arabic letters are U+0600..U+06FF: lead bytes 0xD8..0xDB in UTF-8.
std::size_t arabic_chars(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    auto b = static_cast<unsigned char>(c);
    return b >= 0xD8 && b <= 0xDB;
  }));
}

// Enough of XML to catch a broken generator: tags nest and close, one root element, entities
// are the predefined ones or numeric. Returns an empty string when fine, else the problem.
std::string xml_problem(std::string_view x) {
  std::vector<std::string_view> stack;
  int roots = 0;
  std::size_t i = 0;
  while (i < x.size()) {
    if (x[i] == '&') {
      std::size_t semi = x.find(';', i);
      if (semi == std::string_view::npos) return "unterminated entity";
      std::string_view ent = x.substr(i + 1, semi - i - 1);
      if (ent != "amp" && ent != "lt" && ent != "gt" && ent != "quot" && ent != "apos" &&
          !ent.starts_with('#')) {
        return "unknown entity &" + std::string(ent) + ";";
      }
      i = semi + 1;
      continue;
    }
    if (x[i] != '<') {
      ++i;
      continue;
    }
    std::string_view rest = x.substr(i);
    auto skip_to = [&](std::string_view end) {
      std::size_t e = x.find(end, i);
      i = e == std::string_view::npos ? x.size() + 1 : e + end.size();
    };
    if (rest.starts_with("<?")) {
      skip_to("?>");
    } else if (rest.starts_with("<!--")) {
      skip_to("-->");
    } else if (rest.starts_with("<![CDATA[")) {
      skip_to("]]>");
    } else {
      std::size_t close = x.find('>', i);
      if (close == std::string_view::npos) return "unterminated tag";
      std::string_view tag = x.substr(i + 1, close - i - 1);
      i = close + 1;
      if (tag.starts_with('/')) {
        std::string_view name = tag.substr(1);
        if (stack.empty() || stack.back() != name) return "unexpected </" + std::string(name) + ">";
        stack.pop_back();
        continue;
      }
      std::string_view name = tag.substr(0, tag.find_first_of(" \t\n/"));
      if (name.empty()) return "empty tag name";
      if (stack.empty()) ++roots;
      if (!tag.ends_with('/')) stack.push_back(name);
    }
    if (i > x.size()) return "unterminated markup";
  }
  if (!stack.empty()) return "unclosed <" + std::string(stack.back()) + ">";
  if (roots != 1) return "expected one root element, got " + std::to_string(roots);
  return {};
}

// Every <tag>...</tag> text in order.
std::vector<std::string_view> element_texts(std::string_view x, std::string_view tag) {
  std::vector<std::string_view> out;
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  for (std::size_t at = x.find(open); at != std::string_view::npos; at = x.find(open, at + 1)) {
    std::size_t start = at + open.size();
    std::size_t end = x.find(close, start);
    if (end == std::string_view::npos) break;
    out.push_back(x.substr(start, end - start));
  }
  return out;
}

std::string_view file_data(std::string_view path) {
  for (const EmbeddedFile& f : bawwab::demo::assets::files()) {
    if (f.path == path) return f.data;
  }
  FAIL("not embedded: " << path);
  return {};
}

}  // namespace

TEST_CASE("the embedded table holds the site, sorted, with subfolders") {
  auto files = bawwab::demo::assets::files();
  REQUIRE(files.size() >= 20);
  CHECK(
      std::is_sorted(files.begin(), files.end(),
                     [](const EmbeddedFile& a, const EmbeddedFile& b) { return a.path < b.path; }));
  std::size_t total = 0;
  for (const EmbeddedFile& f : files) {
    INFO(f.path);
    CHECK(!f.path.starts_with('/'));
    CHECK(f.path.find('\\') == std::string_view::npos);
    if (f.path.starts_with(site_root)) total += f.data.size();
  }
  CHECK(total < 300 * 1024);
  CHECK(site_files("demo/site/articles/", ".html").size() >= 8);
  CHECK(site_files("demo/site/assets/img/", ".svg").size() >= 3);
  // The data is NUL-terminated past its size, but the size itself excludes the terminator.
  CHECK(file_data("demo/site/robots.txt").back() == '\n');
}

TEST_CASE("find_site_file maps URL paths to site files") {
  CHECK(path_of(find_site_file("/")) == "demo/site/index.html");
  CHECK(path_of(find_site_file("/index.html")) == "demo/site/index.html");
  CHECK(path_of(find_site_file("/?utm_source=x")) == "demo/site/index.html");
  CHECK(path_of(find_site_file("/#latest")) == "demo/site/index.html");
  CHECK(path_of(find_site_file("/feed.xml")) == "demo/site/feed.xml");
  CHECK(path_of(find_site_file("/robots.txt")) == "demo/site/robots.txt");
  CHECK(path_of(find_site_file("/assets/site.css")) == "demo/site/assets/site.css");

  const std::string slug = "hammouchi-moroccan-security-partnerships-europe";
  CHECK(path_of(find_site_file("/articles/" + slug + ".html")) == seed_page);
  CHECK(path_of(find_site_file("/articles/" + slug)) == seed_page);
  CHECK(path_of(find_site_file("/articles/" + slug + "?page=2")) == seed_page);

  SECTION("misses") {
    CHECK(find_site_file("") == nullptr);
    CHECK(find_site_file("index.html") == nullptr);
    CHECK(find_site_file("/nope.html") == nullptr);
    CHECK(find_site_file("/articles/") == nullptr);  // no directory index there
    CHECK(find_site_file("/articles/nope") == nullptr);
    CHECK(find_site_file("/feed") == nullptr);  // only ".html" is implied
    CHECK(find_site_file("/assets/site.css.html") == nullptr);
  }
  SECTION("nothing outside demo/site/ is reachable") {
    CHECK(find_site_file("/config/demo.yaml") == nullptr);
    CHECK(find_site_file("/../../config/demo.yaml") == nullptr);
    CHECK(find_site_file("/articles/../index.html") == nullptr);
    CHECK(find_site_file("/./index.html") == nullptr);
    CHECK(find_site_file("//index.html") == nullptr);
    CHECK(find_site_file("/assets//site.css") == nullptr);
    CHECK(find_site_file("/assets\\site.css") == nullptr);
    CHECK(find_site_file(std::string_view("/index.html\0x", 13)) == nullptr);
    CHECK(find_site_file("/demo/site/index.html") == nullptr);
  }
}

TEST_CASE("content_type_for by extension") {
  CHECK(content_type_for("demo/site/index.html") == "text/html; charset=utf-8");
  CHECK(content_type_for("a/b/site.css") == "text/css; charset=utf-8");
  CHECK(content_type_for("site.js") == "text/javascript; charset=utf-8");
  CHECK(content_type_for("logo.svg") == "image/svg+xml");
  CHECK(content_type_for("LOGO.SVG") == "image/svg+xml");
  CHECK(content_type_for("demo/site/feed.xml") == "application/rss+xml; charset=utf-8");
  CHECK(content_type_for("news.rss") == "application/rss+xml; charset=utf-8");
  CHECK(content_type_for("demo/site/sitemap.xml") == "application/xml; charset=utf-8");
  CHECK(content_type_for("robots.txt") == "text/plain; charset=utf-8");
  CHECK(content_type_for("README") == "application/octet-stream");
  CHECK(content_type_for("archive.tar.gz") == "application/octet-stream");
  CHECK(content_type_for("dir.d/file") == "application/octet-stream");
  for (const EmbeddedFile& f : bawwab::demo::assets::files()) {
    INFO(f.path);
    if (f.path.starts_with(site_root))
      CHECK(content_type_for(f.path) != "application/octet-stream");
  }
}

TEST_CASE("every link in every page resolves to an embedded file") {
  auto pages = site_files(site_root, ".html");
  REQUIRE(pages.size() >= 9);
  std::size_t links = 0;
  for (const EmbeddedFile* page : pages) {
    const std::string page_url = "/" + std::string(page->path.substr(site_root.size()));
    for (const std::string& link : link_values(page->data)) {
      INFO(page->path << " -> " << link);
      REQUIRE(!link.empty());
      CHECK(link.find("://") == std::string::npos);  // the demo is self-contained
      std::string target = resolve(page_url, link);
      std::string fragment;
      if (auto hash = target.find('#'); hash != std::string::npos) {
        fragment = target.substr(hash + 1);
        target.erase(hash);
      }
      const EmbeddedFile* to = target.empty() ? page : find_site_file(target);
      REQUIRE(to != nullptr);
      if (!fragment.empty()) CHECK(to->data.find("id=\"" + fragment + "\"") != std::string::npos);
      ++links;
    }
  }
  CHECK(links > 20 * pages.size());

  SECTION("every article is linked from the front page and from related lists") {
    std::string_view index = file_data("demo/site/index.html");
    for (const EmbeddedFile* a : site_files("demo/site/articles/", ".html")) {
      std::string url = "/" + std::string(a->path.substr(site_root.size()));
      INFO(url);
      CHECK(index.find("href=\"" + url + "\"") != std::string_view::npos);
      std::size_t linked_from = 0;
      for (const EmbeddedFile* other : site_files("demo/site/articles/", ".html")) {
        if (other != a && other->data.find("href=\"" + url + "\"") != std::string_view::npos) {
          ++linked_from;
        }
      }
      CHECK(linked_from >= 2);
    }
  }
}

TEST_CASE("pages are right-to-left Arabic in UTF-8, distinct and several KB") {
  auto pages = site_files(site_root, ".html");
  std::set<std::string_view> bodies;
  for (const EmbeddedFile* page : pages) {
    INFO(page->path);
    std::string_view html = page->data;
    CHECK(html.starts_with("<!DOCTYPE html>\n<html lang=\"ar\" dir=\"rtl\">"));
    CHECK(html.find("<meta charset=\"utf-8\">") != std::string_view::npos);
    CHECK(valid_utf8(html));
    CHECK(arabic_chars(html) > 500);
    CHECK(html.size() > 4000);
    CHECK(html.ends_with("</html>\n"));
    CHECK(html.find("Content is protected") == std::string_view::npos);
    bodies.insert(html);
  }
  CHECK(bodies.size() == pages.size());

  SECTION("the seed article keeps its title, related articles and comment form labels") {
    std::string_view html = file_data(seed_page);
    CHECK(html.find("<h1>" + std::string(seed_title) + "</h1>") != std::string_view::npos);
    CHECK(html.find("تثبت المملكة المغربية يوما بعد يوم") != std::string_view::npos);
    CHECK(html.find("والممتلكات.</p>") != std::string_view::npos);
    CHECK(html.find("<h2>مقالات ذات صلة</h2>") != std::string_view::npos);
    CHECK(html.find("<h2>اترك تعليقاً</h2>") != std::string_view::npos);
    CHECK(html.find("لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *") !=
          std::string_view::npos);
    CHECK(html.find("زر الذهاب إلى الأعلى") != std::string_view::npos);
  }
  SECTION("the other text files are UTF-8 too") {
    for (const EmbeddedFile& f : bawwab::demo::assets::files()) {
      INFO(f.path);
      CHECK(valid_utf8(f.data));
      CHECK(f.data.find("Content is protected") == std::string_view::npos);
    }
  }
}

TEST_CASE("feed.xml is RSS 2.0 with one item per article") {
  std::string_view feed = file_data("demo/site/feed.xml");
  CHECK(xml_problem(feed).empty());
  INFO(xml_problem(feed));
  CHECK(feed.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\""));
  auto articles = site_files("demo/site/articles/", ".html");
  CHECK(count(feed, "<item>") == articles.size());
  CHECK(count(feed, "</item>") == articles.size());
  auto links = element_texts(feed, "link");
  REQUIRE(links.size() == articles.size() + 1);  // the channel's own link first
  std::set<std::string_view> seen;
  for (std::size_t i = 1; i < links.size(); ++i) {
    INFO(links[i]);
    REQUIRE(links[i].starts_with(base_url));
    const EmbeddedFile* f = find_site_file(links[i].substr(base_url.size()));
    REQUIRE(f != nullptr);
    CHECK(f->path.starts_with("demo/site/articles/"));
    seen.insert(f->path);
  }
  CHECK(seen.size() == articles.size());
  CHECK(element_texts(feed, "pubDate").size() == articles.size());
  CHECK(element_texts(feed, "title")[1] == seed_title);  // newest first: the seed
}

TEST_CASE("sitemap.xml and robots.txt") {
  std::string_view sitemap = file_data("demo/site/sitemap.xml");
  CHECK(xml_problem(sitemap).empty());
  auto locs = element_texts(sitemap, "loc");
  CHECK(locs.size() == site_files("demo/site/articles/", ".html").size() + 1);
  for (std::string_view loc : locs) {
    INFO(loc);
    REQUIRE(loc.starts_with(base_url));
    CHECK(find_site_file(loc.substr(base_url.size())) != nullptr);
  }
  std::string_view robots = file_data("demo/site/robots.txt");
  CHECK(robots.find("User-agent: *\nAllow: /\n") != std::string_view::npos);
  CHECK(robots.find("Sitemap: " + std::string(base_url) + "/sitemap.xml\n") !=
        std::string_view::npos);
}

TEST_CASE("SVG images are well-formed XML") {
  auto svgs = site_files(site_root, ".svg");
  REQUIRE(!svgs.empty());
  for (const EmbeddedFile* svg : svgs) {
    INFO(svg->path << ": " << xml_problem(svg->data));
    CHECK(xml_problem(svg->data).empty());
    CHECK(svg->data.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  }
}

TEST_CASE("the XML checker itself catches broken markup") {
  CHECK(xml_problem("<a><b/></a>").empty());
  CHECK(!xml_problem("<a><b></a>").empty());
  CHECK(!xml_problem("<a></a><b></b>").empty());
  CHECK(!xml_problem("<a>&nbsp;</a>").empty());
  CHECK(!xml_problem("<a>").empty());
}
