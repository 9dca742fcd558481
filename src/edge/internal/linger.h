#pragma once
// Lingering close (what nginx calls lingering_close): after the server decides to close, it
// sends its close (TLS close_notify / TCP FIN) and then reads and discards what the client still
// sends — WINDOW_UPDATEs, a pipelined request — until the client closes or a short deadline.
// Closing with unread input makes the kernel send RST, and an RST makes the client drop the
// response bytes still in its receive buffer (RFC 9112 §9.6).

#include <algorithm>
#include <asio/awaitable.hpp>
#include <chrono>

#include "edge/conn.h"

namespace moat::edge {

// Like nginx's lingering_timeout and lingering_time: wait up to kLingerTimeout for each next
// chunk of input, and no longer than kLingerTotal (or 1 MiB) in all.
inline constexpr std::chrono::milliseconds kLingerTimeout{2000};
inline constexpr std::chrono::milliseconds kLingerTotal{10000};

template <class Stream>
asio::awaitable<void> linger_close(Stream& s, Deadline& dl) {
    s.shutdown();
    const auto end = std::chrono::steady_clock::now() + kLingerTotal;
    char sink[4096];
    // Bytes, not reads: a TLS read returns one record, and a flood may come in tiny records.
    for (std::size_t discarded = 0; discarded < (1u << 20);) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        dl.set(std::min(left, kLingerTimeout));
        auto n = co_await s.read_some(sink, sizeof sink);
        if (!n || *n == 0) break;
        discarded += *n;
    }
}

}  // namespace moat::edge
