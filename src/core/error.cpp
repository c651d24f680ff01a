#include "bawwab/core/error.hpp"

#include <string>

namespace bawwab {
namespace {

class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "bawwab"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::bad_request: return "bad request";
      case Errc::header_too_large: return "request header too large";
      case Errc::request_line_too_long: return "request line too long";
      case Errc::too_many_headers: return "too many header fields";
      case Errc::body_too_large: return "request body too large";
      case Errc::header_timeout: return "client did not send its header in time";
      case Errc::upstream_connect_failed: return "could not connect to upstream";
      case Errc::upstream_timeout: return "upstream timed out";
      case Errc::upstream_protocol_error: return "upstream sent an invalid response";
      case Errc::upstream_closed: return "upstream closed the connection";
      case Errc::no_upstream: return "no upstream server available";
      case Errc::config_invalid: return "configuration invalid";
      case Errc::client_closed: return "client closed the connection";
      case Errc::bad_request_body: return "malformed request body";
    }
    return "unknown bawwab error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

boost::system::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

}  // namespace bawwab
