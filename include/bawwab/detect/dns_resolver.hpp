#pragma once
// Asynchronous DNS for crawler verification: the two queries forward-confirmed reverse DNS needs
// (PTR of the client's address, then the A/AAAA records of that name), as an interface the
// verifier calls and unit tests fake without sockets, and its implementation on c-ares driven by
// an Asio loop on a thread of its own.
#include <boost/system/result.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bawwab/core/clock.hpp"
#include "bawwab/core/net.hpp"

namespace bawwab::detect {

// failure: SERVFAIL, refused, network error...; timeout: no answer by the deadline. Both are
// retried sooner than a definite answer (VerifierConfig::failure_ttl).
enum class DnsStatus { ok, no_name, failure, timeout };

struct ReverseAnswer {
  DnsStatus status = DnsStatus::failure;
  std::string name;  // the PTR name when ok
};
struct ForwardAnswer {
  DnsStatus status = DnsStatus::failure;
  std::vector<net::Address> addresses;
};

using ReverseHandler = std::function<void(ReverseAnswer)>;
using ForwardHandler = std::function<void(ForwardAnswer)>;

// Asynchronous queries. Each call starts one query and never waits for it; its handler is called
// exactly once, on any thread (a fake may call it inline), and no later than shortly after
// `deadline` (SteadyClock), then with DnsStatus::timeout. The functions are thread-safe.
struct DnsResolver {
  std::function<void(const net::Address& ip, TimePoint deadline, ReverseHandler done)> reverse;
  std::function<void(const std::string& name, TimePoint deadline, ForwardHandler done)> forward;
};

// The name a PTR query asks for: "1.66.249.66.in-addr.arpa", or the 32 nibbles of an IPv6
// address under "ip6.arpa" (IPv4-mapped addresses as IPv4). Pure.
std::string ptr_query_name(const net::Address& ip);

struct AresConfig {
  // The longest a whole lookup may take (detection.dns_timeout). c-ares gets a third of it per
  // try and two tries, so one lost UDP datagram is retransmitted before the deadline.
  std::chrono::milliseconds timeout{2000};
  // "" = the system's servers (/etc/resolv.conf); else "host:port,..." (tests: a fake server).
  std::string servers;
};

// c-ares on a thread of its own: one channel, its sockets watched by an io_context that only this
// thread runs, so that no c-ares call ever happens on two threads. Each query has a deadline
// timer of its own; at the deadline its handler gets DnsStatus::timeout and the late answer, if
// one comes, is dropped. Only DNS is asked (no /etc/hosts): a crawler's name is public data.
// Thread-safe. Lifetime: must outlive every user of resolver(); destruction stops the thread and
// answers the queries still running with DnsStatus::failure, on the destroying thread.
class AresResolver {
 public:
  static boost::system::result<std::unique_ptr<AresResolver>> create(const AresConfig& config);
  ~AresResolver();
  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;

  // The interface the verifier takes; the functions borrow this resolver.
  DnsResolver resolver();

  struct Impl;

 private:
  explicit AresResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// c-ares status codes (ARES_E...) as error codes, for AresResolver::create.
const boost::system::error_category& ares_category() noexcept;

}  // namespace bawwab::detect
