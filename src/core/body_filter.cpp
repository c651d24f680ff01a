#include "bawwab/core/body_filter.hpp"

namespace bawwab {

void FilterChain::add(std::unique_ptr<BodyFilter> filter) {
  filters_.push_back(std::move(filter));
  if (filters_.size() > 1) scratch_.resize(filters_.size() - 1);
}

void FilterChain::on_data(std::string_view in, std::string& out, bool last) {
  if (finished_ || ended_) return;
  if (filters_.empty()) {
    out.append(in);
    ended_ = last;
    return;
  }
  std::string_view piece = in;
  bool piece_last = last;
  for (std::size_t i = 0; i < filters_.size(); ++i) {
    BodyFilter& f = *filters_[i];
    const bool is_final = i + 1 == filters_.size();
    std::string& sink = is_final ? out : scratch_[i];
    if (!is_final) sink.clear();
    f.on_data(piece, sink, piece_last);
    if (f.finished()) {
      // This filter ended the body: the ones after it get their last call now, with what it
      // emitted, so that a compressor after a truncating rewriter still closes its stream.
      piece_last = true;
      finished_ = true;
    }
    piece = is_final ? std::string_view{} : std::string_view(sink);
  }
  if (piece_last) ended_ = true;
}

bool FilterChain::changes_bytes() const noexcept {
  for (const auto& f : filters_) {
    if (f->changes_bytes()) return true;
  }
  return false;
}

bool FilterChain::idle() const noexcept {
  if (filters_.empty() || finished_ || ended_) return false;
  for (const auto& f : filters_) {
    if (!f->idle()) return false;
  }
  return true;
}

std::size_t FilterChain::held_bytes() const noexcept {
  std::size_t n = 0;
  for (const auto& f : filters_) n += f->held_bytes();
  return n;
}

}  // namespace bawwab
