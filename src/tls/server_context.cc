#include "tls/server_context.h"

#include <openssl/err.h>
#include <openssl/tls1.h>

#include <atomic>
#include <cstring>
#include <optional>
#include <string>

#include "tls/init.h"
#include "tls/internal/names.h"
#include "tls/internal/ossl.h"

namespace moat::tls {

namespace internal {

// Everything the SSL_CTX callbacks need. Lives in the SSL_CTX's ex_data and is deleted by its
// free callback, i.e. when the last SSL holding the SSL_CTX is gone.
struct ContextState {
    ContextState(std::chrono::seconds rotation, TicketKeys::Clock clock)
        : tickets(rotation, std::move(clock)) {}
    std::atomic<std::shared_ptr<const CertTable>> certs;
    std::atomic<std::shared_ptr<const ServerContext::AlpnChallengeProvider>> acme;
    TicketKeys tickets;
};

}  // namespace internal

namespace {

using internal::ContextState;

// Mozilla Server Side TLS "intermediate" v6.0, TLS 1.2 part: ECDHE + AEAD only, in this order.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
constexpr char kGroups[] = "X25519:P-256:P-384";
// ALPN wire format (RFC 7301 §3.1), in server preference order.
constexpr unsigned char kAlpnHttp[] = "\x02h2\x08http/1.1";
constexpr unsigned char kAlpnAcme[] =
    "\x0a"
    "acme-tls/1";  // RFC 8737 §6.2
constexpr std::string_view kAcmeProto = "acme-tls/1";
// Sessions are only valid for this application (see SSL_CTX_set_session_id_context).
constexpr unsigned char kSessionIdContext[] = "moat";

// Per-connection state in the SSL's ex_data.
struct ConnState {
    std::string local_ip;
    std::string requested_sni;
    std::string server_name;
    bool acme = false;  // tls-alpn-01 validation handshake
};

void free_ctx_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<ContextState*>(ptr);
}
void free_conn_state(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
    delete static_cast<ConnState*>(ptr);
}

int ctx_index() {
    static const int idx = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_ctx_state);
    return idx;
}
int conn_index() {
    static const int idx = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_conn_state);
    return idx;
}

ContextState* ctx_state(const SSL* s) {
    return static_cast<ContextState*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), ctx_index()));
}
const ConnState* find_conn(const SSL* s) {
    return static_cast<const ConnState*>(SSL_get_ex_data(s, conn_index()));
}
ConnState* conn_state(SSL* s) {
    auto* cs = static_cast<ConnState*>(SSL_get_ex_data(s, conn_index()));
    if (cs != nullptr) return cs;
    cs = new ConnState;
    if (SSL_set_ex_data(s, conn_index(), cs) != 1) {
        delete cs;
        return nullptr;
    }
    return cs;
}

// RFC 6066 §3 server_name extension: a 2-byte list length, then {type, 2-byte length, name}.
// Returns the first host_name entry ("" if absent), or nullopt if the extension is malformed.
std::optional<std::string> parse_sni(SSL* s) {
    const unsigned char* p = nullptr;
    size_t len = 0;
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_server_name, &p, &len) != 1) return "";
    if (len < 2) return std::nullopt;
    size_t list = (size_t{p[0]} << 8) | p[1];
    if (list != len - 2) return std::nullopt;
    p += 2;
    len -= 2;
    while (len >= 3) {
        unsigned type = p[0];
        size_t n = (size_t{p[1]} << 8) | p[2];
        if (n > len - 3) return std::nullopt;
        if (type == TLSEXT_NAMETYPE_host_name) {
            std::string_view name(reinterpret_cast<const char*>(p + 3), n);
            if (name.empty() || name.size() > 255 || name.find('\0') != std::string_view::npos)
                return std::nullopt;
            return internal::normalize_host(name);
        }
        p += 3 + n;
        len -= 3 + n;
    }
    return len == 0 ? std::optional<std::string>("") : std::nullopt;
}

// RFC 8737 §3: the validation server offers exactly one ALPN protocol, "acme-tls/1".
bool offers_only_acme(SSL* s) {
    const unsigned char* p = nullptr;
    size_t len = 0;
    if (SSL_client_hello_get0_ext(s, TLSEXT_TYPE_application_layer_protocol_negotiation, &p,
                                  &len) != 1)
        return false;
    return len == 2 + 1 + kAcmeProto.size() && p[2] == kAcmeProto.size() &&
           std::memcmp(p + 3, kAcmeProto.data(), kAcmeProto.size()) == 0;
}

bool install(SSL* s, const CertKey& ck) {
    // override=1 replaces a certificate chosen for an earlier ClientHello of the same
    // handshake (after a HelloRetryRequest the callback runs again).
    if (SSL_use_cert_and_key(s, ck.leaf(), ck.key(), ck.chain(), 1) == 1) return true;
    ERR_clear_error();
    return false;
}

// Installs the entry's certificates side by side (one slot per key type). OpenSSL then picks
// per handshake: TLS 1.3 by the first signature algorithm of the server's list the client
// offers (server order under SSL_OP_CIPHER_SERVER_PREFERENCE, ECDSA before RSA), TLS 1.2 by the
// first suite of kTls12Ciphers the client offers that a present certificate can serve. So only
// a client that cannot verify ECDSA gets the RSA certificate.
bool install(SSL* s, const CertEntry& entry) {
    // A slot filled for an earlier ClientHello (HelloRetryRequest) from another table must not
    // survive: clear both before filling them again.
    SSL_certs_clear(s);
    if (!install(s, *entry.cert)) return false;
    return entry.rsa == nullptr || install(s, *entry.rsa);
}

int on_client_hello(SSL* s, int* al, void* arg) {
    auto* st = static_cast<ContextState*>(arg);
    ConnState* cs = conn_state(s);
    if (cs == nullptr) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    auto sni = parse_sni(s);
    if (!sni) {
        *al = SSL_AD_DECODE_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    cs->requested_sni = *sni;
    cs->server_name.clear();
    cs->acme = false;

    if (!sni->empty() && offers_only_acme(s)) {
        if (auto provider = st->acme.load(); provider && *provider) {
            if (auto challenge = (*provider)(*sni)) {
                if (!install(s, *challenge)) {
                    *al = SSL_AD_INTERNAL_ERROR;
                    return SSL_CLIENT_HELLO_ERROR;
                }
                cs->acme = true;
                cs->server_name = *sni;
                // A validation handshake must show the challenge certificate every time and
                // must never leave a ticket that would later resume as the real site.
                SSL_set_options(s, SSL_OP_NO_TICKET);
                SSL_set_num_tickets(s, 0);
                return SSL_CLIENT_HELLO_SUCCESS;
            }
        }
        // No challenge pending: continue normally; ALPN then finds no common protocol.
    }

    // One snapshot for the whole decision; a concurrent set_certs() affects later handshakes.
    std::shared_ptr<const CertTable> table = st->certs.load();
    const CertEntry* chosen = nullptr;
    std::string name;
    if (table) {
        if (!sni->empty()) {
            chosen = table->find_entry(*sni);
            name = *sni;
        } else if (!cs->local_ip.empty()) {
            chosen = table->find_entry(cs->local_ip);
            name = cs->local_ip;
        }
        if (chosen == nullptr && table->default_entry() != nullptr) {
            chosen = table->default_entry();
            name = table->default_name();
        }
    }
    if (chosen == nullptr) {
        *al = SSL_AD_UNRECOGNIZED_NAME;  // RFC 6066 §3
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (!install(s, *chosen)) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    cs->server_name = std::move(name);
    return SSL_CLIENT_HELLO_SUCCESS;
}

int on_alpn(SSL* s, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
            unsigned int inlen, void*) {
    const ConnState* cs = find_conn(s);
    bool acme = cs != nullptr && cs->acme;
    const unsigned char* ours = acme ? kAlpnAcme : kAlpnHttp;
    unsigned int ours_len = acme ? sizeof kAlpnAcme - 1 : sizeof kAlpnHttp - 1;
    // The server list comes first: SSL_select_next_proto prefers its order, so h2 wins over
    // http/1.1 whatever the client's order.
    unsigned char* sel = nullptr;
    if (SSL_select_next_proto(&sel, outlen, ours, ours_len, in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;  // RFC 7301 §3.2: no_application_protocol
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

int on_ticket_key(SSL* s, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                  EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
    ContextState* st = ctx_state(s);
    if (st == nullptr) return -1;
    return st->tickets.on_ticket(key_name, iv, cipher, mac, enc);
}

// Binds each ticket to the name its certificate was chosen for. OpenSSL does not compare the
// SNI of a resumption with the original one (TLS 1.3) or only notes the difference (TLS 1.2),
// and RFC 8446 §4.6.1 leaves the check to clients ("SHOULD only resume if the new SNI value is
// valid for the server certificate presented in the original session"). Checking it here too
// keeps a ticket issued for a.example from resuming on b.example.
int on_ticket_generate(SSL* s, void*) {
    const ConnState* cs = find_conn(s);
    SSL_SESSION* sess = SSL_get_session(s);
    if (cs == nullptr || sess == nullptr) return 0;
    return SSL_SESSION_set1_ticket_appdata(sess, cs->server_name.data(), cs->server_name.size());
}

SSL_TICKET_RETURN on_ticket_decrypted(SSL* s, SSL_SESSION* sess, const unsigned char*, size_t,
                                      SSL_TICKET_STATUS status, void*) {
    switch (status) {
        case SSL_TICKET_EMPTY:
        case SSL_TICKET_NO_DECRYPT:
            return SSL_TICKET_RETURN_IGNORE_RENEW;
        case SSL_TICKET_SUCCESS:
        case SSL_TICKET_SUCCESS_RENEW:
            break;
        default:
            return SSL_TICKET_RETURN_ABORT;
    }
    const ConnState* cs = find_conn(s);
    void* data = nullptr;
    size_t len = 0;
    if (cs == nullptr || cs->acme || sess == nullptr ||
        SSL_SESSION_get0_ticket_appdata(sess, &data, &len) != 1 ||
        std::string_view(static_cast<const char*>(data), len) != cs->server_name) {
        return SSL_TICKET_RETURN_IGNORE_RENEW;  // another host's ticket: full handshake
    }
    // TLS 1.3 clients use a ticket once (RFC 8446 §C.4; browsers do, so does OpenSSL's client),
    // and OpenSSL sends a resumed TLS 1.3 connection new tickets only when told to renew: with
    // plain USE every second connection of such a client was a full handshake. TLS 1.2
    // tickets stay valid for reuse, so they are renewed only when the key asks for it.
    // One replacement is enough for a client that resumes one connection at a time (the
    // full handshake's spare covers parallel connections); each ticket costs an encryption and
    // its bytes on every resumption.
    if (SSL_version(s) == TLS1_3_VERSION) {
        SSL_set_num_tickets(s, 1);
        return SSL_TICKET_RETURN_USE_RENEW;
    }
    return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}

Result<void> apply_policy(SSL_CTX* ctx, const TlsSettings& settings) {
    using internal::ossl_error;
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
        return ossl_error(Errc::kInternal, "setting protocol versions");
    if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
        return ossl_error(Errc::kInternal, "setting TLS 1.2 ciphers");
    if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1)
        return ossl_error(Errc::kInternal, "setting TLS 1.3 suites");
    if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1)
        return ossl_error(Errc::kInternal, "setting groups");
    SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |
                                 SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                                 SSL_OP_ENABLE_KTLS);
    // Tickets must stay on: they are the only resumption mechanism.
    SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_security_level(ctx, 2);
    if (SSL_CTX_set_max_early_data(ctx, 0) != 1)  // no 0-RTT: early data is replayable
        return ossl_error(Errc::kInternal, "disabling early data");

    // Stateless tickets only: they need no server memory and every worker (and, once the
    // keys are shared, every node) can resume them; a server-side cache would be neither.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1) != 1)
        return ossl_error(Errc::kInternal, "setting session id context");
    SSL_CTX_set_timeout(ctx, static_cast<long>(settings.session_lifetime.count()));
    if (SSL_CTX_set_num_tickets(ctx, 2) != 1)  // TLS 1.3: one spare for parallel connections
        return ossl_error(Errc::kInternal, "setting ticket count");
    return {};
}

}  // namespace

Result<std::shared_ptr<ServerContext>> ServerContext::create(const TlsSettings& settings,
                                                             Clock clock) {
    if (settings.session_lifetime.count() <= 0)
        return make_error(Errc::kInvalidArgument, "session_lifetime must be positive");
    if (settings.ticket_rotation.count() <= 0)
        return make_error(Errc::kInvalidArgument, "ticket_rotation must be positive");
    init_openssl();
    ERR_clear_error();
    SSL_CTX* ctx = SSL_CTX_new_ex(nullptr, nullptr, TLS_server_method());
    if (ctx == nullptr) return internal::ossl_error(Errc::kInternal, "SSL_CTX_new_ex");
    auto* state = new ContextState(settings.ticket_rotation, std::move(clock));
    if (ctx_index() < 0 || SSL_CTX_set_ex_data(ctx, ctx_index(), state) != 1) {
        delete state;
        SSL_CTX_free(ctx);
        return internal::ossl_error(Errc::kInternal, "SSL_CTX_set_ex_data");
    }
    // From here SSL_CTX_free also frees `state`.
    std::shared_ptr<ServerContext> sc(new ServerContext(ctx, state));
    MOAT_TRY(apply_policy(ctx, settings));
    if (conn_index() < 0) return internal::ossl_error(Errc::kInternal, "SSL_get_ex_new_index");
    SSL_CTX_set_client_hello_cb(ctx, on_client_hello, state);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, nullptr);
    if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket_key) != 1 ||
        SSL_CTX_set_session_ticket_cb(ctx, on_ticket_generate, on_ticket_decrypted, nullptr) != 1)
        return internal::ossl_error(Errc::kInternal, "setting ticket callbacks");
    return sc;
}

ServerContext::~ServerContext() { SSL_CTX_free(ctx_); }

void ServerContext::set_certs(std::shared_ptr<const CertTable> certs) {
    state_->certs.store(std::move(certs));
}

std::shared_ptr<const CertTable> ServerContext::certs() const { return state_->certs.load(); }

void ServerContext::set_alpn_challenge_provider(AlpnChallengeProvider provider) {
    std::shared_ptr<const AlpnChallengeProvider> p;
    if (provider) p = std::make_shared<const AlpnChallengeProvider>(std::move(provider));
    state_->acme.store(std::move(p));
}

namespace {

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                  unsigned int inlen, void*) {
    static constexpr unsigned char kHttp11[] = "\x08http/1.1";
    unsigned char* sel = nullptr;
    if (SSL_select_next_proto(&sel, outlen, kHttp11, sizeof kHttp11 - 1, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

void ServerContext::offer_http11_only() {
    SSL_CTX_set_alpn_select_cb(ctx_, select_http11, nullptr);
}

TicketKeys& ServerContext::ticket_keys() { return state_->tickets; }

void set_local_address(SSL* ssl, std::string_view ip) {
    if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
    if (auto pct = ip.find('%'); pct != std::string_view::npos) ip = ip.substr(0, pct);
    // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
    constexpr std::string_view kMapped = "::ffff:";
    if (ip.size() > kMapped.size() &&
        internal::normalize_host(ip.substr(0, kMapped.size())) == kMapped &&
        ip.find('.') != std::string_view::npos) {
        ip.remove_prefix(kMapped.size());
    }
    ConnState* cs = conn_state(ssl);
    if (cs == nullptr) return;  // then the handshake falls back to the default certificate
    cs->local_ip = internal::canonical_ip(ip).value_or(std::string());
}

std::string_view server_name(const SSL* ssl) {
    const ConnState* cs = find_conn(ssl);
    return cs == nullptr ? std::string_view() : std::string_view(cs->server_name);
}

std::string_view requested_server_name(const SSL* ssl) {
    const ConnState* cs = find_conn(ssl);
    return cs == nullptr ? std::string_view() : std::string_view(cs->requested_sni);
}

std::string_view negotiated_alpn(const SSL* ssl) {
    const unsigned char* p = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl, &p, &len);
    return p == nullptr ? std::string_view()
                        : std::string_view(reinterpret_cast<const char*>(p), len);
}

std::string_view protocol_name(const SSL* ssl) { return SSL_get_version(ssl); }

std::string_view cipher_name(const SSL* ssl) {
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
    return c == nullptr ? std::string_view() : std::string_view(SSL_CIPHER_get_name(c));
}

}  // namespace moat::tls
