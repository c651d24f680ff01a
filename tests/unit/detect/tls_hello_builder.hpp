#pragma once
// Builds ClientHello bytes from their parts, for the golden vectors (published as decoded field
// lists, not as bytes) and for malformed-input cases. The encoding follows RFC 8446 §4.1.2 and
// the extension RFCs; it is checked against real clients by the recorded fixtures.
#include <cstdint>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tls_test {

using Bytes = std::vector<std::uint8_t>;

inline void put8(Bytes& b, unsigned v) { b.push_back(static_cast<std::uint8_t>(v)); }
inline void put16(Bytes& b, unsigned v) {
  put8(b, v >> 8);
  put8(b, v);
}
inline void put24(Bytes& b, unsigned v) {
  put8(b, v >> 16);
  put16(b, v);
}
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
// `len_bytes`-byte length prefix, then `body`.
inline Bytes prefixed(int len_bytes, const Bytes& body) {
  Bytes out;
  if (len_bytes == 1)
    put8(out, static_cast<unsigned>(body.size()));
  else
    put16(out, static_cast<unsigned>(body.size()));
  append(out, body);
  return out;
}
inline Bytes u16s(std::initializer_list<unsigned> values) {
  Bytes out;
  for (auto v : values) put16(out, v);
  return out;
}
inline Bytes u8s(std::initializer_list<unsigned> values) {
  Bytes out;
  for (auto v : values) put8(out, v);
  return out;
}
inline Bytes filled(std::size_t n, std::uint8_t byte = 0x5a) { return Bytes(n, byte); }

class HelloBuilder {
 public:
  HelloBuilder& legacy_version(unsigned v) {
    version_ = v;
    return *this;
  }
  HelloBuilder& session_id(std::size_t n) {
    session_id_ = n;
    return *this;
  }
  HelloBuilder& ciphers(std::initializer_list<unsigned> c) {
    ciphers_ = u16s(c);
    return *this;
  }
  HelloBuilder& raw_ciphers(Bytes c) {  // for malformed cases: the bytes after the length
    ciphers_ = std::move(c);
    return *this;
  }
  HelloBuilder& compression(std::initializer_list<unsigned> m) {
    compression_ = u8s(m);
    return *this;
  }
  // No extensions block at all (not even its length), as SSL 3.0-era clients send.
  HelloBuilder& no_extensions() {
    no_extensions_ = true;
    return *this;
  }
  HelloBuilder& ext(unsigned type, Bytes body = {}) {
    exts_.emplace_back(type, std::move(body));
    return *this;
  }
  HelloBuilder& sni(std::string_view host) {
    Bytes entry;
    put8(entry, 0);
    append(entry, prefixed(2, Bytes(host.begin(), host.end())));
    return ext(0x0000, prefixed(2, entry));
  }
  HelloBuilder& alpn(std::initializer_list<std::string_view> protocols) {
    Bytes list;
    for (auto p : protocols) append(list, prefixed(1, Bytes(p.begin(), p.end())));
    return ext(0x0010, prefixed(2, list));
  }
  HelloBuilder& alpn_raw(std::initializer_list<Bytes> protocols) {
    Bytes list;
    for (const auto& p : protocols) append(list, prefixed(1, p));
    return ext(0x0010, prefixed(2, list));
  }
  HelloBuilder& supported_versions(std::initializer_list<unsigned> v) {
    return ext(0x002b, prefixed(1, u16s(v)));
  }
  HelloBuilder& signature_algorithms(std::initializer_list<unsigned> v) {
    return ext(0x000d, prefixed(2, u16s(v)));
  }
  HelloBuilder& supported_groups(std::initializer_list<unsigned> v) {
    return ext(0x000a, prefixed(2, u16s(v)));
  }
  HelloBuilder& ec_point_formats(std::initializer_list<unsigned> v) {
    return ext(0x000b, prefixed(1, u8s(v)));
  }
  HelloBuilder& psk_key_exchange_modes(std::initializer_list<unsigned> v) {
    return ext(0x002d, prefixed(1, u8s(v)));
  }
  HelloBuilder& compress_certificate(std::initializer_list<unsigned> v) {
    return ext(0x001b, prefixed(1, u16s(v)));
  }
  // (group, key length) pairs; the keys are filler bytes.
  HelloBuilder& key_share(std::initializer_list<std::pair<unsigned, std::size_t>> shares) {
    Bytes list;
    for (const auto& [group, len] : shares) {
      put16(list, group);
      append(list, prefixed(2, filled(len)));
    }
    return ext(0x0033, prefixed(2, list));
  }

  // The handshake message: type 1, 24-bit length, body.
  Bytes message() const {
    Bytes body;
    put16(body, version_);
    append(body, filled(32, 0x11));  // random
    append(body, prefixed(1, filled(session_id_, 0x22)));
    append(body, prefixed(2, ciphers_));
    append(body, prefixed(1, compression_));
    if (!no_extensions_) {
      Bytes exts;
      for (const auto& [type, ext_body] : exts_) {
        put16(exts, type);
        append(exts, prefixed(2, ext_body));
      }
      append(body, prefixed(2, exts));
    }
    Bytes msg;
    put8(msg, 1);
    put24(msg, static_cast<unsigned>(body.size()));
    append(msg, body);
    return msg;
  }

  // The message in handshake records of at most `fragment` bytes each.
  Bytes records(std::size_t fragment = 16384) const { return to_records(message(), fragment); }

  static Bytes to_records(const Bytes& msg, std::size_t fragment) {
    Bytes out;
    for (std::size_t at = 0; at < msg.size(); at += fragment) {
      const std::size_t n = std::min(fragment, msg.size() - at);
      put8(out, 22);
      put16(out, 0x0301);
      put16(out, static_cast<unsigned>(n));
      out.insert(out.end(), msg.begin() + static_cast<std::ptrdiff_t>(at),
                 msg.begin() + static_cast<std::ptrdiff_t>(at + n));
    }
    return out;
  }

 private:
  unsigned version_ = 0x0303;
  std::size_t session_id_ = 32;
  Bytes ciphers_;
  Bytes compression_ = {0};
  bool no_extensions_ = false;
  std::vector<std::pair<unsigned, Bytes>> exts_;
};

inline std::string_view view(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A recorded ClientHello under tests/fixtures/detect/tls_hello/.
inline Bytes fixture(std::string_view name) {
  std::ifstream in(std::string(BAWWAB_FIXTURES) + "/detect/tls_hello/" + std::string(name),
                   std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// ---- Golden vectors, built from published decodes ----

// FoxIO technical_details/JA4.md, the worked example (research §2.2): the JA4_ro line gives the
// wire order of ciphers and extensions (GREASE removed; we add GREASE back where Chrome puts it,
// which must not change anything) and the signature algorithms. ALPN h2, TLS 1.3.
inline HelloBuilder foxio_example(bool with_sigalgs = true) {
  HelloBuilder b;
  b.ciphers({0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
             0xc014, 0x009c, 0x009d, 0x002f, 0x0035});
  b.ext(0x7a7a)  // GREASE
      .compress_certificate({2})
      .sni("example.com")
      .key_share({{0x6a6a, 1}, {0x001d, 32}})
      .alpn({"h2", "http/1.1"})
      .ext(0x4469, {0x00, 0x03, 0x02, 'h', '2'})
      .ext(0x0017)
      .psk_key_exchange_modes({1})
      .ext(0x000d,
           with_sigalgs
               ? prefixed(2, u16s({0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}))
               : prefixed(2, {}))
      .ext(0x0005, {0x01, 0x00, 0x00, 0x00, 0x00})
      .ext(0x0023)
      .ext(0x0012)
      .supported_versions({0x6a6a, 0x0304, 0x0303})
      .ext(0xff01, {0x00})
      .ec_point_formats({0})
      .supported_groups({0x6a6a, 0x001d, 0x0017, 0x0018})
      .ext(0x0015, filled(40, 0))
      .ext(0x1a1a, {0x00});  // GREASE
  return b;
}

// Chrome 143 on Android as decoded by browserleaks (service0427/v2_cp_app tls.md, the source of
// research §2.1's JA3 vectors): every field in wire order, GREASE values as sent. Key shares,
// the ECH payload and the random are filler of the published lengths (no fingerprint reads them).
inline HelloBuilder chrome143_browserleaks() {
  HelloBuilder b;
  b.ciphers({43690, 4865, 4866, 4867, 49195, 49199, 49196, 49200, 52393, 52392, 49171, 49172, 156,
             157, 47, 53});
  Bytes ech;
  put8(ech, 0);    // outer
  put16(ech, 1);   // HKDF-SHA256
  put16(ech, 1);   // AES-128-GCM
  put8(ech, 254);  // config_id
  append(ech, prefixed(2, filled(32)));
  append(ech, prefixed(2, filled(144)));
  b.ext(19018)
      .psk_key_exchange_modes({1})
      .key_share({{14906, 1}, {4588, 1216}, {29, 32}})
      .alpn({"h2", "http/1.1"})
      .ext(65037, ech)
      .ext(23)
      .ext(17613, {0x00, 0x03, 0x02, 'h', '2'})
      .sni("tls-outer.browserleaks.com")
      .ec_point_formats({0})
      .supported_groups({14906, 4588, 29, 23, 24})
      .supported_versions({27242, 772, 771})
      .ext(65281, {0x00})
      .ext(35)
      .ext(18)
      .ext(5, {0x01, 0x00, 0x00, 0x00, 0x00})
      .signature_algorithms({1027, 2052, 1025, 1283, 2053, 1281, 2054, 1537})
      .compress_certificate({2})
      .ext(27242, {0x00});
  return b;
}

inline constexpr std::string_view kChrome143AndroidUa =
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/143.0.0.0 Mobile Safari/537.36";

}  // namespace tls_test
