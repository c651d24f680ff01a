#pragma once
// Recorded request heads (tests/fixtures/detect/*.txt): "# key: value" lines (client, tls, host,
// expect, order), then the head with LF line ends; parsed by Beast as the session would.
#include <algorithm>
// GCC 12 with -fsanitize=address reports a false -Wmaybe-uninitialized inside Beast's parser (a
// boost::optional in basic_parser.hpp); the state at the header's own lines is what counts.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#pragma GCC diagnostic pop
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bawwab::detect::test {

namespace bh = boost::beast::http;

struct Fixture {
  std::string name;
  std::map<std::string, std::string> meta;
  bh::request_header<> head;

  std::string get(const std::string& key) const {
    const auto it = meta.find(key);
    return it == meta.end() ? std::string{} : it->second;
  }
};

inline bh::request_header<> parse_head(const std::string& raw) {
  bh::request_parser<bh::empty_body> p;
  p.eager(false);
  boost::system::error_code ec;
  p.put(boost::asio::buffer(raw.data(), raw.size()), ec);
  if (ec || !p.is_header_done()) throw std::runtime_error("bad head: " + ec.message());
  return p.get().base();
}

inline Fixture load_fixture(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  Fixture f;
  f.name = path.stem().string();
  std::string line, raw;
  while (std::getline(in, line)) {
    if (line.starts_with("# ")) {
      const auto colon = line.find(": ");
      if (colon != std::string::npos) f.meta[line.substr(2, colon - 2)] = line.substr(colon + 2);
      continue;
    }
    if (line.empty()) continue;
    raw += line + "\r\n";
  }
  raw += "\r\n";
  f.head = parse_head(raw);
  return f;
}

inline std::filesystem::path fixture_dir() {
  return std::filesystem::path(BAWWAB_FIXTURES) / "detect";
}

inline std::vector<Fixture> load_all_fixtures() {
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(fixture_dir()))
    if (e.path().extension() == ".txt") paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  std::vector<Fixture> out;
  for (const auto& p : paths) out.push_back(load_fixture(p));
  return out;
}

inline Fixture fixture(const std::string& name) {
  return load_fixture(fixture_dir() / (name + ".txt"));
}

}  // namespace bawwab::detect::test
