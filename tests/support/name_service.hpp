#pragma once
// Whether this machine resolves "localhost". A minimal Debian (debootstrap, many containers) has
// no /etc/hosts, and then the name does not resolve. Tests that exercise a code path by name ask
// this first and, where the name does not resolve, check the clean failure instead and say so in
// one line, so that no test depends on the machine's name service. Header-only; tests only.
#include <netdb.h>
#include <sys/socket.h>

namespace bawwab::test {

inline bool localhost_resolves() {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo("localhost", "80", &hints, &res);
  if (res != nullptr) ::freeaddrinfo(res);
  return rc == 0;
}

inline constexpr const char* localhost_missing_note =
    "this machine does not resolve 'localhost' (no /etc/hosts entry?): checking the clean "
    "failure of a name that does not resolve instead";

}  // namespace bawwab::test
