#pragma once
// TLS termination with OpenSSL 3: TLS 1.2 and 1.3, ALPN http/1.1, several certificates per
// listener chosen by SNI (the first is the default).
#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

#include "bawwab/config/config.hpp"
#include "bawwab/core/diagnostic.hpp"

namespace bawwab::server {

// Loads the listener's certificates; problems (unreadable file, bad PEM, key not matching the
// certificate) become diagnostics against `source`, and the result is then null.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const config::ListenerConfig& listener,
                                                            const std::string& source,
                                                            Diagnostics& diagnostics);

}  // namespace bawwab::server
