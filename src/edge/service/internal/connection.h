#pragma once
// One control-plane connection, served start to end on its own thread: TLS handshake, then
// requests one after another (keep-alive; pipelined requests wait in the input buffer), each
// handed to the ServiceHandler with its body and response objects.

#include <memory>
#include <string>

#include "edge/service/internal/server_state.h"
#include "edge/service/internal/socket_io.h"

namespace moat::edge::service_internal {

struct PeerInfo {
    std::string peer_ip;
    std::string local_ip;
    std::uint16_t local_port = 0;
};

// Serves the connection until it ends; closes the socket. Never throws.
void serve_connection(std::shared_ptr<ServerState> state, std::unique_ptr<SocketIo> io,
                      PeerInfo peer);

// Beyond max_connections: answers 503 (after the TLS handshake when secure) and closes.
void reject_connection(std::shared_ptr<ServerState> state, std::unique_ptr<SocketIo> io);

}  // namespace moat::edge::service_internal
