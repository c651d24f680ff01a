#pragma once
// Helpers for the challenge module's tests: a fixed clock, fixed keys, request contexts, a C++
// solver, and small extractors for the rendered pages. Header-only; tests only.
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bawwab/challenge/keyring.hpp"
#include "bawwab/challenge/pass_token.hpp"
#include "bawwab/challenge/proof_of_work.hpp"

namespace bawwab::challenge::test {

// 2026-01-01T00:00:00Z: every test runs at a fixed wall time.
inline const WallTime kT0{std::chrono::seconds(1'767'225'600)};

inline Key fixed_key(std::uint32_t id, std::int64_t created, std::uint8_t fill) {
  Key k;
  k.id = id;
  k.created_unix = created;
  for (std::size_t i = 0; i < k.secret.size(); ++i) k.secret[i] = std::uint8_t(fill + i);
  return k;
}

inline KeyRing fixed_ring() { return KeyRing({fixed_key(1, 1'767'000'000, 0x10)}); }

inline const std::string kChromeUa =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
    "Safari/537.36";
inline const std::string kJa4 = "t13d1516h2_8daaf6152771_02713d6af862";

inline PassContext context(std::string_view ip = "203.0.113.5", std::string_view ua = kChromeUa,
                           std::string_view tls = kJa4) {
  return PassContext{boost::asio::ip::make_address(std::string(ip)), ua, tls};
}

// The smallest decimal answer that meets the challenge's difficulty (the JS worker's search).
inline std::string solve(std::string_view challenge, unsigned bits) {
  for (std::uint64_t n = 0; n < (1ull << 28); ++n) {
    const std::string a = std::to_string(n);
    if (meets_difficulty(challenge, a, bits)) return a;
  }
  throw std::runtime_error("no answer found");
}

// An answer that does NOT meet the difficulty.
inline std::string non_answer(std::string_view challenge, unsigned bits) {
  for (std::uint64_t n = 0;; ++n) {
    const std::string a = std::to_string(n);
    if (!meets_difficulty(challenge, a, bits)) return a;
  }
}

// The value of attribute `name` (first occurrence) in `html`, &amp; and &#39; undone.
inline std::string attribute(std::string_view html, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  const auto start = html.find(key);
  if (start == std::string_view::npos) return {};
  const auto from = start + key.size();
  const auto end = html.find('"', from);
  std::string v(html.substr(from, end - from));
  for (std::size_t p; (p = v.find("&amp;")) != std::string::npos;) v.replace(p, 5, "&");
  for (std::size_t p; (p = v.find("&#39;")) != std::string::npos;) v.replace(p, 5, "'");
  return v;
}

// A fresh empty directory under the system temp dir, removed with the object.
class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "bawwab-challenge-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace bawwab::challenge::test
