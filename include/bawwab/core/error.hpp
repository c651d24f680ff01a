#pragma once
// bawwab's own error codes. Fallible functions on the data path return Result<T>
// (boost::system::result with an error_code), never throw.
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace bawwab {

// Values are stable: they appear in logs and metrics.
enum class Errc {
  ok = 0,
  bad_request = 1,
  header_too_large,
  request_line_too_long,
  too_many_headers,
  body_too_large,
  header_timeout,
  upstream_connect_failed,
  upstream_timeout,
  upstream_protocol_error,
  upstream_closed,
  no_upstream,
  config_invalid,
  client_closed,
  bad_request_body,
};

const boost::system::error_category& error_category() noexcept;
boost::system::error_code make_error_code(Errc e) noexcept;

template <class T>
using Result = boost::system::result<T>;

}  // namespace bawwab

namespace boost::system {
template <>
struct is_error_code_enum<bawwab::Errc> : std::true_type {};
}  // namespace boost::system
