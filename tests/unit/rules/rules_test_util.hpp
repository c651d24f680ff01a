#pragma once
// Helpers for the rules tests: a rule set from YAML text in one line, and a request in one line
// (designated initializers), e.g.
//   auto rs = test::compile(R"(rules: [{id: a, when: {path: /x}, then: block}])");
//   auto d = test::Request().target("/x").ua("curl/8.0").evaluate(*rs);
// Header-only; tests only.
#include <boost/beast/http/fields.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bawwab/rules/loader.hpp"
#include "bawwab/rules/normalize.hpp"
#include "bawwab/rules/rule_set.hpp"

namespace bawwab::rules::test {

inline constexpr std::string_view kFirefox =
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0";

// A request for the rules, built by chained setters:
//   Request().target("/a?b=1").ua("curl/8").header("Accept", "*/*").ip("10.0.0.1")
class Request {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  Request& method(std::string v) {
    method_ = std::move(v);
    return *this;
  }
  Request& host(std::string v) {
    host_ = std::move(v);
    return *this;
  }
  Request& target(std::string v) {
    target_ = std::move(v);
    return *this;
  }
  // nullopt: no User-Agent field at all.
  Request& ua(std::optional<std::string> v) {
    ua_ = std::move(v);
    return *this;
  }
  Request& header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  Request& headers(const Headers& h) {
    headers_.insert(headers_.end(), h.begin(), h.end());
    return *this;
  }
  Request& ip(std::string v) {
    ip_ = std::move(v);
    return *this;
  }
  Request& signals(Signals v) {
    signals_ = std::move(v);
    return *this;
  }
  Request& content_type(std::string v) {
    content_type_ = std::move(v);
    return *this;
  }

  // A view into this object: valid while it lives and is not changed.
  RequestView view() {
    fields_.clear();
    if (ua_) fields_.insert(boost::beast::http::field::user_agent, *ua_);
    for (const auto& [n, v] : headers_) fields_.insert(n, v);
    path_ = normalize_path(target_);
    const auto q = target_.find('?');
    query_ = q == std::string::npos ? std::string() : target_.substr(q + 1);
    RequestView v;
    v.method = method_;
    v.host = host_;
    v.path = path_;
    v.query = query_;
    v.headers = &fields_;
    v.ip = boost::asio::ip::make_address(ip_);
    v.signals = &signals_;
    v.content_type = content_type_;
    return v;
  }

  Decision evaluate(const RuleSet& rs, Trace* trace = nullptr) {
    const RequestView v = view();
    return rs.evaluate(v, trace);
  }

 private:
  std::string method_ = "GET";
  std::string host_ = "news.example";
  std::string target_ = "/";
  std::optional<std::string> ua_ = std::string(kFirefox);
  Headers headers_;
  std::string ip_ = "203.0.113.9";
  Signals signals_;
  std::string content_type_;
  boost::beast::http::fields fields_;
  std::string path_;
  std::string query_;
};

inline std::string joined(const Diagnostics& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.format() + "\n";
  return out;
}

// Compiles YAML text (includes and `file:` entries resolve against tests/fixtures/rules); the
// test fails with every diagnostic shown when there is an error.
inline RuleSetPtr compile(std::string_view yaml) {
  LoadResult r = load_rules_text(yaml, "test.yaml", BAWWAB_FIXTURES "/rules");
  INFO(joined(r.diagnostics));
  REQUIRE(r.rules != nullptr);
  return r.rules;
}

// The diagnostics of text that should not compile (or that compiles with warnings), formatted.
inline std::vector<std::string> diagnostics(std::string_view yaml) {
  LoadResult r = load_rules_text(yaml, "test.yaml", BAWWAB_FIXTURES "/rules");
  std::vector<std::string> out;
  for (const auto& d : r.diagnostics) out.push_back(d.format());
  return out;
}

// The one diagnostic of text with exactly one problem.
inline std::string diagnostic(std::string_view yaml) {
  const auto all = diagnostics(yaml);
  INFO([&] {
    std::string s;
    for (const auto& d : all) s += d + "\n";
    return s;
  }());
  REQUIRE(all.size() == 1);
  return all.front();
}

inline bool is_block(const Decision& d) { return std::holds_alternative<Block>(d.action); }
inline bool is_allow(const Decision& d) { return std::holds_alternative<Allow>(d.action); }
inline bool is_challenge(const Decision& d) { return std::holds_alternative<Challenge>(d.action); }

}  // namespace bawwab::rules::test
