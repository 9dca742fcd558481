#pragma once
// Per-connection state shared by the HTTP/1 and HTTP/2 loops: the deadline watchdog, what the
// access log needs to know about the connection, and the hooks the server uses to drain it.
// Lives in the connection coroutine's frame; touched only on its worker thread.

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "edge/handler.h"

namespace moat::edge {

// A deadline that cancels the socket's pending waits when it passes. set() is a store plus,
// rarely, a timer re-arm: the timer fires at the old deadline and re-arms itself if the deadline
// moved later, so a busy keep-alive connection does not touch the timer queue per request.
class Deadline {
public:
    Deadline(asio::ip::tcp::socket& sock);
    ~Deadline();
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

    void set(std::chrono::milliseconds d);
    void clear();
    bool expired() const;

    struct State;  // shared with the timer's handler, which may outlive the Deadline

private:
    std::shared_ptr<State> st_;
};

// What one side of the access log says about the connection (CloudFront fields 5, 17, 21, 22,
// 24, 27).
struct ConnInfo {
    std::string peer_ip;
    std::uint16_t peer_port = 0;
    std::uint16_t local_port = 0;
    bool secure = false;
    std::string_view tls_protocol;  // static strings from OpenSSL
    std::string_view tls_cipher;
    std::string sni;
    // Host the certificate was chosen for (the SNI, or the local address when the client sent
    // none; IPv6 in brackets as in Host); empty over clear text. Names the origin of an
    // HTTP/1.0 request without Host (RFC 9112 §3.3).
    std::string tls_host;
    int worker = 0;
};

// Sees every finished exchange (both HTTP versions), for the access log and metrics.
class ExchangeObserver {
public:
    virtual ~ExchangeObserver() = default;
    // status 0: the client left before a response started. bytes_sent counts headers + body.
    virtual void on_exchange(const ConnInfo& conn, const Request& req, const Response& res,
                             std::uint64_t bytes_sent, std::chrono::steady_clock::time_point start,
                             bool completed) = 0;
    // Connection-level events for metrics. Called on the connection's worker thread.
    virtual void on_connection(bool /*opened*/) {}
    virtual void on_shed() {}
    virtual void on_handshake(bool /*ok*/, std::string_view /*reason*/) {}
};

}  // namespace moat::edge
