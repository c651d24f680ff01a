// The rules compiler on arbitrary bytes: never a crash, a hang or an exception, a rule set exactly
// when there is no error, and a compiled set evaluates a few requests without trouble.
#include <boost/beast/http/fields.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "bawwab/rules/loader.hpp"
#include "bawwab/rules/normalize.hpp"

namespace {

void evaluate_some(const bawwab::rules::RuleSet& rs, std::string_view text) {
  namespace http = boost::beast::http;
  http::fields fields;
  fields.insert(http::field::user_agent, "Mozilla/5.0 (compatible; GPTBot/1.2)");
  fields.insert(http::field::cookie, "sid=abc; theme=dark");
  fields.insert("Accept-Language", "en");
  bawwab::rules::Signals signals;
  signals.add("ua.ai_crawler", "OpenAI", 60);
  // The input itself as a path too: normalize_path on arbitrary bytes.
  const std::string path = bawwab::rules::normalize_path(text.substr(0, 256));
  for (const std::string_view p : {std::string_view("/articles/x"), std::string_view(path)}) {
    bawwab::rules::RequestView v;
    v.method = "GET";
    v.host = "news.example";
    v.path = p;
    v.query = "page=2&q=a+b";
    v.headers = &fields;
    v.ip = boost::asio::ip::make_address("10.1.2.3");
    v.signals = &signals;
    v.content_type = "text/html";
    bawwab::rules::Trace trace;
    (void)rs.evaluate(v, &trace);
    (void)rs.evaluate(v);
    std::vector<const bawwab::rules::HeaderEdit*> edits;
    rs.evaluate_response(v, edits);
  }
  std::vector<bawwab::rules::UaMatch> matches;
  rs.match_user_agent("curl/8.0", matches);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // base_dir is a directory without rule files: includes and `file:` entries fail cleanly.
  const auto result = bawwab::rules::load_rules_text(text, "fuzz.yaml", "/nonexistent");
  if ((result.rules == nullptr) != bawwab::has_errors(result.diagnostics)) std::abort();
  if (result.rules) evaluate_some(*result.rules, text);
  return 0;
}
