#include "bawwab/core/body_filter.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

using bawwab::BodyFilter;
using bawwab::FilterChain;

namespace {

// Upper-cases what it gets; holds back a trailing '<' until the next piece (a split token).
class Upper final : public BodyFilter {
 public:
  void on_data(std::string_view in, std::string& out, bool last) override {
    std::string piece = held_ + std::string(in);
    held_.clear();
    if (!last && !piece.empty() && piece.back() == '<') {
      held_ = "<";
      piece.pop_back();
    }
    for (char c : piece) out.push_back(c >= 'a' && c <= 'z' ? char(c - 32) : c);
    if (last) ++lasts;
  }
  std::size_t held_bytes() const noexcept override { return held_.size(); }
  std::string_view name() const noexcept override { return "upper"; }
  int lasts = 0;

 private:
  std::string held_;
};

// Lets through its first `limit` bytes, then ends the body itself.
class Truncate final : public BodyFilter {
 public:
  explicit Truncate(std::size_t limit) : left_(limit) {}
  void on_data(std::string_view in, std::string& out, bool) override {
    const auto n = std::min(left_, in.size());
    out.append(in.substr(0, n));
    left_ -= n;
    if (left_ == 0) done_ = true;
  }
  bool finished() const noexcept override { return done_; }
  std::string_view name() const noexcept override { return "truncate"; }

 private:
  std::size_t left_;
  bool done_ = false;
};

// An observer: output is input.
class Count final : public BodyFilter {
 public:
  void on_data(std::string_view in, std::string& out, bool last) override {
    out.append(in);
    seen += in.size();
    ended = ended || last;
  }
  bool changes_bytes() const noexcept override { return false; }
  std::string_view name() const noexcept override { return "count"; }
  std::size_t seen = 0;
  bool ended = false;
};

}  // namespace

TEST_CASE("FilterChain: empty is passthrough", "[body_filter]") {
  FilterChain chain;
  std::string out;
  chain.on_data("abc", out, false);
  chain.on_data("def", out, true);
  chain.on_data("ignored", out, true);  // after the end nothing more goes through
  CHECK(out == "abcdef");
  CHECK_FALSE(chain.changes_bytes());
}

TEST_CASE("FilterChain: filters in order, hold-back across pieces, one last call", "[body_filter]") {
  FilterChain chain;
  auto upper = std::make_unique<Upper>();
  Upper* u = upper.get();
  auto count = std::make_unique<Count>();
  Count* c = count.get();
  chain.add(std::move(upper));
  chain.add(std::move(count));
  CHECK(chain.changes_bytes());
  std::string out;
  chain.on_data("ab<", out, false);
  CHECK(out == "AB");
  CHECK(chain.held_bytes() == 1);
  chain.on_data("p>", out, false);
  chain.on_data("", out, true);
  CHECK(out == "AB<P>");
  CHECK(u->lasts == 1);
  CHECK(c->seen == 5);
  CHECK(c->ended);
}

TEST_CASE("FilterChain: a filter that ends the body ends the chain, later filters get last",
          "[body_filter]") {
  FilterChain chain;
  chain.add(std::make_unique<Truncate>(4));
  auto count = std::make_unique<Count>();
  Count* c = count.get();
  chain.add(std::move(count));
  std::string out;
  chain.on_data("ab", out, false);
  CHECK_FALSE(chain.finished());
  chain.on_data("cdef", out, false);
  CHECK(chain.finished());
  CHECK(c->ended);
  chain.on_data("gh", out, true);
  CHECK(out == "abcd");
}

TEST_CASE("FilterChain: only observers keep the bytes", "[body_filter]") {
  FilterChain chain;
  chain.add(std::make_unique<Count>());
  CHECK_FALSE(chain.changes_bytes());
}

TEST_CASE("FilterChain: idle only when every filter is", "[body_filter]") {
  struct Idle final : BodyFilter {
    void on_data(std::string_view in, std::string& out, bool) override { out.append(in); }
    bool idle() const noexcept override { return true; }
    std::string_view name() const noexcept override { return "idle"; }
  };
  FilterChain empty;
  CHECK_FALSE(empty.idle());  // nothing to bypass
  FilterChain chain;
  chain.add(std::make_unique<Idle>());
  CHECK(chain.idle());
  chain.add(std::make_unique<Count>());
  CHECK_FALSE(chain.idle());
}
