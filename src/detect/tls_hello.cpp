#include "bawwab/detect/tls_hello.hpp"

#include <algorithm>
#include <cstring>

namespace bawwab::detect {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "bawwab.tls_hello"; }
  std::string message(int ev) const override {
    switch (static_cast<TlsHelloErrc>(ev)) {
      case TlsHelloErrc::ok: return "ok";
      case TlsHelloErrc::truncated: return "ClientHello truncated";
      case TlsHelloErrc::not_handshake: return "not a TLS handshake record";
      case TlsHelloErrc::not_client_hello: return "not a ClientHello";
      case TlsHelloErrc::sslv2_hello: return "SSLv2-format ClientHello";
      case TlsHelloErrc::bad_record: return "bad TLS record header";
      case TlsHelloErrc::malformed: return "malformed ClientHello";
      case TlsHelloErrc::bad_extension: return "malformed ClientHello extension";
    }
    return "unknown tls_hello error";
  }
};

constexpr std::uint8_t kRecordHandshake = 22;
constexpr std::uint8_t kClientHello = 1;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecordPayload = 16384;  // TLSPlaintext.length <= 2^14 (RFC 8446 §5.1)
constexpr std::size_t kHandshakeHeader = 4;

// A cursor over bytes. Every read checks the bounds and fails (returns false) instead of
// reading past the end; the caller turns a failure into the error that fits where it happened.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> b) noexcept : b_(b) {}

  std::size_t left() const noexcept { return b_.size() - pos_; }
  bool empty() const noexcept { return pos_ == b_.size(); }

  bool u8(std::uint8_t& v) noexcept {
    if (left() < 1) return false;
    v = b_[pos_++];
    return true;
  }
  bool u16(std::uint16_t& v) noexcept {
    if (left() < 2) return false;
    v = static_cast<std::uint16_t>((b_[pos_] << 8) | b_[pos_ + 1]);
    pos_ += 2;
    return true;
  }
  bool u24(std::uint32_t& v) noexcept {
    if (left() < 3) return false;
    v = (std::uint32_t{b_[pos_]} << 16) | (std::uint32_t{b_[pos_ + 1]} << 8) | b_[pos_ + 2];
    pos_ += 3;
    return true;
  }
  bool skip(std::size_t n) noexcept {
    if (left() < n) return false;
    pos_ += n;
    return true;
  }
  // The next n bytes as their own reader.
  bool sub(std::size_t n, Reader& out) noexcept {
    if (left() < n) return false;
    out = Reader(b_.subspan(pos_, n));
    pos_ += n;
    return true;
  }
  // A vector<u8> / vector<u16> prefixed by an 8- or 16-bit length.
  bool sub8(Reader& out) noexcept {
    std::uint8_t n = 0;
    return u8(n) && sub(n, out);
  }
  bool sub16(Reader& out) noexcept {
    std::uint16_t n = 0;
    return u16(n) && sub(n, out);
  }
  std::span<const std::uint8_t> rest() const noexcept { return b_.subspan(pos_); }

 private:
  std::span<const std::uint8_t> b_;
  std::size_t pos_ = 0;
};

// The whole of `r` as big-endian u16 values (an odd size is a framing error).
bool read_u16s(Reader r, std::vector<std::uint16_t>& out) {
  if (r.left() % 2 != 0) return false;
  out.reserve(r.left() / 2);
  std::uint16_t v = 0;
  while (r.u16(v)) out.push_back(v);
  return true;
}

bool read_u8s(Reader r, std::vector<std::uint8_t>& out) {
  const auto rest = r.rest();
  out.assign(rest.begin(), rest.end());
  return true;
}

// A length-prefixed list that must be exactly the extension body: `len_bytes` is 1 or 2.
bool whole_list(Reader& body, int len_bytes, Reader& list) noexcept {
  const bool ok = len_bytes == 1 ? body.sub8(list) : body.sub16(list);
  return ok && body.empty();
}

bool parse_sni(Reader body, std::string& sni) {
  if (body.empty()) return true;  // lenient: present but empty still says "a name was meant"
  Reader list(std::span<const std::uint8_t>{});
  if (!whole_list(body, 2, list)) return false;
  bool have = false;
  while (!list.empty()) {
    std::uint8_t type = 0;
    Reader name(std::span<const std::uint8_t>{});
    if (!list.u8(type) || !list.sub16(name)) return false;
    if (type == 0 && !have) {  // host_name; later entries of other types are skipped
      const auto b = name.rest();
      sni.assign(reinterpret_cast<const char*>(b.data()), b.size());
      have = true;
    }
  }
  return true;
}

bool parse_alpn(Reader body, std::vector<std::string>& alpn) {
  if (body.empty()) return true;
  Reader list(std::span<const std::uint8_t>{});
  if (!whole_list(body, 2, list)) return false;
  while (!list.empty()) {
    Reader name(std::span<const std::uint8_t>{});
    if (!list.sub8(name)) return false;
    const auto b = name.rest();
    alpn.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
  }
  return true;
}

bool parse_key_share(Reader body, std::vector<std::uint16_t>& groups) {
  Reader list(std::span<const std::uint8_t>{});
  if (!whole_list(body, 2, list)) return false;
  while (!list.empty()) {
    std::uint16_t group = 0;
    Reader key(std::span<const std::uint8_t>{});
    if (!list.u16(group) || !list.sub16(key)) return false;
    groups.push_back(group);
  }
  return true;
}

bool u16_list(Reader body, int len_bytes, std::vector<std::uint16_t>& out) {
  Reader list(std::span<const std::uint8_t>{});
  return whole_list(body, len_bytes, list) && read_u16s(list, out);
}

bool u8_list(Reader body, std::vector<std::uint8_t>& out) {
  Reader list(std::span<const std::uint8_t>{});
  return whole_list(body, 1, list) && read_u8s(list, out);
}

// Index of each decoded extension in a "seen" bit mask, so that only the first body of a
// duplicated type is decoded (without a scan of the list per extension).
int decoded_index(std::uint16_t type) noexcept {
  switch (type) {
    case tls_ext::server_name: return 0;
    case tls_ext::alpn: return 1;
    case tls_ext::supported_versions: return 2;
    case tls_ext::signature_algorithms: return 3;
    case tls_ext::supported_groups: return 4;
    case tls_ext::ec_point_formats: return 5;
    case tls_ext::key_share: return 6;
    case tls_ext::psk_key_exchange_modes: return 7;
    case tls_ext::compress_certificate: return 8;
    case tls_ext::delegated_credentials: return 9;
    case tls_ext::record_size_limit: return 10;
    case tls_ext::padding: return 11;
    default: return -1;
  }
}

bool parse_extension(std::uint16_t type, Reader body, ClientHello& h) {
  switch (type) {
    case tls_ext::server_name: return parse_sni(body, h.sni);
    case tls_ext::alpn: return parse_alpn(body, h.alpn);
    case tls_ext::supported_versions: return u16_list(body, 1, h.supported_versions);
    case tls_ext::signature_algorithms: return u16_list(body, 2, h.signature_algorithms);
    case tls_ext::supported_groups: return u16_list(body, 2, h.supported_groups);
    case tls_ext::ec_point_formats: return u8_list(body, h.ec_point_formats);
    case tls_ext::key_share: return parse_key_share(body, h.key_share_groups);
    case tls_ext::psk_key_exchange_modes: return u8_list(body, h.psk_key_exchange_modes);
    case tls_ext::compress_certificate: return u16_list(body, 1, h.cert_compression_algorithms);
    case tls_ext::delegated_credentials:
      return u16_list(body, 2, h.delegated_credential_algorithms);
    case tls_ext::record_size_limit: {
      std::uint16_t v = 0;
      if (!body.u16(v) || !body.empty()) return false;
      h.record_size_limit = v;
      return true;
    }
    case tls_ext::padding: h.padding_size = body.left(); return true;
    default: return true;
  }
}

// The body of a ClientHello handshake message (after type and length). Its length is already
// known to fit, so running short anywhere in here is malformed, not truncated.
Result<ClientHello> parse_body(Reader r, std::size_t message_size) {
  ClientHello h;
  h.message_size = message_size;
  std::uint8_t session_id = 0;
  Reader ciphers(std::span<const std::uint8_t>{});
  Reader compression(std::span<const std::uint8_t>{});
  if (!r.u16(h.legacy_version) || !r.skip(32) || !r.u8(session_id) || session_id > 32 ||
      !r.skip(session_id) || !r.sub16(ciphers) || !read_u16s(ciphers, h.cipher_suites) ||
      !r.sub8(compression) || !read_u8s(compression, h.compression_methods))
    return TlsHelloErrc::malformed;
  h.session_id_size = session_id;
  if (r.empty()) return h;  // no extensions block at all (SSL 3.0 / early TLS clients)

  Reader exts(std::span<const std::uint8_t>{});
  if (!r.sub16(exts) || !r.empty()) return TlsHelloErrc::malformed;
  h.extensions.reserve(exts.left() / 4);
  std::uint32_t seen = 0;
  while (!exts.empty()) {
    std::uint16_t type = 0;
    Reader body(std::span<const std::uint8_t>{});
    if (!exts.u16(type) || !exts.sub16(body)) return TlsHelloErrc::malformed;
    h.extensions.push_back(type);
    const int idx = decoded_index(type);
    if (idx < 0 || (seen & (1u << idx)) != 0) continue;
    seen |= 1u << idx;
    if (!parse_extension(type, body, h)) return TlsHelloErrc::bad_extension;
  }
  return h;
}

// `msg` starts with the handshake header; bytes after the message are ignored.
Result<ClientHello> parse_message(std::span<const std::uint8_t> msg) {
  Reader r(msg);
  std::uint8_t type = 0;
  std::uint32_t len = 0;
  if (!r.u8(type)) return TlsHelloErrc::truncated;
  if (type != kClientHello) return TlsHelloErrc::not_client_hello;
  if (!r.u24(len)) return TlsHelloErrc::truncated;
  Reader body(std::span<const std::uint8_t>{});
  if (!r.sub(len, body)) return TlsHelloErrc::truncated;
  return parse_body(body, kHandshakeHeader + len);
}

// TLS records carrying the ClientHello, possibly fragmented over several records (large
// post-quantum key shares make this happen; research §2.4). The common case, a message inside
// its first record, is parsed in place; only a fragmented one is copied together.
Result<ClientHello> parse_records(std::span<const std::uint8_t> bytes) {
  std::vector<std::uint8_t> joined;
  std::size_t need = 0;  // message size once its header is known, else 0
  Reader r(bytes);
  for (bool first = true;; first = false) {
    std::uint8_t type = 0;
    std::uint16_t version = 0;
    std::uint16_t len = 0;
    if (!r.u8(type)) return TlsHelloErrc::truncated;
    if (type != kRecordHandshake)
      return first ? TlsHelloErrc::not_handshake : TlsHelloErrc::bad_record;
    if (!r.u16(version) || !r.u16(len)) return TlsHelloErrc::truncated;
    // Record versions are 0x0300..0x0303 in practice; any TLS major byte is accepted.
    if ((version >> 8) != 0x03 || len == 0 || len > kMaxRecordPayload)
      return TlsHelloErrc::bad_record;
    const std::size_t avail = std::min<std::size_t>(len, r.left());
    const auto fragment = r.rest().first(avail);

    if (first && avail == len) {
      // Whole first record here: if the message fits in it, no copy at all.
      Reader m(fragment);
      std::uint8_t mtype = 0;
      std::uint32_t mlen = 0;
      if (!m.u8(mtype)) return TlsHelloErrc::truncated;
      if (mtype != kClientHello) return TlsHelloErrc::not_client_hello;
      if (m.u24(mlen) && kHandshakeHeader + mlen <= fragment.size()) return parse_message(fragment);
    }
    if (first && !fragment.empty() && fragment[0] != kClientHello)
      return TlsHelloErrc::not_client_hello;
    joined.insert(joined.end(), fragment.begin(), fragment.end());
    if (need == 0 && joined.size() >= kHandshakeHeader)
      need = kHandshakeHeader +
             ((std::size_t{joined[1]} << 16) | (std::size_t{joined[2]} << 8) | joined[3]);
    if (need != 0 && joined.size() >= need) return parse_message(joined);
    if (avail < len) return TlsHelloErrc::truncated;
    r.skip(avail);
  }
}

}  // namespace

const boost::system::error_category& tls_hello_category() noexcept {
  static const Category category;
  return category;
}

boost::system::error_code make_error_code(TlsHelloErrc e) noexcept {
  return {static_cast<int>(e), tls_hello_category()};
}

bool ClientHello::has_extension(std::uint16_t type) const noexcept {
  return std::find(extensions.begin(), extensions.end(), type) != extensions.end();
}

Result<ClientHello> parse_client_hello(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return TlsHelloErrc::truncated;
  const std::uint8_t first = bytes[0];
  if (first == kRecordHandshake) return parse_records(bytes);
  if (first == kClientHello) return parse_message(bytes);
  // An SSLv2 record header has its top bit set (2-byte length form); 0x80 0x.. 0x01 is the
  // SSLv2-compatible ClientHello old clients and scanners still send.
  if ((first & 0x80) != 0 && bytes.size() >= 3 && bytes[2] == kClientHello)
    return TlsHelloErrc::sslv2_hello;
  if (first >= 20 && first <= 24) return TlsHelloErrc::not_handshake;  // CCS, alert, data...
  return TlsHelloErrc::not_client_hello;
}

Result<ClientHello> parse_client_hello(std::string_view bytes) {
  return parse_client_hello(std::span<const std::uint8_t>(
      reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

}  // namespace bawwab::detect
