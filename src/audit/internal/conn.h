#pragma once
// Private to audit/: blocking-free TCP and TLS client I/O with a deadline on every step, for
// the one-shot probes of `moat audit`. Sockets are non-blocking and every wait is a poll()
// bounded by the deadline, so a peer that never answers costs at most the timeout.

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace moat::audit::internal {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

struct Endpoint {
    sockaddr_storage addr{};
    socklen_t len = 0;
    std::string text;  // "127.0.0.1:8443", "[::1]:8443"
    bool v6() const { return addr.ss_family == AF_INET6; }
};

// Name resolution (with a deadline) is in resolve.h.

// An owned file descriptor.
class Socket {
public:
    Socket() = default;
    explicit Socket(int fd) : fd_(fd) {}
    Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    Socket& operator=(Socket&& o) noexcept;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;
    ~Socket();
    int fd() const { return fd_; }

private:
    int fd_ = -1;
};

// Non-blocking connect. kUnavailable: refused, unreachable or timed out (detail says which).
Result<Socket> connect_tcp(const Endpoint& to, Deadline deadline);

// Plain-TCP exchange: writes `request`, reads until EOF, `max` bytes or the deadline.
Result<std::string> tcp_exchange(const Socket& s, const std::string& request, std::size_t max,
                                 Deadline deadline);

struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
};
struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// A client context for probing: verification off (the chain is checked separately),
// security level 0 and legacy renegotiation allowed on purpose, so old protocols, small keys
// and weak suites can be seen rather than refused by our own side. `min`/`max`: TLS1_VERSION...
SslCtxPtr probe_context(int min_version, int max_version);

// Runs SSL_connect on a connected socket until done, failed or the deadline.
// kUnavailable on timeout or EOF, kDenied when the server refused (alert; detail names it),
// kInvalidArgument when the peer does not speak TLS.
Result<void> handshake(SSL* ssl, const Socket& s, Deadline deadline);

// Writes all of `data`, then reads until close_notify/EOF, `max` bytes, `stop` returning true
// on what has been read so far, or the deadline. Returns what was read (possibly partial on
// deadline: the caller decides whether it is enough).
Result<std::string> tls_exchange(SSL* ssl, const Socket& s, const std::string& data,
                                 std::size_t max, bool (*stop)(const std::string&),
                                 Deadline deadline);

// True for an IPv4 or IPv6 literal (brackets allowed): such hosts get no SNI (RFC 6066 §3).
bool is_ip_literal(const std::string& host);

// The OpenSSL error queue as one line, cleared.
std::string ssl_errors();

}  // namespace moat::audit::internal
