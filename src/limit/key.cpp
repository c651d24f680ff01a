#include "bawwab/limit/key.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>

namespace bawwab::limit {
namespace {

namespace http = boost::beast::http;

__extension__ using u128 = unsigned __int128;  // GCC/Clang; __extension__ keeps -Wpedantic quiet

std::uint64_t mum(std::uint64_t a, std::uint64_t b) noexcept {
  const u128 r = static_cast<u128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

std::uint64_t splitmix(std::uint64_t& x) noexcept {
  std::uint64_t z = (x += 0x9E37'79B9'7F4A'7C15u);
  z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9u;
  z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBu;
  return z ^ (z >> 31);
}

// Streaming multiply-fold hash: each 8-byte word is folded into the state with a 64x64->128-bit
// product of (word ^ k1) and (state ^ k2), as wyhash does; the final fold mixes in the length.
// The keys come from the seed, so without the seed nobody can aim at a collision.
class Hasher {
 public:
  explicit Hasher(std::uint64_t seed) noexcept {
    std::uint64_t s = seed;
    k0_ = splitmix(s);
    k1_ = splitmix(s);
    k2_ = splitmix(s);
    h_ = k0_;
  }

  void bytes(const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    len_ += n;
    while (fill_ != 0 && n > 0) {
      buf_ |= static_cast<std::uint64_t>(*p++) << (8 * fill_);
      --n;
      if (++fill_ == 8) {
        word(buf_);
        buf_ = 0;
        fill_ = 0;
      }
    }
    for (; n >= 8; p += 8, n -= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      word(w);
    }
    for (; n > 0; --n) buf_ |= static_cast<std::uint64_t>(*p++) << (8 * fill_++);
  }
  void text(std::string_view s) noexcept { bytes(s.data(), s.size()); }
  void u64(std::uint64_t v) noexcept { bytes(&v, sizeof v); }

  std::uint64_t finish() noexcept {
    word(buf_);
    return mum(h_ ^ len_ ^ k1_, k0_ ^ k2_);
  }

 private:
  void word(std::uint64_t w) noexcept { h_ = mum(w ^ k1_, h_ ^ k2_); }

  std::uint64_t k0_, k1_, k2_, h_;
  std::uint64_t buf_ = 0;
  unsigned fill_ = 0;
  std::uint64_t len_ = 0;
};

std::uint64_t process_seed() {
  static const std::uint64_t seed = [] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }();
  return seed;
}

constexpr std::uint64_t printable_seed = 0x6261'7777'6162'6b65u;  // fixed: same in every process
constexpr std::size_t max_printable_value = 96;

// Both walks (hash and printable) go through walk_key, so they can never disagree on what a key
// is made of. An emitter has begin(name), address(ip, prefix_len or -1), and value parts:
// open(), append(text) (several times for a header repeated in the request), close().
template <class Emitter>
void walk_key(const LimitSpec& spec, const KeyInput& in, Emitter& out) {
  out.begin(spec.name);
  for (const KeyComponent& c : spec.key) {
    switch (c.part) {
      case KeyPart::ip:
        out.address(net::canonical(in.ip), -1);
        break;
      case KeyPart::ip_prefix: {
        const net::Cidr n = ip_prefix(in.ip, spec.ipv4_prefix, spec.ipv6_prefix);
        out.address(n.network, static_cast<int>(n.prefix_len));
        break;
      }
      case KeyPart::header: {
        out.open(c.part);
        if (in.headers != nullptr) {
          bool first = true;
          for (auto [it, end] = in.headers->equal_range(c.name); it != end; ++it) {
            if (!first) out.append(",");
            out.append(it->value());
            first = false;
          }
        }
        out.close();
        break;
      }
      case KeyPart::cookie:
        out.open(c.part);
        if (in.headers != nullptr) out.append(cookie_value(*in.headers, c.name));
        out.close();
        break;
      case KeyPart::user_agent:
        out.open(c.part);
        out.append(in.user_agent);
        out.close();
        break;
      case KeyPart::tls_ja4:
        out.open(c.part);
        out.append(in.ja4);
        out.close();
        break;
      case KeyPart::host:
        out.open(c.part);
        out.append(in.host);
        out.close();
        break;
      case KeyPart::path_group:
        out.open(c.part);
        out.append(path_group(in.path));
        out.close();
        break;
      case KeyPart::rule:
        out.open(c.part);
        out.append(in.rule_id);
        out.close();
        break;
    }
  }
}

// Every part is tagged and length-delimited, so ("ab", "c") and ("a", "bc") differ.
class HashEmitter {
 public:
  explicit HashEmitter(std::uint64_t seed) : h_(seed) {}
  void begin(std::string_view name) noexcept {
    h_.u64(name.size());
    h_.text(name);
  }
  void address(const net::Address& a, int prefix_len) noexcept {
    if (a.is_v4()) {
      const auto b = a.to_v4().to_bytes();
      h_.bytes("4", 1);
      h_.bytes(b.data(), b.size());
    } else {
      const auto b = a.to_v6().to_bytes();
      h_.bytes("6", 1);
      h_.bytes(b.data(), b.size());
    }
    h_.u64(static_cast<std::uint64_t>(prefix_len + 1));
  }
  void open(KeyPart part) noexcept {
    const auto tag = static_cast<unsigned char>(part);
    h_.bytes(&tag, 1);
    value_len_ = 0;
  }
  void append(std::string_view s) noexcept {
    h_.text(s);
    value_len_ += s.size();
  }
  void close() noexcept { h_.u64(value_len_); }
  std::uint64_t finish() noexcept { return h_.finish(); }

 private:
  Hasher h_;
  std::uint64_t value_len_ = 0;
};

void append_escaped(std::string& out, std::string_view s, bool is_name) {
  static constexpr char hex[] = "0123456789ABCDEF";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    const bool special = c == '%' || c == '|' || c == '{' || c == '}' || (is_name && c == ':');
    if (c > 0x20 && c < 0x7F && !special) {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    }
  }
}

class PrintableEmitter {
 public:
  void begin(std::string_view name) {
    append_escaped(out_, name, true);
    out_ += ':';
  }
  void address(const net::Address& a, int prefix_len) {
    separate();
    // From the bytes, so that an IPv6 scope id ("%eth0") never becomes part of a key.
    if (a.is_v4()) {
      out_ += a.to_v4().to_string();
    } else {
      out_ += boost::asio::ip::address_v6(a.to_v6().to_bytes()).to_string();
    }
    if (prefix_len >= 0) {
      out_ += '/';
      out_ += std::to_string(prefix_len);
    }
  }
  void open(KeyPart) {
    separate();
    value_.clear();
  }
  void append(std::string_view s) { value_ += s; }
  void close() {
    if (value_.size() > max_printable_value) {
      static constexpr char hex[] = "0123456789abcdef";
      std::uint64_t h = hash64(value_, printable_seed);
      char digits[16];
      for (int i = 15; i >= 0; --i, h >>= 4) digits[i] = hex[h & 0xF];
      out_ += '~';
      out_.append(digits, 16);
    } else {
      append_escaped(out_, value_, false);
    }
  }
  std::string take() { return std::move(out_); }

 private:
  void separate() {
    if (!first_) out_ += '|';
    first_ = false;
  }

  std::string out_;
  std::string value_;
  bool first_ = true;
};

}  // namespace

std::uint64_t hash64(std::string_view bytes, std::uint64_t seed) noexcept {
  Hasher h(seed);
  h.text(bytes);
  return h.finish();
}

net::Cidr ip_prefix(const net::Address& ip, unsigned v4_prefix, unsigned v6_prefix) noexcept {
  const net::Address a = net::canonical(ip);
  if (a.is_v4()) {
    const unsigned len = v4_prefix > 32 ? 32 : v4_prefix;
    const std::uint32_t mask = len == 0 ? 0 : ~std::uint32_t{0} << (32 - len);
    return {boost::asio::ip::address_v4(a.to_v4().to_uint() & mask), len};
  }
  const unsigned len = v6_prefix > 128 ? 128 : v6_prefix;
  auto bytes = a.to_v6().to_bytes();
  std::size_t whole = len / 8;
  if (len % 8 != 0) bytes[whole++] &= static_cast<unsigned char>(0xFFu << (8 - len % 8));
  std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(whole), bytes.end(), 0);
  return {boost::asio::ip::address_v6(bytes), len};
}

std::string_view path_group(std::string_view path) noexcept {
  path = path.substr(0, path.find('?'));
  if (path.empty() || path == "/") return "/";
  const auto end = path.find('/', path.front() == '/' ? 1 : 0);
  return path.substr(0, end);
}

std::string_view cookie_value(const http::fields& headers, std::string_view name) noexcept {
  const auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  for (auto [it, end] = headers.equal_range(http::field::cookie); it != end; ++it) {
    std::string_view rest = it->value();
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      const std::string_view pair = trim(rest.substr(0, semi));
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      const auto eq = pair.find('=');
      if (eq == std::string_view::npos) continue;
      if (trim(pair.substr(0, eq)) == name) return trim(pair.substr(eq + 1));
    }
  }
  return {};
}

std::uint64_t key_hash(const LimitSpec& spec, const KeyInput& in) noexcept {
  HashEmitter e(process_seed());
  walk_key(spec, in, e);
  return e.finish();
}

Key make_key(const LimitSpec& spec, const KeyInput& in) {
  HashEmitter h(process_seed());
  walk_key(spec, in, h);
  PrintableEmitter p;
  walk_key(spec, in, p);
  return {h.finish(), p.take()};
}

}  // namespace bawwab::limit
