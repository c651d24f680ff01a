#include "bawwab/challenge/keyring.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/core/error.hpp"
#include "challenge_test_util.hpp"

using namespace bawwab;
using namespace bawwab::challenge;
using namespace bawwab::challenge::test;
using namespace std::chrono_literals;

namespace {

constexpr std::chrono::seconds kRotate = 7 * 24h;
constexpr std::chrono::seconds kLife = 24h;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

bool same_keys(const KeyRing& a, const KeyRing& b) {
  if (a.keys().size() != b.keys().size()) return false;
  for (std::size_t i = 0; i < a.keys().size(); ++i) {
    const Key& x = a.keys()[i];
    const Key& y = b.keys()[i];
    if (x.id != y.id || x.secret != y.secret || x.created_unix != y.created_unix) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("keyring: creates the file 0600 with one key, and loads the same keys again") {
  TempDir dir;
  const auto path = dir.file("challenge.keys");
  auto first = load_or_create(path, kT0, kRotate, kLife);
  REQUIRE(first.has_value());
  REQUIRE(first->keys().size() == 1);
  CHECK(first->signing_key().id == 1);
  CHECK(first->signing_key().created_unix == 1'767'225'600);
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string text = slurp(path);

  // A restart an hour later: same keys, file untouched, a pass from before still valid.
  const auto token = issue_pass(*first, context(), kT0 + 24h);
  auto second = load_or_create(path, kT0 + 1h, kRotate, kLife);
  REQUIRE(second.has_value());
  CHECK(same_keys(*first, *second));
  CHECK(slurp(path) == text);
  CHECK(verify_pass(*second, token, context(), kT0 + 2h) == PassCheck::valid);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST_CASE("keyring: two fresh files get different random keys") {
  TempDir dir;
  auto a = load_or_create(dir.file("a.keys"), kT0, kRotate, kLife);
  auto b = load_or_create(dir.file("b.keys"), kT0, kRotate, kLife);
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK(a->signing_key().secret != b->signing_key().secret);
  CHECK(KeyRing::generate(kT0).signing_key().secret != a->signing_key().secret);
}

TEST_CASE("keyring: rotates, keeps the old key until its tokens expire, then drops it") {
  TempDir dir;
  const auto path = dir.file("challenge.keys");
  auto r0 = load_or_create(path, kT0, kRotate, kLife);
  REQUIRE(r0.has_value());
  const auto old_token = issue_pass(*r0, context(), kT0 + kRotate + kLife - 1s);

  // Just before the rotation is due: nothing changes.
  auto r1 = load_or_create(path, kT0 + kRotate - 1s, kRotate, kLife);
  REQUIRE(r1.has_value());
  CHECK(r1->keys().size() == 1);

  // Due: a second key signs; the first still verifies.
  auto r2 = load_or_create(path, kT0 + kRotate, kRotate, kLife);
  REQUIRE(r2.has_value());
  REQUIRE(r2->keys().size() == 2);
  CHECK(r2->signing_key().id == 2);
  CHECK(verify_pass(*r2, old_token, context(), kT0 + kRotate) == PassCheck::valid);
  CHECK(issue_pass(*r2, context(), kT0 + kRotate + 1h).starts_with("1.2."));

  // Survives a restart in between.
  auto r3 = load_or_create(path, kT0 + kRotate + kLife - 1s, kRotate, kLife);
  REQUIRE(r3.has_value());
  CHECK(same_keys(*r2, *r3));
  CHECK(verify_pass(*r3, old_token, context(), kT0 + kRotate + kLife - 2s) == PassCheck::valid);

  // max_token_life after the successor appeared, no token of key 1 can be alive: dropped.
  auto r4 = load_or_create(path, kT0 + kRotate + kLife, kRotate, kLife);
  REQUIRE(r4.has_value());
  REQUIRE(r4->keys().size() == 1);
  CHECK(r4->signing_key().id == 2);
  CHECK(verify_pass(*r4, old_token, context(), kT0) == PassCheck::unknown_key);
}

TEST_CASE("keyring: a long downtime does not drop a key that signed until the restart") {
  // Rotation due long ago (the host was off for a month): the old key signed until now, so it
  // must stay for max_token_life from now, not be dropped for its age.
  TempDir dir;
  const auto path = dir.file("challenge.keys");
  REQUIRE(load_or_create(path, kT0, kRotate, kLife).has_value());
  auto later = load_or_create(path, kT0 + 30 * 24h, kRotate, kLife);
  REQUIRE(later.has_value());
  CHECK(later->keys().size() == 2);
}

TEST_CASE("keyring: reads a hand-written file with comments and blank lines") {
  TempDir dir;
  const auto path = dir.file("k");
  write(path,
        "# keys\n"
        "\n"
        "3 EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8= 1767000000\r\n"
        "   5\tQEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8= 1767100000\n");
  ::chmod(path.c_str(), 0600);
  // A long token life, so that key 3 (superseded 125600 s ago) is still listed.
  auto ring = load_or_create(path, kT0, kRotate, 48h);
  REQUIRE(ring.has_value());
  REQUIRE(ring->keys().size() == 2);
  CHECK(ring->signing_key().id == 5);
  CHECK(ring->find(3) != nullptr);
  CHECK(ring->find(3)->secret == fixed_key(3, 0, 0x10).secret);
  CHECK(ring->find(4) == nullptr);
  // With the usual life, key 3's tokens are all expired by now: it is dropped.
  auto shorter = load_or_create(path, kT0, kRotate, kLife);
  REQUIRE(shorter.has_value());
  CHECK(shorter->keys().size() == 1);
  CHECK(shorter->signing_key().id == 5);
}

TEST_CASE("keyring: a broken file is reported line by line and left alone") {
  TempDir dir;
  const auto path = dir.file("k");
  const std::string text =
      "1 EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8= 1767000000\n"
      "2 not-base64! 1767000000\n"
      "3 EBESExQVFhc= 1767000000\n"
      "1 QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8= 1767000000\n"
      "x QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8= yesterday\n"
      "4 QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=\n";
  write(path, text);
  Diagnostics problems;
  auto ring = load_or_create(path, kT0, kRotate, kLife, &problems);
  REQUIRE_FALSE(ring.has_value());
  CHECK(ring.error() == make_error_code(Errc::config_invalid));
  REQUIRE(problems.size() == 6);
  CHECK(problems[0].format() == path + ":2:3: key is not valid base64");
  CHECK(problems[1].format() == path + ":3:3: key must be 32 bytes, got 8");
  CHECK(problems[2].format() == path + ":4:1: duplicate key id 1");
  CHECK(problems[3].line == 5);
  CHECK(problems[3].column == 1);
  CHECK(problems[4].format() == path + ":5:48: creation time must be unix seconds");
  CHECK(problems[5].format() == path + ":6:1: expected 'id base64key created_unix', got 2 fields");
  CHECK(slurp(path) == text);  // never regenerated over the operator's file
}

TEST_CASE("keyring: I/O errors come back as values") {
  TempDir dir;
  Diagnostics problems;
  auto ring = load_or_create(dir.file("missing-dir/k"), kT0, kRotate, kLife, &problems);
  REQUIRE_FALSE(ring.has_value());
  CHECK(ring.error() == boost::system::errc::no_such_file_or_directory);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("directory") != std::string::npos);
}

TEST_CASE("keyring: an empty file gets a key") {
  TempDir dir;
  const auto path = dir.file("k");
  write(path, "# nothing yet\n");
  ::chmod(path.c_str(), 0600);
  auto ring = load_or_create(path, kT0, kRotate, kLife);
  REQUIRE(ring.has_value());
  CHECK(ring->keys().size() == 1);
  CHECK(slurp(path).find("1 ") != std::string::npos);
}
