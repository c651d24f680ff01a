// The silent proof: its endpoint (challenge, worker, answer) and the CSP changes that let its
// script run on a page with a policy.
#include "bawwab/challenge/proof.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "bawwab/challenge/page.hpp"
#include "challenge_test_util.hpp"

using namespace bawwab::challenge;
using namespace bawwab::challenge::test;
using namespace std::chrono_literals;

namespace proof_test {

struct ProofFixture {
  ChallengeConfig cfg;
  KeyRing ring = fixed_ring();
  SpentSet spent;
  std::vector<std::string_view> cookies;

  VerifyOutcome call(std::string_view query, bool post, WallTime now = kT0,
                     const PassContext& ctx = context()) {
    VerifyRequest r{query, cookies, ctx, false, now};
    r.post = post;
    return handle_verify(cfg, ring, spent, r);
  }
};

std::string json_field(const std::string& body, std::string_view name) {
  const std::string key = "\"" + std::string(name) + "\":";
  auto at = body.find(key);
  REQUIRE(at != std::string::npos);
  at += key.size();
  if (body[at] == '"') return body.substr(at + 1, body.find('"', at + 1) - at - 1);
  return body.substr(at, body.find_first_of(",}", at) - at);
}

std::string header(const Headers& h, std::string_view name) {
  for (const auto& [n, v] : h)
    if (n == name) return v;
  return {};
}

}  // namespace proof_test


TEST_CASE("proof: challenge, work, answer: a 204 with the pass cookie, once") {
  proof_test::ProofFixture f;
  f.cfg.proof_difficulty = 8;
  const auto c = f.call("proof=challenge", false);
  REQUIRE(c.status == 200);
  CHECK(proof_test::header(c.headers, "Content-Type") == "application/json");
  CHECK(proof_test::header(c.headers, "Cache-Control") == "no-store");
  const std::string challenge = proof_test::json_field(c.body, "c");
  CHECK(proof_test::json_field(c.body, "d") == "8");
  const std::string answer = solve(challenge, 8);
  const std::string q = "proof=answer&c=" + challenge + "&a=" + answer;

  const auto ok = f.call(q, true, kT0 + 1s);
  CHECK(ok.status == 204);
  CHECK(ok.passed);
  const std::string cookie = proof_test::header(ok.headers, "Set-Cookie");
  CHECK(cookie.starts_with("bawwab_pass="));
  CHECK(cookie.find("HttpOnly") != std::string::npos);
  // The pass is the interstitial's: it verifies for the same client.
  const std::string token = cookie.substr(12, cookie.find(';') - 12);
  CHECK(verify_pass(f.ring, token, context(), kT0 + 2s) == PassCheck::valid);

  SECTION("a replay is refused") {
    const auto again = f.call(q, true, kT0 + 2s);
    CHECK(again.status == 403);
    CHECK_FALSE(again.passed);
    CHECK(again.reason == "proof_replayed");
  }
  SECTION("another client cannot redeem it (the challenge is bound to the client)") {
    const auto other = f.call(q, true, kT0 + 2s, context("198.51.100.9"));
    CHECK_FALSE(other.passed);
    CHECK(other.reason == "proof_bad_mac");
  }
}

TEST_CASE("proof: too little work, a GET answer, a missing field: no pass") {
  proof_test::ProofFixture f;
  f.cfg.proof_difficulty = 8;
  const std::string challenge = proof_test::json_field(f.call("proof=challenge", false).body, "c");
  const std::string weak = non_answer(challenge, 8);
  CHECK(f.call("proof=answer&c=" + challenge + "&a=" + weak, true).reason ==
        "proof_insufficient_work");
  const std::string answer = solve(challenge, 8);
  CHECK_FALSE(f.call("proof=answer&c=" + challenge + "&a=" + answer, false).passed);  // GET
  CHECK(f.call("proof=answer&c=" + challenge, true).status == 400);
  CHECK(f.call("c=" + challenge + "&a=" + answer, true).status == 403);  // a POST not a proof
}

TEST_CASE("proof: the worker script is the interstitial's, cacheable") {
  proof_test::ProofFixture f;
  const auto w = f.call("proof=worker", false);
  CHECK(w.status == 200);
  CHECK(w.body == worker_script());
  CHECK(proof_test::header(w.headers, "Cache-Control") == "public, max-age=86400");
}

TEST_CASE("proof: the script asks the verify path after load, and its hash is its sha256") {
  ChallengeConfig cfg;
  const std::string s = proof_script(cfg);
  CHECK(s.find("\"/.well-known/bawwab/verify\"") != std::string::npos);
  CHECK(s.find("addEventListener(\"load\"") != std::string::npos);
  CHECK(s.find("</script") == std::string::npos);
  const std::string h = csp_hash_source(s);
  CHECK(h.starts_with("'sha256-"));
  CHECK(h.size() == 8 + 44 + 1);
  cfg.verify_path = "/v\"</script>";
  CHECK(proof_script(cfg).find("</script") == std::string::npos);
}

TEST_CASE("csp: the smallest change that lets the proof run") {
  const std::string h = "'sha256-abc='";
  SECTION("no script or fetch restriction: unchanged") {
    CHECK(allow_proof_in_csp("frame-ancestors 'none'", h) == "frame-ancestors 'none'");
    CHECK(allow_proof_in_csp("img-src *; style-src 'self'", h) == "img-src *; style-src 'self'");
  }
  SECTION("a nonce-based strict policy gets the hash; strict-dynamic covers the worker") {
    CHECK(allow_proof_in_csp("script-src 'nonce-r4nd' 'strict-dynamic'; object-src 'none'", h) ==
          "script-src 'nonce-r4nd' 'strict-dynamic' 'sha256-abc='; object-src 'none'");
  }
  SECTION("'unsafe-inline' alone already allows inline scripts: no hash (it would turn it off)") {
    CHECK(allow_proof_in_csp("script-src 'self' 'unsafe-inline'", h) ==
          "script-src 'self' 'unsafe-inline'");
  }
  SECTION("default-src 'self' governs all three: the hash goes there, 'self' covers the rest") {
    CHECK(allow_proof_in_csp("default-src 'self'", h) == "default-src 'self' 'sha256-abc='");
  }
  SECTION("default-src 'none': hash, and worker-src / connect-src of their own") {
    CHECK(allow_proof_in_csp("default-src 'none'", h) ==
          "default-src 'sha256-abc='; worker-src 'self'; connect-src 'self'");
  }
  SECTION("connect-src without 'self' gets it; the page's own sources stay") {
    CHECK(allow_proof_in_csp("script-src 'self'; connect-src https://api.example", h) ==
          "script-src 'self' 'sha256-abc='; connect-src https://api.example 'self'");
  }
  SECTION("a worker falling back to a script-src of hosts gets its own worker-src") {
    CHECK(allow_proof_in_csp("script-src https://cdn.example 'nonce-x'", h) ==
          "script-src https://cdn.example 'nonce-x' 'sha256-abc='; worker-src https://cdn.example "
          "'self'");
  }
  SECTION("script-src-elem governs script elements before script-src") {
    CHECK(allow_proof_in_csp("script-src 'self'; script-src-elem 'nonce-x'", h) ==
          "script-src 'self'; script-src-elem 'nonce-x' 'sha256-abc='");
  }
}
