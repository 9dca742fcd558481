#pragma once
// Blocking-style I/O with deadlines over one accepted socket, plain or TLS, for the
// control-plane listener's connection threads. The fd is non-blocking; every wait is a poll()
// bounded by a deadline, so a silent or slow peer can hold a thread only as long as the
// settings allow (slowloris, stalled bodies).
//
// Owned by one connection thread; only shutdown() may be called from another thread (stop()).

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string_view>

#include "core/result.h"

namespace moat::edge::service_internal {

using SteadyClock = std::chrono::steady_clock;
using Deadline = SteadyClock::time_point;

class SocketIo {
public:
    // Takes ownership of fd and (when not null) of ssl, already bound to fd in accept state.
    SocketIo(int fd, SSL* ssl);
    ~SocketIo();
    SocketIo(const SocketIo&) = delete;
    SocketIo& operator=(const SocketIo&) = delete;

    bool secure() const { return ssl_ != nullptr; }
    // The negotiated protocol and cipher after the handshake (empty over plain HTTP).
    std::string tls_version() const;
    std::string tls_cipher() const;
    int fd() const { return fd_; }

    // The TLS handshake (no-op for plain). kUnavailable on timeout, kDenied when it fails.
    Result<void> handshake(Deadline deadline);
    // Up to n bytes, 0 when the peer closed. kUnavailable when nothing arrived by `deadline`,
    // kIo for socket errors, kDenied for TLS errors.
    Result<std::size_t> read_some(char* buf, std::size_t n, Deadline deadline);
    // All bytes; fails with kUnavailable when no byte could be written for `stall`.
    Result<void> write_all(std::string_view bytes, std::chrono::milliseconds stall);
    // Whether bytes are already buffered (TLS records decrypted but not yet read).
    bool pending() const;

    // Sends close_notify (TLS, best effort, never waits).
    void close_notify();
    // From any thread: wakes a blocked poll() by shutting the socket down both ways.
    void shutdown();

private:
    enum class Wait { kRead, kWrite };
    Result<void> wait(Wait w, Deadline deadline);
    // Maps an SSL_* failure to a wait direction or an error.
    Result<Wait> ssl_want(int ret);

    int fd_;
    SSL* ssl_;
    std::atomic<bool> shut_{false};
};

}  // namespace moat::edge::service_internal
