#pragma once
// Connection coroutines (edge-internal). The worker pointer outlives the coroutine: the server
// waits for every connection to end before destroying its workers.

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include "edge/internal/shared.h"

namespace moat::edge {

asio::awaitable<void> serve_tls_connection(asio::ip::tcp::socket sock, WorkerState* w);
asio::awaitable<void> serve_plain_connection(asio::ip::tcp::socket sock, WorkerState* w);

}  // namespace moat::edge
