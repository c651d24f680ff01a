#pragma once
// A tiny authoritative DNS server on 127.0.0.1:0 (UDP) for tests of the real resolver: PTR, A and
// AAAA records from a table, names that are never answered (a hung server), and a count of the
// queries it received. One question per query, answers by name pointer; no TCP, no EDNS. It runs
// on its own thread; header-only, tests only.
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bawwab::test {

class FakeDnsServer {
 public:
  static constexpr std::uint16_t kA = 1, kPtr = 12, kAaaa = 28;

  FakeDnsServer() : socket_(ioc_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    receive();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~FakeDnsServer() {
    ioc_.stop();
    thread_.join();
  }
  FakeDnsServer(const FakeDnsServer&) = delete;
  FakeDnsServer& operator=(const FakeDnsServer&) = delete;

  // "127.0.0.1:port", for AresConfig::servers.
  std::string address() const {
    return "127.0.0.1:" + std::to_string(socket_.local_endpoint().port());
  }

  // Records, before or while the server runs. Names are lowercase, without the trailing dot.
  void add_ptr(const std::string& reverse_name, const std::string& target) {
    const std::lock_guard lock(mu_);
    records_[{reverse_name, kPtr}].push_back(encode_name(target));
  }
  void add_a(const std::string& name, const boost::asio::ip::address_v4& a) {
    const std::lock_guard lock(mu_);
    const auto b = a.to_bytes();
    records_[{name, kA}].emplace_back(b.begin(), b.end());
  }
  // Queries for this name (any type) get no answer at all.
  void hang(const std::string& name) {
    const std::lock_guard lock(mu_);
    hung_.insert(name);
  }
  std::size_t queries() const { return queries_.load(); }

  // "66.249.66.1" -> "1.66.249.66.in-addr.arpa".
  static std::string reverse_name(const boost::asio::ip::address_v4& a) {
    const auto b = a.to_bytes();
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
           std::to_string(b[0]) + ".in-addr.arpa";
  }

 private:
  using Bytes = std::vector<std::uint8_t>;

  static Bytes encode_name(const std::string& name) {
    Bytes out;
    std::size_t start = 0;
    while (start < name.size()) {
      std::size_t dot = name.find('.', start);
      if (dot == std::string::npos) dot = name.size();
      out.push_back(static_cast<std::uint8_t>(dot - start));
      out.insert(out.end(), name.begin() + static_cast<std::ptrdiff_t>(start),
                 name.begin() + static_cast<std::ptrdiff_t>(dot));
      start = dot + 1;
    }
    out.push_back(0);
    return out;
  }

  void receive() {
    socket_.async_receive_from(boost::asio::buffer(buf_), peer_,
                               [this](boost::system::error_code ec, std::size_t n) {
                                 if (ec) return;
                                 ++queries_;
                                 answer(n);
                                 receive();
                               });
  }

  void answer(std::size_t n) {
    if (n < 12) return;
    // The question: labels from byte 12, then type and class.
    std::string name;
    std::size_t i = 12;
    while (i < n && buf_[i] != 0) {
      const std::size_t len = buf_[i++];
      if (len > 63 || i + len > n) return;
      if (!name.empty()) name += '.';
      for (std::size_t k = 0; k < len; ++k) {
        char c = static_cast<char>(buf_[i + k]);
        name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
      }
      i += len;
    }
    if (i + 5 > n) return;
    const std::size_t question_end = i + 5;
    const std::uint16_t type = static_cast<std::uint16_t>(buf_[i + 1] << 8 | buf_[i + 2]);

    std::vector<Bytes> rdata;
    bool known = false;
    {
      const std::lock_guard lock(mu_);
      if (hung_.count(name) != 0) return;
      for (const auto& [key, values] : records_) {
        if (key.first != name) continue;
        known = true;
        if (key.second == type) rdata = values;
      }
    }
    Bytes out(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(question_end));
    out[2] = static_cast<std::uint8_t>(0x84 | (buf_[2] & 0x01));   // QR, AA, RD as asked
    out[3] = known ? 0x80 : 0x83;                                  // RA; NXDOMAIN if unknown
    out[4] = 0, out[5] = 1;                                        // one question
    out[6] = 0, out[7] = static_cast<std::uint8_t>(rdata.size());  // answers
    out[8] = out[9] = out[10] = out[11] = 0;
    for (const Bytes& r : rdata) {
      const std::uint8_t rr[] = {0xc0,
                                 0x0c,  // the question's name
                                 static_cast<std::uint8_t>(type >> 8),
                                 static_cast<std::uint8_t>(type & 0xff),
                                 0,
                                 1,  // IN
                                 0,
                                 0,
                                 0,
                                 60,  // TTL
                                 static_cast<std::uint8_t>(r.size() >> 8),
                                 static_cast<std::uint8_t>(r.size() & 0xff)};
      out.insert(out.end(), std::begin(rr), std::end(rr));
      out.insert(out.end(), r.begin(), r.end());
    }
    boost::system::error_code ignored;
    socket_.send_to(boost::asio::buffer(out), peer_, 0, ignored);
  }

  boost::asio::io_context ioc_{1};
  boost::asio::ip::udp::socket socket_;
  boost::asio::ip::udp::endpoint peer_;
  std::array<std::uint8_t, 512> buf_{};
  std::atomic<std::size_t> queries_{0};
  std::mutex mu_;
  std::map<std::pair<std::string, std::uint16_t>, std::vector<Bytes>> records_;
  std::set<std::string> hung_;
  std::thread thread_;
};

}  // namespace bawwab::test
