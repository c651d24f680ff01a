// Admit by proof in the behaviour table: the grace pages, the challenges after them, the
// escalating refusals, and a pass clearing them; keyed per client (address, UA, header order).
#include <boost/asio/ip/address.hpp>
#include <catch2/catch.hpp>

#include "bawwab/detect/behaviour.hpp"

using namespace bawwab;
using namespace bawwab::detect;
using namespace std::chrono_literals;

namespace proof_state_test {

ClientEvent content_page(bool pass = false) {
  ClientEvent e;
  e.path = "/articles/1";
  e.content = true;
  e.has_pass = pass;
  return e;
}

}  // namespace proof_state_test


TEST_CASE("proof state: 2 grace pages, 3 challenged, then refused for 60 s, then 120 s") {
  BehaviourTracker t{BehaviourConfig{}};
  ManualClock clock;
  const std::uint64_t k = 42;
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).grace);
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).grace);
  for (int i = 0; i < 3; ++i) {
    const ClientFlags f = t.record_client(k, proof_state_test::content_page(), clock.now());
    CHECK_FALSE(f.grace);
    CHECK_FALSE(f.refused);
  }
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);
  clock.advance(59s);
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);
  clock.advance(2s);
  // Refusal over; the grace refills one page per 10 minutes, none yet: challenged again.
  for (int i = 0; i < 3; ++i) CHECK_FALSE(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);  // second refusal: 120 s
  clock.advance(119s);
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);
  clock.advance(2s);
  CHECK_FALSE(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);
}

TEST_CASE("proof state: pages with a pass and assets never count; a pass clears the refusal") {
  BehaviourTracker t{BehaviourConfig{}};
  ManualClock clock;
  const std::uint64_t k = 7;
  ClientEvent asset;
  asset.path = "/style.css";
  for (int i = 0; i < 50; ++i) {
    CHECK_FALSE(t.record_client(k, proof_state_test::content_page(true), clock.now()).refused);
    CHECK_FALSE(t.record_client(k, asset, clock.now()).refused);
  }
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).grace);  // the grace is untouched
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).grace);
  for (int i = 0; i < 3; ++i) t.record_client(k, proof_state_test::content_page(), clock.now());
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);
  t.proof_earned(k, clock.now());
  CHECK_FALSE(t.record_client(k, proof_state_test::content_page(), clock.now()).refused);
}

TEST_CASE("proof state: the grace refills one page every 10 minutes") {
  BehaviourTracker t{BehaviourConfig{}};
  ManualClock clock;
  const std::uint64_t k = 9;
  t.record_client(k, proof_state_test::content_page(), clock.now());
  t.record_client(k, proof_state_test::content_page(), clock.now());
  CHECK_FALSE(t.record_client(k, proof_state_test::content_page(), clock.now()).grace);
  clock.advance(10min);
  CHECK(t.record_client(k, proof_state_test::content_page(), clock.now()).grace);
  CHECK_FALSE(t.record_client(k, proof_state_test::content_page(), clock.now()).grace);
}

TEST_CASE("client key: address, UA and header order each make another client") {
  const auto ip = boost::asio::ip::make_address("203.0.113.5");
  const auto k = BehaviourTracker::client_key(ip, "Mozilla/5.0 A", 1);
  CHECK(k == BehaviourTracker::client_key(ip, "Mozilla/5.0 A", 1));
  CHECK(k != BehaviourTracker::client_key(ip, "Mozilla/5.0 B", 1));
  CHECK(k != BehaviourTracker::client_key(ip, "Mozilla/5.0 A", 2));
  CHECK(k != BehaviourTracker::client_key(boost::asio::ip::make_address("203.0.113.6"),
                                          "Mozilla/5.0 A", 1));
  CHECK(k != BehaviourTracker::key_for(ip));
}

TEST_CASE("honeypot: flagged per client key, not for the whole address") {
  BehaviourConfig c;
  c.honeypot_paths = {"/trap/"};
  BehaviourTracker t{c};
  ManualClock clock;
  ClientEvent trap;
  trap.path = "/trap/x";
  CHECK(t.record_client(1, trap, clock.now()).honeypot);
  CHECK(t.record_client(1, proof_state_test::content_page(), clock.now()).honeypot);
  CHECK_FALSE(t.record_client(2, proof_state_test::content_page(), clock.now()).honeypot);  // a neighbour behind the NAT
}
