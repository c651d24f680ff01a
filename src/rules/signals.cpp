// The catalogue of signals the detection phase produces, and the per-request signal list.
#include "bawwab/rules/signals.hpp"

#include <algorithm>
#include <array>

namespace bawwab::rules {
namespace {

// Default weights: strong evidence of automation near 50+, hints 10-25, neutral facts 0. A
// reader's browser should collect 0. Operators tune them with `weights:`.
constexpr std::array kCatalog{
    // User-Agent classes (from the shipped lists, rules/*.yaml)
    SignalInfo{"ua.empty", 40, false, "no User-Agent, or an empty one"},
    SignalInfo{"ua.malformed", 30, false, "a User-Agent no real client sends (control bytes, over 1 KB)"},
    SignalInfo{"ua.ai_crawler", 60, true, "an AI training or AI search crawler; value: operator"},
    SignalInfo{"ua.search_engine", 0, true, "claims a search-engine crawler; value: engine"},
    SignalInfo{"ua.seo_tool", 30, true, "an SEO or marketing crawler; value: tool"},
    SignalInfo{"ua.feed_reader", 0, true, "an RSS/Atom reader; value: reader"},
    SignalInfo{"ua.link_preview", 0, true, "a link-preview bot (chat apps, social sites)"},
    SignalInfo{"ua.http_library", 50, true, "an HTTP library (curl, python-requests, Go); value: library"},
    SignalInfo{"ua.scraping_framework", 60, true, "a scraping framework (Scrapy, ...); value"},
    SignalInfo{"ua.headless", 50, true, "a headless or automation browser; value: which"},
    SignalInfo{"ua.browser", 0, true, "claims a browser; value: chrome, firefox, safari, edge"},
    // Header consistency
    SignalInfo{"headers.inconsistent", 40, true,
               "claims a browser but lacks what it always sends; value: what is wrong"},
    SignalInfo{"headers.order", 0, true, "hash of the header names in wire order; value: hash"},
    SignalInfo{"headers.order_mismatch", 15, true,
               "header order unlike the claimed browser's; value: browser"},
    // TLS
    SignalInfo{"tls.ja4", 0, true, "JA4 fingerprint of the ClientHello; value: fingerprint"},
    SignalInfo{"tls.ja3", 0, true, "JA3 hash of the ClientHello; value: hash"},
    SignalInfo{"tls.ja3n", 0, true, "JA3 with sorted extensions (JA3N); value: hash"},
    SignalInfo{"tls.ua_mismatch", 40, true,
               "the TLS stack contradicts the User-Agent; value: the stack it looks like"},
    // Verified crawlers
    SignalInfo{"crawler.verified", 0, true, "a search engine verified by IP range or DNS; value"},
    SignalInfo{"crawler.unverified", 70, true,
               "claims a search engine that could not be verified; value: claimed engine"},
    // Behaviour per client
    SignalInfo{"behaviour.html_only", 20, false, "fetches pages but never their assets"},
    SignalInfo{"behaviour.robots_violation", 40, false,
               "fetched robots.txt, then a path it disallows"},
    SignalInfo{"behaviour.honeypot", 80, false, "followed a link only a machine would follow"},
    SignalInfo{"behaviour.cookie_ignored", 20, false, "never returns the cookie bawwab set"},
    SignalInfo{"behaviour.regular_interval", 20, false, "requests at machine-regular intervals"},
    // Challenges
    SignalInfo{"challenge.passed", 0, false, "carries a valid challenge pass"},
    SignalInfo{"challenge.invalid", 20, false, "carries a pass that failed verification"},
    // Admit by proof (per client: address, User-Agent and header order)
    SignalInfo{"request.content", 0, false,
               "a GET or HEAD of anything but an asset (by extension or Sec-Fetch-Dest)"},
    SignalInfo{"proof.grace", 0, false,
               "a page without a pass, within the client's grace pages (it carries the proof)"},
    SignalInfo{"proof.refused", 0, false,
               "asked for pages past its grace and its challenges without proving itself"},
};

}  // namespace

std::span<const SignalInfo> signal_catalog() noexcept { return kCatalog; }

const SignalInfo* find_signal(std::string_view name) noexcept {
  for (const auto& info : kCatalog)
    if (info.name == name) return &info;
  return nullptr;
}

bool Signals::has(std::string_view name) const noexcept { return find(name) != nullptr; }

const Signal* Signals::find(std::string_view name) const noexcept {
  for (const auto& s : list)
    if (s.name == name) return &s;
  return nullptr;
}

void Signals::add(std::string_view catalog_name, std::string value, int weight) {
  const SignalInfo* info = find_signal(catalog_name);
  // Only catalogue names: rules were validated against the catalogue, so anything else would be a
  // signal no rule can see. A programming error, caught by the detect unit tests.
  if (info == nullptr) return;
  const auto catalog = signal_catalog();
  list.push_back(Signal{info->name, std::move(value), weight,
                        static_cast<std::size_t>(info - catalog.data())});
  score = std::clamp(score + weight, 0, 100);
}

}  // namespace bawwab::rules
