#pragma once
// One TLS handshake against a policy host (HTTPS) or an MX (SMTP + STARTTLS, RFC 3207), for
// `moat check mail`. Connects to one address, optionally speaks SMTP up to STARTTLS, then does
// a TLS 1.2+ handshake with SNI and reports what a careful sender would judge: protocol, chain
// to the trusted roots (no AIA fetching), DNS-ID match (RFC 6125, SAN only), validity dates.
// Every step (connect, each SMTP reply, the handshake) is bounded by the timeout, so a silent
// or slow peer never hangs the checker. Blocks the calling thread.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moat::mail {

struct TlsProbeOptions {
    std::string address;  // IPv4 or IPv6 literal
    std::uint16_t port = 443;
    std::string name;       // SNI and the DNS-ID to verify
    bool starttls = false;  // SMTP: banner, EHLO, STARTTLS before the handshake
    std::string ehlo = "moat-check.invalid";
    std::string ca_file;                       // PEM roots; empty: the system store
    std::chrono::milliseconds timeout{10000};  // per step
};

struct TlsProbeResult {
    bool connected = false;
    std::string error;  // why the probe stopped early (connect, SMTP, handshake)
    // SMTP
    std::string banner;
    bool starttls_offered = false;
    // TLS
    bool handshake = false;
    std::string version;  // "TLSv1.3"
    std::string cipher;
    bool chain_ok = false;
    std::string verify_error;  // OpenSSL's reason when !chain_ok
    bool name_ok = false;
    bool expired = false;
    long days_left = 0;
    std::string subject;             // leaf subject, for messages
    std::vector<std::string> chain;  // DER of the peer chain, leaf first (for DANE)
    std::chrono::milliseconds elapsed{0};
};

TlsProbeResult probe_tls(const TlsProbeOptions& options);

// Whether a 250 reply to EHLO announces this extension (RFC 5321 §4.1.1.1: each line after the
// first is "250-" or "250 " then the keyword, case-insensitive, then its parameters). The word
// anywhere else, as in "250-mx.example says hello, no STARTTLS today", does not count.
bool ehlo_offers(std::string_view reply, std::string_view keyword);

}  // namespace moat::mail
