#include "audit/tls_probe.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <functional>

namespace moat::audit {
namespace {

using internal::Deadline;
using internal::Socket;
using internal::SslCtxPtr;
using internal::SslPtr;

struct Conn {
    Socket sock;  // declared first: destroyed after the SSL that uses its fd
    SslPtr ssl;
};

using internal::is_ip_literal;

// One connection and handshake. `setup` adjusts the SSL before the handshake.
Result<Conn> connect(const ProbeTarget& t, SSL_CTX* ctx, const std::function<void(SSL*)>& setup) {
    if (!ctx) return make_error(Errc::kInternal, "SSL_CTX_new failed");
    if (internal::Clock::now() >= t.budget)
        return make_error(Errc::kUnavailable, "time budget of the audit used up");
    Deadline d = t.deadline();
    auto sock = internal::connect_tcp(t.endpoint, d);
    if (!sock) return sock.error();
    Conn c{std::move(*sock), SslPtr(SSL_new(ctx))};
    if (!c.ssl) return make_error(Errc::kInternal, "SSL_new failed");
    // RFC 6066 §3: no SNI for IP literals.
    if (!is_ip_literal(t.host)) SSL_set_tlsext_host_name(c.ssl.get(), t.host.c_str());
    if (setup) setup(c.ssl.get());
    MOAT_TRY(internal::handshake(c.ssl.get(), c.sock, d));
    return c;
}

std::string group_of(EVP_PKEY* pk, int* bits) {
    *bits = EVP_PKEY_get_bits(pk);
    switch (EVP_PKEY_get_base_id(pk)) {
        case EVP_PKEY_X25519:
            return "X25519";
        case EVP_PKEY_X448:
            return "X448";
        case EVP_PKEY_DH:
            return "DH " + std::to_string(*bits);
        case EVP_PKEY_EC: {
            char name[64] = {};
            size_t len = 0;
            if (EVP_PKEY_get_group_name(pk, name, sizeof name, &len) != 1) return "EC";
            std::string n(name, len);
            if (n == "prime256v1") return "P-256";
            if (n == "secp384r1") return "P-384";
            if (n == "secp521r1") return "P-521";
            return n;
        }
        default:
            return "unknown";
    }
}

SuiteInfo describe(SSL* ssl) {
    SuiteInfo s;
    const SSL_CIPHER* c = SSL_get_current_cipher(ssl);
    s.protocol = SSL_get_version(ssl);
    if (!c) return s;
    s.name = SSL_CIPHER_get_name(c);
    s.bits = SSL_CIPHER_get_bits(c, nullptr);
    int kx = SSL_CIPHER_get_kx_nid(c);
    s.kx = kx == NID_kx_ecdhe       ? "ECDHE"
           : kx == NID_kx_dhe       ? "DHE"
           : kx == NID_kx_rsa       ? "RSA"
           : kx == NID_kx_any       ? "any"
           : kx == NID_kx_psk       ? "PSK"
           : kx == NID_kx_ecdhe_psk ? "ECDHE-PSK"
                                    : "other";
    s.forward_secret = s.kx == "ECDHE" || s.kx == "DHE" || s.kx == "any";
    s.aead = SSL_CIPHER_is_aead(c) == 1;
    int cipher = SSL_CIPHER_get_cipher_nid(c);
    s.null_cipher = cipher == NID_undef;
    s.rc4 = cipher == NID_rc4 || cipher == NID_rc4_40;
    s.block64 = cipher == NID_des_ede3_cbc || cipher == NID_des_cbc || cipher == NID_idea_cbc ||
                cipher == NID_rc2_cbc || cipher == NID_seed_cbc;
    s.block64 = s.block64 && cipher != NID_seed_cbc;  // SEED has a 128-bit block
    s.cbc = !s.aead && !s.rc4 && !s.null_cipher;
    s.exportable = s.name.rfind("EXP", 0) == 0 || (s.bits > 0 && s.bits < 56);
    EVP_PKEY* pk = nullptr;
    if (SSL_get_peer_tmp_key(ssl, &pk) == 1 && pk) {
        s.kx_group = group_of(pk, &s.kx_bits);
        EVP_PKEY_free(pk);
    }
    return s;
}

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

// Certificates of a PEM file, split into self-signed roots and the rest (intermediates).
void load_ca_file(const std::string& path, std::vector<X509Ptr>& roots,
                  std::vector<X509Ptr>& intermediates) {
    if (path.empty()) return;
    BIO* b = BIO_new_file(path.c_str(), "r");
    if (!b) return;
    while (X509* x = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
        if (X509_check_issued(x, x) == X509_V_OK)
            roots.emplace_back(x);
        else
            intermediates.emplace_back(x);
    }
    ERR_clear_error();
    BIO_free(b);
}

// Verifies `leaf` against system roots + `roots`, with `untrusted` as the chain offered.
int verify(X509* leaf, STACK_OF(X509) * untrusted, const std::vector<X509Ptr>& roots) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_set_default_paths(store);
    for (const auto& r : roots) X509_STORE_add_cert(store, r.get());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, untrusted);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER);
    int ok = X509_verify_cert(ctx);
    int err = ok == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
    if (ok == 1 && err == X509_V_OK) err = X509_V_OK;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    ERR_clear_error();
    return err;
}

std::string name_of(const X509_NAME* n) {
    char buf[512];
    X509_NAME_oneline(n, buf, sizeof buf);
    return buf;
}

CertFacts cert_facts(SSL* ssl, const ProbeTarget& t, std::vector<std::string>& chain_out) {
    CertFacts f;
    STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);  // client side: leaf first
    if (!chain || sk_X509_num(chain) == 0) return f;
    X509* leaf = sk_X509_value(chain, 0);
    f.present = true;
    f.chain_length = sk_X509_num(chain);
    for (int i = 0; i < sk_X509_num(chain); ++i)
        chain_out.push_back(name_of(X509_get_subject_name(sk_X509_value(chain, i))));
    f.subject = name_of(X509_get_subject_name(leaf));
    f.issuer = name_of(X509_get_issuer_name(leaf));
    if (auto* gens = static_cast<GENERAL_NAMES*>(
            X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr))) {
        for (int i = 0; i < sk_GENERAL_NAME_num(gens); ++i) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(gens, i);
            if (g->type == GEN_DNS) {
                const auto* d = ASN1_STRING_get0_data(g->d.dNSName);
                std::string n(reinterpret_cast<const char*>(d),
                              static_cast<std::size_t>(ASN1_STRING_length(g->d.dNSName)));
                // Shown on a terminal: a hostile certificate's control bytes become '?'.
                for (char& ch : n)
                    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ch = '?';
                f.names.push_back(std::move(n));
            } else if (g->type == GEN_IPADD) {
                char buf[INET6_ADDRSTRLEN] = {};
                int len = ASN1_STRING_length(g->d.iPAddress);
                const unsigned char* p = ASN1_STRING_get0_data(g->d.iPAddress);
                inet_ntop(len == 16 ? AF_INET6 : AF_INET, p, buf, sizeof buf);
                f.names.emplace_back(buf);
            }
        }
        GENERAL_NAMES_free(gens);
    }
    EVP_PKEY* pk = X509_get0_pubkey(leaf);
    if (pk) {
        f.key_bits = EVP_PKEY_get_bits(pk);
        switch (EVP_PKEY_get_base_id(pk)) {
            case EVP_PKEY_RSA:
                f.key_type = "RSA";
                break;
            case EVP_PKEY_RSA_PSS:
                f.key_type = "RSA-PSS";
                break;
            case EVP_PKEY_EC:
                f.key_type = "EC";
                break;
            case EVP_PKEY_ED25519:
                f.key_type = "Ed25519";
                break;
            case EVP_PKEY_ED448:
                f.key_type = "Ed448";
                break;
            case EVP_PKEY_DSA:
                f.key_type = "DSA";
                break;
            default:
                f.key_type = "unknown";
        }
    }
    f.signature = OBJ_nid2ln(X509_get_signature_nid(leaf));
    int days = 0, secs = 0;
    if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(leaf))) f.days_left = days;
    f.expired = X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0;
    f.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0;
    std::string h = t.host;
    if (h.size() > 2 && h.front() == '[') h = h.substr(1, h.size() - 2);
    f.name_match = is_ip_literal(h) ? X509_check_ip_asc(leaf, h.c_str(), 0) == 1
                                    : X509_check_host(leaf, h.c_str(), h.size(), 0, nullptr) == 1;

    std::vector<X509Ptr> roots, intermediates;
    load_ca_file(t.ca_file, roots, intermediates);
    int err = verify(leaf, chain, roots);
    if (err == X509_V_OK) {
        f.trusted = true;
    } else if (!intermediates.empty()) {
        // Trusted only with intermediates the server did not send: an incomplete chain.
        STACK_OF(X509)* more = sk_X509_dup(chain);
        for (const auto& i : intermediates) sk_X509_push(more, i.get());
        if (verify(leaf, more, roots) == X509_V_OK) {
            f.trusted = true;
            f.chain_complete = false;
        }
        sk_X509_free(more);
    }
    if (!f.trusted) f.trust_error = X509_verify_cert_error_string(err);
    f.self_signed = X509_check_issued(leaf, leaf) == X509_V_OK;
    ERR_clear_error();
    return f;
}

struct Version {
    int v;
    const char* name;
};
constexpr Version kVersions[] = {{TLS1_VERSION, "TLSv1"},
                                 {TLS1_1_VERSION, "TLSv1.1"},
                                 {TLS1_2_VERSION, "TLSv1.2"},
                                 {TLS1_3_VERSION, "TLSv1.3"}};
constexpr const char* kTls13Suites[] = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                                        "TLS_AES_128_GCM_SHA256", "TLS_AES_128_CCM_SHA256",
                                        "TLS_AES_128_CCM_8_SHA256"};

std::string join(const std::vector<std::string>& v, const char* sep) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
    return out;
}

// The context for `version` offering only `suites` (in that order) when non-empty, else
// every suite the library has minus `exclude`.
SslCtxPtr suite_context(int version, const std::vector<std::string>& exclude,
                        const std::vector<std::string>& only) {
    SslCtxPtr ctx = internal::probe_context(version, version);
    if (!ctx) return ctx;
    if (version == TLS1_3_VERSION) {
        std::vector<std::string> offer = only;
        if (offer.empty())
            for (const char* s : kTls13Suites)
                if (std::find(exclude.begin(), exclude.end(), s) == exclude.end())
                    offer.push_back(s);
        if (offer.empty() || SSL_CTX_set_ciphersuites(ctx.get(), join(offer, ":").c_str()) != 1)
            return nullptr;
        return ctx;
    }
    std::string list;
    if (!only.empty()) {
        list = join(only, ":");
    } else {
        list = "ALL:COMPLEMENTOFALL";
        for (const auto& e : exclude) list += ":!" + e;
    }
    list += ":@SECLEVEL=0";
    ERR_clear_error();
    if (SSL_CTX_set_cipher_list(ctx.get(), list.c_str()) != 1) {
        ERR_clear_error();
        return nullptr;  // nothing left to offer
    }
    return ctx;
}

// Enumerates the suites of one version: offer everything, note the server's pick, remove it
// and offer the rest again until the server refuses (testssl.sh's method).
ProtocolResult probe_version(const ProbeTarget& t, const Version& ver, TlsFacts& facts) {
    ProtocolResult pr;
    pr.protocol = ver.name;
    std::vector<std::string> found;
    for (int i = 0; i < 80; ++i) {
        SslCtxPtr ctx = suite_context(ver.v, found, {});
        if (!ctx) break;
        auto c = connect(t, ctx.get(), nullptr);
        if (!c) {
            if (i == 0) pr.refusal = c.error().detail;
            break;
        }
        SuiteInfo s = describe(c->ssl.get());
        if (s.name.empty() || std::find(found.begin(), found.end(), s.name) != found.end()) break;
        if (ver.v < TLS1_3_VERSION && !facts.secure_renegotiation)
            facts.secure_renegotiation = SSL_get_secure_renegotiation_support(c->ssl.get()) == 1;
        if (SSL_get_current_compression(c->ssl.get())) facts.tls_compression = true;
        found.push_back(s.name);
        pr.suites.push_back(std::move(s));
    }
    pr.offered = !pr.suites.empty();
    if (found.size() >= 2) {
        // Offer two of the found suites in the opposite order: a server that enforces its
        // order still picks its favourite, one that follows the client picks our first. Leave
        // ChaCha20 out when possible: OpenSSL servers with SSL_OP_PRIORITIZE_CHACHA pick it
        // whenever the client lists it first, whatever their own order.
        std::vector<std::string> pair;
        for (const auto& f : found)
            if (pair.size() < 2 && f.find("CHACHA") == std::string::npos) pair.push_back(f);
        if (pair.size() < 2) pair = {found[0], found[1]};
        SslCtxPtr ctx = suite_context(ver.v, {}, {pair[1], pair[0]});
        if (ctx) {
            if (auto c = connect(t, ctx.get(), nullptr)) {
                std::string got = describe(c->ssl.get()).name;
                if (got == pair[0])
                    pr.server_order = true;
                else if (got == pair[1])
                    pr.server_order = false;
            }
        }
    }
    return pr;
}

bool headers_done(const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }

void probe_resumption(const ProbeTarget& t, int version, TlsProbeResult& out) {
    SslCtxPtr ctx = internal::probe_context(TLS1_VERSION, version);
    if (!ctx) return;
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
    SSL_SESSION* sess = nullptr;
    {
        auto c = connect(t, ctx.get(), nullptr);
        if (!c) return;
        // TLS 1.3 tickets come after the handshake (RFC 8446 §4.6.1): read a response so they
        // arrive. A short deadline: the server may keep the connection open.
        std::string req = "HEAD / HTTP/1.1\r\nHost: " + t.host + "\r\nConnection: close\r\n\r\n";
        auto d = internal::Clock::now() +
                 std::min<std::chrono::milliseconds>(t.timeout, std::chrono::milliseconds(3000));
        (void)internal::tls_exchange(c->ssl.get(), c->sock, req, 65536, headers_done, d);
        // Mark the connection as cleanly closed: SSL_free of an unfinished connection marks
        // its session not resumable (ssl_clear_bad_session).
        SSL_set_shutdown(c->ssl.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        sess = SSL_get1_session(c->ssl.get());
    }
    if (!sess) return;
    if (SSL_SESSION_is_resumable(sess) != 1) {
        out.resumption = false;
        SSL_SESSION_free(sess);
        return;
    }
    bool ticket = SSL_SESSION_has_ticket(sess) == 1;
    auto c = connect(t, ctx.get(), [&](SSL* s) { SSL_set_session(s, sess); });
    SSL_SESSION_free(sess);
    if (!c) return;
    out.resumption = SSL_session_reused(c->ssl.get()) == 1;
    out.resumption_kind = ticket ? "session ticket" : "session id";
}

}  // namespace

Result<TlsProbeResult> probe_tls(const ProbeTarget& t) {
    TlsProbeResult out;
    // First, one ordinary handshake: reachability, the certificate, ALPN. If this times out
    // or the peer is not TLS, stop here rather than repeat the wait for every probe.
    SslCtxPtr ctx = internal::probe_context(TLS1_VERSION, TLS1_3_VERSION);
    static const unsigned char kAlpn[] = "\x02h2\x08http/1.1";
    auto first =
        connect(t, ctx.get(), [](SSL* s) { SSL_set_alpn_protos(s, kAlpn, sizeof kAlpn - 1); });
    if (!first && first.error().code != Errc::kDenied) return first.error();
    if (first) {
        const unsigned char* p = nullptr;
        unsigned len = 0;
        SSL_get0_alpn_selected(first->ssl.get(), &p, &len);
        out.alpn.assign(reinterpret_cast<const char*>(p), len);
        out.facts.cert = cert_facts(first->ssl.get(), t, out.chain);
    }

    for (const auto& v : kVersions) {
        ProtocolResult pr = probe_version(t, v, out.facts);
        if (pr.offered) {
            out.facts.protocols.push_back(pr.protocol);
            for (const auto& s : pr.suites) out.facts.suites.push_back(s);
        }
        out.protocols.push_back(std::move(pr));
        if (!out.protocols.back().offered &&
            out.protocols.back().refusal.find("timed out") != std::string::npos && !first) {
            return make_error(Errc::kUnavailable, out.protocols.back().refusal);
        }
    }
    if (out.facts.protocols.empty()) {
        std::string why = first ? "" : first.error().detail;
        for (const auto& p : out.protocols)
            why += (why.empty() ? "" : "; ") + p.protocol + ": " + p.refusal;
        return make_error(Errc::kDenied, "no TLS version accepted: " + why);
    }
    int best = TLS1_VERSION;
    for (const auto& v : kVersions)
        if (out.facts.offers(v.name)) best = v.v;
    if (!first) {
        // The certificate from a handshake at the best version.
        SslCtxPtr c2 = internal::probe_context(best, best);
        if (auto c = connect(t, c2.get(), nullptr))
            out.facts.cert = cert_facts(c->ssl.get(), t, out.chain);
    }

    // Key-exchange groups, one at a time at the best version (TLS 1.2: elliptic curves only,
    // since OpenSSL servers do not negotiate RFC 7919 groups there).
    const char* groups[] = {"X25519", "P-256",     "P-384",     "P-521",
                            "X448",   "ffdhe2048", "ffdhe3072", "ffdhe4096"};
    for (const char* g : groups) {
        bool ff = std::string(g).rfind("ffdhe", 0) == 0;
        if (ff && best < TLS1_3_VERSION) continue;
        SslCtxPtr gc = internal::probe_context(best, best);
        if (!gc || SSL_CTX_set1_groups_list(gc.get(), g) != 1) {
            ERR_clear_error();
            continue;
        }
        if (best < TLS1_3_VERSION) SSL_CTX_set_cipher_list(gc.get(), "ECDHE:@SECLEVEL=0");
        auto c = connect(t, gc.get(), nullptr);
        if (c && !describe(c->ssl.get()).kx_group.empty()) out.groups.emplace_back(g);
    }
    probe_resumption(t, best, out);
    if (internal::Clock::now() >= t.budget)
        out.notes.emplace_back(
            "the time budget ran out: some probes were skipped (raise --timeout)");
    out.notes.emplace_back(
        "SSLv2 and SSLv3 not probed: Debian's OpenSSL 3 has no client for them (use testssl.sh)");
    if (sk_SSL_COMP_num(SSL_COMP_get_compression_methods()) == 0)
        out.notes.emplace_back(
            "TLS compression (CRIME) not probed: this OpenSSL has no compression methods");
    out.notes.emplace_back("Heartbleed, ROBOT and other implementation bugs are not tested");
    return out;
}

}  // namespace moat::audit
