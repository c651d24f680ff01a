// Fuzzes the challenge verifier and the pass cookie check with untrusted input: the verify
// path's query string, a Cookie header and a User-Agent, split from the input at the first two
// newlines. Nothing random can carry a valid MAC, so every input must fail cleanly: a 403 page
// with no-store and no pass, a return path that stays same-site. Asserts invariants, not just
// "no crash".
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/challenge/verify_endpoint.hpp"

namespace {

namespace ch = bawwab::challenge;

#define FUZZ_CHECK(cond)                                                            \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

const ch::KeyRing& ring() {
  static const ch::KeyRing r = [] {
    ch::Key k;
    k.id = 1;
    k.created_unix = 1'767'000'000;
    for (std::size_t i = 0; i < k.secret.size(); ++i) k.secret[i] = std::uint8_t(0x10 + i);
    return ch::KeyRing({k});
  }();
  return r;
}

std::string_view next_line(std::string_view& in) {
  const auto nl = in.find('\n');
  const std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string_view query = next_line(in);
  const std::string_view cookie = next_line(in);
  const std::string_view ua = in;

  static ch::SpentSet spent(1'000, 2);
  const ch::ChallengeConfig cfg;
  const ch::WallTime now{std::chrono::seconds(1'767'225'600)};
  const ch::PassContext ctx{boost::asio::ip::make_address_v4("203.0.113.5"), ua, ""};
  const std::string_view cookies[] = {cookie};

  const ch::VerifyOutcome out =
      ch::handle_verify(cfg, ring(), spent, {query, cookies, ctx, false, now});
  FUZZ_CHECK(!out.passed);
  FUZZ_CHECK(out.status == cfg.page_status);
  FUZZ_CHECK(out.location.empty());
  FUZZ_CHECK(out.set_cookie.empty());
  FUZZ_CHECK(!out.body.empty() && out.body.size() <= 8 * 1024);
  FUZZ_CHECK(!out.reason.empty());
  bool no_store = false;
  for (const auto& [name, value] : out.headers) {
    no_store = no_store || (name == "Cache-Control" && value == "no-store");
    for (char c : value) FUZZ_CHECK(c != '\r' && c != '\n');
  }
  FUZZ_CHECK(no_store);

  FUZZ_CHECK(ch::check_pass_cookie(ring(), cookies, cfg.cookie_name, ctx, now) !=
             ch::PassCheck::valid);
  FUZZ_CHECK(ch::verify_pass(ring(), query, ctx, now) != ch::PassCheck::valid);
  FUZZ_CHECK(ch::open_challenge(ring(), query, ctx, "/", now) != ch::ChallengeCheck::valid);

  const std::string path = ch::safe_return_path(query);
  FUZZ_CHECK(!path.empty() && path[0] == '/');
  FUZZ_CHECK(path.size() == 1 || (path[1] != '/' && path[1] != '\\'));
  FUZZ_CHECK(ch::safe_return_path(path) == path);
  return 0;
}
