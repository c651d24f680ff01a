// render_challenge: the challenge module's pages and verifier on the command line, for the
// integration test that drives a real browser through them (tests/integration/
// test_challenge_page.py). Prints one JSON object: status, headers, body, and for `verify` also
// reason, location and passed. Keys come from (or are created in) --keys.
//
//   render_challenge page   --keys F --level js|nojs|accessible --difficulty N --target T
//                           --ip A --ua S [--tls-fp S] [--tls] [--now UNIX] [--site S] [--contact
//                           S]
//   render_challenge verify --keys F --query Q [--cookie HEADER]... --ip A --ua S [--tls-fp S]
//                           [--tls] [--now UNIX]
//   render_challenge pass   --keys F [--cookie HEADER]... --ip A --ua S [--tls-fp S] [--now UNIX]
//                           (prints {"check": "valid" | "absent" | ...})
#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/page.hpp"
#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/challenge/verify_endpoint.hpp"

namespace ch = bawwab::challenge;

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: render_challenge page|verify|pass --keys FILE [--level L] [--difficulty N] "
               "[--target T] [--query Q] [--cookie H]... --ip A --ua S [--tls-fp S] [--tls] "
               "[--now UNIX] [--site S] [--contact S]\n");
  return 2;
}

boost::json::array to_json(const ch::Headers& headers) {
  boost::json::array out;
  for (const auto& [n, v] : headers) out.push_back(boost::json::array{n, v});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  std::map<std::string, std::string> opt;
  std::vector<std::string> cookies;
  bool tls = false;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tls") {
      tls = true;
    } else if (a.starts_with("--") && i + 1 < argc) {
      if (a == "--cookie")
        cookies.push_back(argv[++i]);
      else
        opt[a.substr(2)] = argv[++i];
    } else {
      return usage();
    }
  }
  if (!opt.count("keys") || !opt.count("ip")) return usage();

  using namespace std::chrono_literals;
  const ch::WallTime now = opt.count("now")
                               ? ch::WallTime{std::chrono::seconds(std::stoll(opt["now"]))}
                               : std::chrono::system_clock::now();
  bawwab::Diagnostics problems;
  auto keys = ch::load_or_create(opt["keys"], now, 7 * 24h, 48h, &problems);
  if (!keys) {
    for (const auto& d : problems) std::fprintf(stderr, "%s\n", d.format().c_str());
    return 1;
  }
  ch::ChallengeConfig cfg;
  if (opt.count("site")) cfg.site_name = opt["site"];
  if (opt.count("contact")) cfg.contact = opt["contact"];
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(opt["ip"], ec);
  if (ec) return usage();
  const ch::PassContext ctx{ip, opt["ua"], opt["tls-fp"]};

  boost::json::object out;
  if (mode == "page") {
    const auto level = ch::parse_level(opt.count("level") ? opt["level"] : "js");
    if (!level) return usage();
    const unsigned difficulty = opt.count("difficulty") ? std::stoul(opt["difficulty"]) : 0;
    const auto reply = ch::challenge_reply(cfg, *keys, *level, difficulty, ctx,
                                           opt.count("target") ? opt["target"] : "/", tls, now);
    out["status"] = reply.status;
    out["headers"] = to_json(reply.headers);
    out["body"] = reply.body;
  } else if (mode == "verify") {
    ch::SpentSet spent;
    std::vector<std::string_view> views(cookies.begin(), cookies.end());
    const auto r =
        ch::handle_verify(cfg, *keys, spent, ch::VerifyRequest{opt["query"], views, ctx, tls, now});
    out["status"] = r.status;
    out["headers"] = to_json(r.headers);
    out["body"] = r.body;
    out["reason"] = r.reason;
    out["location"] = r.location;
    out["passed"] = r.passed;
  } else if (mode == "pass") {
    std::vector<std::string_view> views(cookies.begin(), cookies.end());
    out["check"] = ch::to_string(ch::check_pass_cookie(*keys, views, cfg.cookie_name, ctx, now));
  } else {
    return usage();
  }
  std::cout << boost::json::serialize(out) << '\n';
  return 0;
}
