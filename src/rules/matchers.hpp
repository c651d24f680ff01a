#pragma once
// The indexes a compiled rule set matches with: a binary prefix tree of CIDRs (IPv4 and IPv6), a
// byte trie of path prefixes, and glob -> RE2 translation. Built once by the loader, then
// read-only: lookups are const, allocation-free and thread-safe.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bawwab/core/net.hpp"

namespace bawwab::rules::detail {

inline constexpr std::uint32_t kNone = 0xFFFFFFFFu;

// Lists of ids hanging off trie nodes: one singly linked list per node, in one vector.
class IdLists {
 public:
  // Adds `id` to the list starting at `head` (unless it is there already).
  void add(std::uint32_t& head, std::uint32_t id);
  template <class F>
  void for_each(std::uint32_t head, F&& f) const {
    for (std::uint32_t i = head; i != kNone; i = links_[i].next) f(links_[i].id);
  }

 private:
  struct Link {
    std::uint32_t id;
    std::uint32_t next;
  };
  std::vector<Link> links_;
};

// CIDR -> ids (the networks it belongs to). A lookup walks at most 32 (IPv4) or 128 (IPv6) nodes
// whatever the number of CIDRs: 10,000 Googlebot-sized ranges cost the same as ten. IPv4 networks
// match IPv4-mapped IPv6 addresses too, as net::Cidr::contains does.
class CidrTrie {
 public:
  CidrTrie();
  void insert(const net::Cidr& cidr, std::uint32_t id);
  // Calls f(id) for every id with a network that contains `ip` (an id may come more than once).
  template <class F>
  void lookup(const net::Address& ip, F&& f) const {
    const net::Address a = net::canonical(ip);
    if (a.is_v4()) {
      walk(a.to_v4().to_bytes(), kV4Root, f);
    } else {
      walk(a.to_v6().to_bytes(), kV6Root, f);
    }
  }
  std::size_t size() const noexcept { return nodes_.size(); }

 private:
  static constexpr std::uint32_t kV4Root = 0;
  static constexpr std::uint32_t kV6Root = 1;
  struct Node {
    std::array<std::uint32_t, 2> child{0, 0};  // 0 = none (node 0 is a root, never a child)
    std::uint32_t ids = kNone;
  };
  template <std::size_t N, class F>
  void walk(const std::array<unsigned char, N>& bytes, std::uint32_t node, F& f) const {
    for (std::size_t bit = 0;; ++bit) {
      ids_.for_each(nodes_[node].ids, f);
      if (bit == N * 8) return;
      const unsigned b = (bytes[bit / 8] >> (7 - bit % 8)) & 1u;
      node = nodes_[node].child[b];
      if (node == 0) return;
    }
  }
  std::vector<Node> nodes_;
  IdLists ids_;
};

// Byte-string prefixes -> ids. A lookup walks the input once, reporting the ids of every prefix
// of it, shortest first.
class PrefixTrie {
 public:
  PrefixTrie();
  void insert(std::string_view prefix, std::uint32_t id);
  template <class F>
  void lookup(std::string_view s, F&& f) const {
    std::uint32_t node = 0;
    ids_.for_each(nodes_[node].ids, f);
    for (const char c : s) {
      node = child(node, static_cast<unsigned char>(c));
      if (node == 0) return;
      ids_.for_each(nodes_[node].ids, f);
    }
  }
  bool empty() const noexcept { return nodes_.size() == 1 && nodes_[0].ids == kNone; }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, std::uint32_t>> children;  // few: a linear scan wins
    std::uint32_t ids = kNone;
  };
  std::uint32_t child(std::uint32_t node, unsigned char c) const noexcept {
    for (const auto& [k, v] : nodes_[node].children) {
      if (k == c) return v;
    }
    return 0;
  }
  std::vector<Node> nodes_;
  IdLists ids_;
};

// A path glob as an RE2 pattern, to be matched anchored at both ends: `*` is any run of
// characters except '/', `**` any run including '/', `?` one character except '/'; everything
// else is literal.
std::string glob_to_regex(std::string_view glob);

// A bit per id, in storage reused from one request to the next (no allocation once warm).
class Bits {
 public:
  void reset(std::size_t n) { words_.assign((n + 63) / 64, 0); }
  void set(std::size_t i) noexcept { words_[i / 64] |= std::uint64_t{1} << (i % 64); }
  bool test(std::size_t i) const noexcept { return (words_[i / 64] >> (i % 64)) & 1u; }

 private:
  std::vector<std::uint64_t> words_;
};

}  // namespace bawwab::rules::detail
