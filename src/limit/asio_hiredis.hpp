#pragma once
// Internal to the limit module: drives a hiredis async context (hiredis 0.14) from an Asio
// io_context, in place of the libevent/libuv adapters hiredis ships. hiredis tells the adapter
// through its ev hooks when it wants to read or write; the adapter waits for readiness on the
// context's socket (posix::stream_descriptor::async_wait, no I/O of its own) and calls
// redisAsyncHandleRead / redisAsyncHandleWrite, which do the non-blocking I/O and run the reply
// callbacks. Everything happens on the io_context's thread; nothing here blocks.
#include <boost/asio/io_context.hpp>

struct redisAsyncContext;

namespace bawwab::limit::detail {

// Attaches the adapter to a fresh context (before any callback is set). It lives until hiredis
// frees the context (its cleanup hook); the socket is hiredis's and closed by hiredis. Returns
// false if the socket cannot be watched (the caller frees the context).
bool attach_asio(redisAsyncContext* ac, boost::asio::io_context& ioc);

}  // namespace bawwab::limit::detail
