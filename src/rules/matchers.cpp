#include "matchers.hpp"

#include <re2/re2.h>

namespace bawwab::rules::detail {

void IdLists::add(std::uint32_t& head, std::uint32_t id) {
  for (std::uint32_t i = head; i != kNone; i = links_[i].next) {
    if (links_[i].id == id) return;
  }
  links_.push_back(Link{id, head});
  head = static_cast<std::uint32_t>(links_.size() - 1);
}

CidrTrie::CidrTrie() : nodes_(2) {}

void CidrTrie::insert(const net::Cidr& cidr, std::uint32_t id) {
  auto descend = [&](const auto& bytes, std::uint32_t node) {
    for (unsigned bit = 0; bit < cidr.prefix_len; ++bit) {
      const unsigned b = (bytes[bit / 8] >> (7 - bit % 8)) & 1u;
      if (nodes_[node].child[b] == 0) {
        nodes_[node].child[b] = static_cast<std::uint32_t>(nodes_.size());
        nodes_.emplace_back();  // invalidates references into nodes_: index again below
      }
      node = nodes_[node].child[b];
    }
    ids_.add(nodes_[node].ids, id);
  };
  // parse_cidr stores IPv4-mapped networks of /96 and longer as IPv4 already.
  if (cidr.network.is_v4()) {
    descend(cidr.network.to_v4().to_bytes(), kV4Root);
  } else {
    descend(cidr.network.to_v6().to_bytes(), kV6Root);
  }
}

PrefixTrie::PrefixTrie() : nodes_(1) {}

void PrefixTrie::insert(std::string_view prefix, std::uint32_t id) {
  std::uint32_t node = 0;
  for (const char ch : prefix) {
    const auto c = static_cast<unsigned char>(ch);
    std::uint32_t next = child(node, c);
    if (next == 0) {
      next = static_cast<std::uint32_t>(nodes_.size());
      nodes_.emplace_back();
      nodes_[node].children.emplace_back(c, next);
    }
    node = next;
  }
  ids_.add(nodes_[node].ids, id);
}

std::string glob_to_regex(std::string_view glob) {
  std::string out;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) out += RE2::QuoteMeta(literal);
    literal.clear();
  };
  for (std::size_t i = 0; i < glob.size(); ++i) {
    const char c = glob[i];
    if (c == '*') {
      flush();
      if (i + 1 < glob.size() && glob[i + 1] == '*') {
        const std::size_t start = i;
        while (i + 1 < glob.size() && glob[i + 1] == '*') ++i;
        // "/**/x" also matches "/x": a whole "**/" segment stands for any number of directories,
        // none included (as in gitignore and bash's globstar).
        if (i + 1 < glob.size() && glob[i + 1] == '/' && (start == 0 || glob[start - 1] == '/')) {
          out += "(?:.*/)?";
          ++i;
        } else {
          out += ".*";
        }
      } else {
        out += "[^/]*";
      }
    } else if (c == '?') {
      flush();
      out += "[^/]";
    } else {
      literal += c;
    }
  }
  flush();
  return out;
}

}  // namespace bawwab::rules::detail
