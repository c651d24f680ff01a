#include "bawwab/http/hop_by_hop.hpp"

#include <array>
#include <string>
#include <vector>

#include "text.hpp"

namespace bawwab::http {

namespace bh = boost::beast::http;

void remove_hop_by_hop(bh::fields& f) {
  // Copies: erasing Connection frees the storage the tokens would point into.
  std::vector<std::string> named;
  for (const auto& line : text::as_range(f.equal_range(bh::field::connection))) {
    text::for_each_element(line.value(), [&](std::string_view token) {
      if (!text::is_token(token)) return;
      if (text::iequals(token, "host") || text::iequals(token, "content-length")) return;
      named.emplace_back(token);
    });
  }
  for (const auto& name : named) f.erase(name);

  static constexpr std::array kAlways = {
      bh::field::connection,          bh::field::keep_alive,    bh::field::proxy_connection,
      bh::field::proxy_authenticate,  bh::field::proxy_authorization, bh::field::te,
      bh::field::trailer,             bh::field::transfer_encoding,   bh::field::upgrade,
  };
  for (auto name : kAlways) f.erase(name);
}

}  // namespace bawwab::http
