#pragma once
// Lingering close (what nginx calls lingering_close): after the server decides to close, it
// sends its close (TLS close_notify / TCP FIN) and then reads and discards what the client still
// sends — WINDOW_UPDATEs, a pipelined request — until the client closes or a short deadline.
// Closing with unread input makes the kernel send RST, and an RST makes the client drop the
// response bytes still in its receive buffer (RFC 9112 §9.6).

#include <asio/awaitable.hpp>
#include <chrono>

#include "edge/conn.h"

namespace moat::edge {

inline constexpr std::chrono::milliseconds kLingerTime{2000};

template <class Stream>
asio::awaitable<void> linger_close(Stream& s, Deadline& dl) {
    s.shutdown();
    dl.set(kLingerTime);
    char sink[4096];
    for (int i = 0; i < 256; ++i) {  // at most 1 MiB of discarded input
        auto n = co_await s.read_some(sink, sizeof sink);
        if (!n || *n == 0) break;
    }
}

}  // namespace moat::edge
