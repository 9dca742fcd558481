#pragma once
// Settings of the edge (listeners, limits, timeouts). Plain data with secure defaults; filled
// by config/ or by `moat serve --root`, never read from a file here.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::edge {

struct EdgeSettings {
    // "ADDR:PORT" with ADDR an IPv4 address or a bracketed IPv6 one ("[::]:443").
    // Both families are listed explicitly: "[::]" listeners are IPv6-only (IPV6_V6ONLY).
    std::vector<std::string> https_listen{"0.0.0.0:443", "[::]:443"};
    std::vector<std::string> http_listen{"0.0.0.0:80", "[::]:80"};
    int workers = 0;  // event-loop threads; 0 = one per core

    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds header_timeout{10'000};  // whole request head (slowloris)
    std::chrono::milliseconds idle_timeout{60'000};    // keep-alive between requests
    std::chrono::milliseconds write_timeout{30'000};   // a write that makes no progress
    std::chrono::milliseconds drain_timeout{10'000};   // SIGTERM: wait this long for requests

    std::size_t max_connections = 10'000;         // beyond this, new connections are shed
    std::size_t max_header_bytes = 16 * 1024;     // request line + headers (431 beyond)
    std::size_t max_target_bytes = 8 * 1024;      // request-target (414 beyond)
    std::size_t max_headers = 100;                // header fields per request (431 beyond)
    std::size_t max_requests_per_connection = 0;  // 0 = unlimited

    // HTTP/2 (RFC 9113) limits and flood defences.
    std::uint32_t h2_max_concurrent_streams = 128;
    std::uint32_t h2_header_table_size = 4096;      // HPACK table we let peers use
    std::size_t h2_max_header_list = 16 * 1024;     // decoded header list bytes
    std::uint32_t h2_max_resets_per_second = 200;   // rapid reset (CVE-2023-44487)
    std::uint32_t h2_max_control_per_second = 200;  // SETTINGS / PING / PRIORITY floods
    std::uint32_t h2_max_continuations = 8;         // CONTINUATION frames per header block

    std::string metrics_listen = "127.0.0.1:9100";  // empty: no metrics listener
    bool access_log = true;      // CloudFront-format access logs (off: metrics only)
    std::string access_log_dir;  // CloudFront-format logs go under <dir>/CloudFront/<env>/<site>/
    std::string node_id = "moat1";  // x-edge-location in the access log
};

}  // namespace moat::edge
