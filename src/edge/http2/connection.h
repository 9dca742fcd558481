#pragma once
// The HTTP/2 connection loop: moves bytes between a TLS stream and an http2::Session.

#include <asio/awaitable.hpp>

#include "edge/conn.h"
#include "edge/internal/shared.h"
#include "edge/stream.h"

namespace moat::edge::http2 {

asio::awaitable<void> serve(TlsStream& s, ConnControl& ctl, Deadline& dl, const ConnInfo& info,
                            WorkerState* w);

}  // namespace moat::edge::http2
