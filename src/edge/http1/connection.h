#pragma once
// The HTTP/1.1 connection loop (RFC 9112): keep-alive, pipelining (responses to requests already
// in the buffer are batched into one write), header and idle timeouts, drain.

#include <asio/awaitable.hpp>

#include "edge/conn.h"
#include "edge/internal/shared.h"

namespace moat::edge::http1 {

// Serves requests on `s` until the peer leaves, an error, a timeout or a drain. All references
// belong to the calling connection coroutine, which awaits this one.
template <class Stream>
asio::awaitable<void> serve(Stream& s, ConnControl& ctl, Deadline& dl, const ConnInfo& info,
                            WorkerState* w);

}  // namespace moat::edge::http1
