#pragma once
// Helpers for the rewrite module's tests: a token recorder, feeding in pieces, fixtures, specs in
// one line. Header-only; tests only.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/core/body_filter.hpp"
#include "bawwab/rewrite/html_rewriter.hpp"
#include "bawwab/rewrite/tokenizer.hpp"

namespace bawwab::rewrite::test {

// Records tokens as short strings (text nodes merged over their chunks) and the bytes, checking
// the sink contract as it goes: text chunks are non-empty except the node's last (empty) one.
class Recorder final : public TokenSink {
 public:
  std::vector<std::string> tokens;
  std::string bytes;
  std::vector<std::string> errors;

  void on_text(std::string_view chunk, TextKind kind, bool last) override {
    bytes.append(chunk);
    if (!in_text_) {
      if (chunk.empty()) errors.push_back("empty first text chunk");
      tokens.push_back(std::string(kind_name(kind)) + ":");
      in_text_ = true;
    }
    if (!last && chunk.empty()) errors.push_back("empty text chunk that is not the last");
    if (last && !chunk.empty()) errors.push_back("last text chunk not empty");
    tokens.back().append(chunk);
    if (last) in_text_ = false;
  }
  void on_tag(const Tag& tag) override {
    if (in_text_) errors.push_back("tag inside an open text node");
    bytes.append(tag.raw);
    std::string t = tag.end ? "</" : "<";
    t.append(tag.name);
    if (tag.self_closing) t += "/";
    if (tag.given_up) t += " GIVEN_UP";
    tokens.push_back(t + ">");
  }
  void on_other(std::string_view chunk, OtherKind kind, bool last) override {
    if (in_text_) errors.push_back("other inside an open text node");
    bytes.append(chunk);
    if (!in_other_) {
      tokens.push_back(std::string("!") + other_name(kind) + ":");
      in_other_ = true;
    }
    tokens.back().append(chunk);
    if (last) in_other_ = false;
  }

  static const char* kind_name(TextKind k) {
    switch (k) {
      case TextKind::data:
        return "#text";
      case TextKind::rcdata:
        return "#rcdata";
      case TextKind::rawtext:
        return "#rawtext";
      case TextKind::script:
        return "#script";
      case TextKind::plaintext:
        return "#plaintext";
    }
    return "?";
  }
  static const char* other_name(OtherKind k) {
    switch (k) {
      case OtherKind::comment:
        return "comment";
      case OtherKind::bogus_comment:
        return "bogus";
      case OtherKind::doctype:
        return "doctype";
      case OtherKind::cdata:
        return "cdata";
      case OtherKind::oversized_tag:
        return "oversized";
      case OtherKind::unfinished:
        return "unfinished";
    }
    return "?";
  }

 private:
  bool in_text_ = false;
  bool in_other_ = false;
};

// Cut points (sorted, within (0, size)) -> pieces.
inline std::vector<std::string_view> pieces(std::string_view s, std::vector<std::size_t> cuts) {
  std::vector<std::string_view> out;
  std::size_t prev = 0;
  for (std::size_t c : cuts) {
    if (c <= prev || c >= s.size()) continue;
    out.push_back(s.substr(prev, c - prev));
    prev = c;
  }
  out.push_back(s.substr(prev));
  return out;
}

inline std::vector<std::size_t> random_cuts(std::size_t size, std::mt19937& rng,
                                            std::size_t count) {
  std::vector<std::size_t> cuts;
  if (size < 2) return cuts;
  std::uniform_int_distribution<std::size_t> d(1, size - 1);
  for (std::size_t i = 0; i < count; ++i) cuts.push_back(d(rng));
  std::sort(cuts.begin(), cuts.end());
  return cuts;
}

inline Recorder tokenize(std::string_view input, const std::vector<std::size_t>& cuts = {}) {
  Recorder r;
  Tokenizer t(r);
  for (std::string_view p : pieces(input, cuts)) t.feed(p, false);
  t.feed({}, true);
  return r;
}

// Runs a filter over the input cut at `cuts`; the last piece carries last = true.
inline std::string run_filter(BodyFilter& f, std::string_view input,
                              const std::vector<std::size_t>& cuts = {},
                              std::size_t* max_held = nullptr) {
  std::string out;
  const auto ps = pieces(input, cuts);
  for (std::size_t i = 0; i < ps.size(); ++i) {
    f.on_data(ps[i], out, i + 1 == ps.size());
    if (max_held != nullptr && f.held_bytes() > *max_held) *max_held = f.held_bytes();
    if (f.finished()) break;
  }
  return out;
}

inline std::shared_ptr<const RewriteSpec> compile_or_throw(RewriteConfig c) {
  SpecCompile r = RewriteSpec::compile(std::move(c));
  if (!r.spec) throw std::runtime_error(r.errors.empty() ? "no spec" : r.errors.front());
  return r.spec;
}

inline std::string rewrite(const std::shared_ptr<const RewriteSpec>& spec, std::string_view input,
                           const std::vector<std::size_t>& cuts = {}) {
  HtmlRewriter r(spec);
  return run_filter(r, input, cuts);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A page under tests/fixtures/rewrite/; "demo_index.html" and "demo_article.html" are read from
// the demo site itself (demo/site), so the tests follow it instead of keeping copies.
inline std::string fixture(const std::string& name) {
  if (name == "demo_index.html") return read_file(std::string(BAWWAB_SOURCE_DIR) + "/demo/site/index.html");
  if (name == "demo_article.html") {
    return read_file(std::string(BAWWAB_SOURCE_DIR) +
                     "/demo/site/articles/hammouchi-moroccan-security-partnerships-europe.html");
  }
  if (name == "seed_article.txt") {  // one copy of the seed article, shared with compress
    return read_file(std::string(BAWWAB_FIXTURES) + "/compress/seed_article.txt");
  }
  return read_file(std::string(BAWWAB_FIXTURES) + "/rewrite/" + name);
}

// A text handler that upper-cases ASCII letters and appends "|" at the end of each text node:
// its output does not depend on where the chunks are cut.
class UpperHandler final : public TextHandler {
 public:
  void on_text(std::string_view chunk, bool last, std::string& out) override {
    for (char c : chunk) out.push_back((c >= 'a' && c <= 'z') ? char(c - 32) : c);
    if (last) out.push_back('|');
  }
};
inline TextHandlerFactory upper_factory() {
  return [] { return std::make_unique<UpperHandler>(); };
}

}  // namespace bawwab::rewrite::test
