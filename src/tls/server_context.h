#pragma once
// The one server-side SSL_CTX: fixed TLS policy, per-connection certificate choice (SNI),
// ALPN, session tickets.

#include <openssl/ssl.h>

#include <functional>
#include <memory>
#include <string_view>

#include "core/result.h"
#include "tls/cert_key.h"
#include "tls/cert_table.h"
#include "tls/settings.h"
#include "tls/ticket_keys.h"

namespace moat::tls {

namespace internal {
struct ContextState;
}

// Owns the SSL_CTX every accepted connection is created from (SSL_new(native())). The policy is
// fixed, not configurable: TLS 1.2-1.3, ECDHE with AES-GCM / ChaCha20-Poly1305 only in the
// server's order (Mozilla intermediate v6.0 suites), groups X25519:P-256:P-384, security level
// 2, no renegotiation, no compression, no 0-RTT, kTLS when the kernel offers it. Resumption
// uses stateless tickets only (no server-side cache), so all workers resume each other's
// sessions; ticket keys rotate in memory (TicketKeys).
//
// Certificates are chosen per handshake in the ClientHello callback from the CertTable current
// at that moment: SNI (exact, then wildcard); without SNI the connection's local IP address
// (set_local_address) and then the table's default; otherwise the handshake fails with the
// unrecognized_name alert, so no certificate leaks names the client did not ask for.
//
// Thread-safety: one instance is shared by all worker threads; every method is thread-safe and
// never blocks on I/O. The callback state belongs to the SSL_CTX, so SSL objects created from
// native() stay usable even if this object is destroyed first.
class ServerContext {
public:
    using Clock = TicketKeys::Clock;
    // RFC 8737 tls-alpn-01: given the SNI of a ClientHello whose only ALPN protocol is
    // "acme-tls/1", returns the self-signed challenge certificate for that name, or null if no
    // challenge is pending for it (the handshake then fails with no_application_protocol).
    // Called on worker threads during handshakes: must be fast and thread-safe.
    using AlpnChallengeProvider =
        std::function<std::shared_ptr<const CertKey>(std::string_view server_name)>;

    // Errors: kInvalidArgument for a non-positive session_lifetime or ticket_rotation;
    // kInternal if OpenSSL refuses the policy. `clock` (tests) drives ticket-key rotation.
    static Result<std::shared_ptr<ServerContext>> create(const TlsSettings& settings,
                                                         Clock clock = {});
    ~ServerContext();
    ServerContext(const ServerContext&) = delete;
    ServerContext& operator=(const ServerContext&) = delete;

    // For SSL_new. Valid while this object lives (SSL_new takes its own reference).
    SSL_CTX* native() const { return ctx_; }

    // Publishes a new certificate table (reload, ACME renewal). Handshakes already past their
    // ClientHello keep the certificate they chose; later ones see `certs`. Null refuses all.
    void set_certs(std::shared_ptr<const CertTable> certs);
    std::shared_ptr<const CertTable> certs() const;

    // Installs (or with an empty function removes) the tls-alpn-01 seam; see
    // AlpnChallengeProvider. The ACME part sets it while a challenge is pending.
    void set_alpn_challenge_provider(AlpnChallengeProvider provider);

    // Offers only http/1.1 over ALPN, for listeners that speak no HTTP/2 (edge/service.h: the
    // S3 API, the TLS-RPT receiver): offering h2 would make curl or Go clients (rclone) start
    // HTTP/2 on a server that cannot answer it. A client offering no http/1.1 gets
    // no_application_protocol (RFC 7301 §3.2). Replaces the edge's selection (and tls-alpn-01).
    void offer_http11_only();

    TicketKeys& ticket_keys();

private:
    ServerContext(SSL_CTX* ctx, internal::ContextState* state) : ctx_(ctx), state_(state) {}
    SSL_CTX* ctx_;
    internal::ContextState* state_;  // owned by ctx_'s ex_data, freed with the SSL_CTX
};

// Records the local address the connection was accepted on (from getsockname), so a
// ClientHello without SNI (clients send none for IP-literal URLs, RFC 6066 §3) can be answered
// with a certificate for that IP. Accepts "127.0.0.1", "::1", "[::1]", "fe80::1%eth0" and
// IPv4-mapped IPv6 ("::ffff:192.0.2.1" counts as "192.0.2.1"). Call before SSL_accept.
void set_local_address(SSL* ssl, std::string_view ip);

// After the ClientHello was processed: the name the certificate was chosen for (the SNI host
// name in lower case, the local IP literal, or the table's default name); empty before that
// or if the handshake was refused. Valid until the SSL is freed.
std::string_view server_name(const SSL* ssl);

// The SNI host name as sent (lower-cased, trailing dot removed); empty if none was sent.
std::string_view requested_server_name(const SSL* ssl);

// "h2", "http/1.1", "acme-tls/1", or empty if the client offered no ALPN.
std::string_view negotiated_alpn(const SSL* ssl);

// For access logs: "TLSv1.3" / "TLSv1.2", and the OpenSSL cipher name
// ("TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"). Static strings.
std::string_view protocol_name(const SSL* ssl);
std::string_view cipher_name(const SSL* ssl);

}  // namespace moat::tls
