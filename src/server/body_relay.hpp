#pragma once
// Internal to the server module: the one body relay, for both directions (client body -> origin,
// origin body -> client), in Beast's relay pattern (parser<buffer_body> + serializer).
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "bawwab/core/body_filter.hpp"
#include "deadline.hpp"

namespace bawwab::server {

// How one body relay ended.
struct RelayEnd {
  enum class Kind { done, truncated, read_failed, write_failed };
  Kind kind = Kind::done;
  boost::beast::error_code ec;  // the failed read's or write's error
  bool timed_out = false;       // the failed side's deadline fired
};

// The relay buffer of one client connection and what the body filters emit for one piece, reused
// by every body relayed on it. Not thread-safe (the session's strand); one per session.
class BodyRelay {
 public:
  static constexpr std::size_t kBuffer = 32 * 1024;
  using Buffer = std::array<char, kBuffer>;

  // The buffer is allocated only once the connection has a request to serve.
  void allocate() { buffer_ = std::make_unique<Buffer>(); }
  Buffer& buffer() { return *buffer_; }

  // Reads the body from `src` through `parser` into the relay buffer, passes each piece through
  // `filters` (when not null) and writes what comes out through `sr`, which serializes the same
  // message, to `dst`. Every read and write has its deadline. Memory is the relay buffer plus
  // what the filters hold and emit for one piece: bounded, and the first piece goes out as soon
  // as it is read.
  template <class Src, class Parser, class Dst, class Serializer>
  boost::asio::awaitable<RelayEnd> relay(Src& src, boost::beast::flat_buffer& src_buffer,
                                         Parser& parser, LazyDeadline& src_deadline,
                                         std::chrono::milliseconds read_timeout, Dst& dst,
                                         Serializer& sr, LazyDeadline& dst_deadline,
                                         std::chrono::milliseconds write_timeout,
                                         FilterChain* filters, std::uint64_t& bytes_read,
                                         std::uint64_t& bytes_written);

 private:
  static constexpr std::size_t kFilteredPiece = 16 * 1024;
  static constexpr std::size_t kFilteredSlack = 1024;  // room for insertions before filtered_ grows
  static constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);

  std::unique_ptr<Buffer> buffer_;
  std::string filtered_;  // what the body filters emit for one piece (reused)
};

template <class Src, class Parser, class Dst, class Serializer>
boost::asio::awaitable<RelayEnd> BodyRelay::relay(Src& src, boost::beast::flat_buffer& src_buffer,
                                                  Parser& parser, LazyDeadline& src_deadline,
                                                  std::chrono::milliseconds read_timeout, Dst& dst,
                                                  Serializer& sr, LazyDeadline& dst_deadline,
                                                  std::chrono::milliseconds write_timeout,
                                                  FilterChain* filters, std::uint64_t& bytes_read,
                                                  std::uint64_t& bytes_written) {
  namespace bhttp = boost::beast::http;
  auto& body = parser.get().body();
  auto& buf = *buffer_;
  // A filtered body is read in smaller pieces: what the filters emit for one piece is held in
  // filtered_ until written, so the piece size bounds the extra memory of a response in flight
  // (issue 10: at most 16 KB with the rewriter's own state). Once every filter is idle (a
  // rewriter whose insertions are made), the rest streams as if unfiltered: full pieces, no
  // copy, and filtered_'s memory is given back.
  if (filters != nullptr) {
    filtered_.clear();
    filtered_.reserve(kFilteredPiece + kFilteredSlack);  // an insertion does not double it
  }
  do {
    if (filters != nullptr && filters->idle()) {
      filters = nullptr;
      filtered_ = std::string();
    }
    const std::size_t window = filters != nullptr ? kFilteredPiece : buf.size();
    if (!parser.is_done()) {
      body.data = buf.data();
      body.size = window;
      src_deadline.arm(read_timeout);
      auto [ec, n] = co_await bhttp::async_read_some(src, src_buffer, parser, nothrow);
      src_deadline.disarm();
      if (ec == bhttp::error::need_buffer) ec = {};
      bytes_read += n;
      if (ec) co_return RelayEnd{RelayEnd::Kind::read_failed, ec, src_deadline.fired()};
      const std::size_t got = window - body.size;
      const bool last = parser.is_done();
      if (filters != nullptr) {
        filtered_.clear();
        filters->on_data(std::string_view(buf.data(), got), filtered_, last);
        body.data = filtered_.data();
        body.size = filtered_.size();
        body.more = !last && !filters->finished();
      } else {
        body.data = buf.data();
        body.size = got;
        body.more = !last;
      }
      // Nothing yet (only a chunk header arrived, or a filter holds the piece back): writing
      // now would emit an empty chunk, which chunked coding reads as the end of the body.
      if (body.size == 0 && body.more) continue;
      // An empty last piece must be "no buffer", or the chunked serializer writes the last
      // chunk twice (once for the empty buffer, once for the end).
      if (body.size == 0) body.data = nullptr;
    } else {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
      if (filters != nullptr && !filters->finished()) {  // the body ended: filters flush
        filtered_.clear();
        filters->on_data({}, filtered_, true);
        if (!filtered_.empty()) {
          body.data = filtered_.data();
          body.size = filtered_.size();
        }
      }
    }
    dst_deadline.arm(write_timeout);
    auto [wec, wn] = co_await bhttp::async_write(dst, sr, nothrow);
    dst_deadline.disarm();
    if (wec == bhttp::error::need_buffer) wec = {};
    bytes_written += wn;
    if (wec) co_return RelayEnd{RelayEnd::Kind::write_failed, wec, dst_deadline.fired()};
    if (filters != nullptr && filters->finished()) {
      // A filter ended the body early (a page truncated after its head): the rest of the
      // origin's body is not read, so that connection cannot be reused.
      co_return RelayEnd{
          parser.is_done() ? RelayEnd::Kind::done : RelayEnd::Kind::truncated, {}, false};
    }
  } while (!parser.is_done() && !sr.is_done());  // Beast's relay condition
  co_return RelayEnd{};
}

}  // namespace bawwab::server
