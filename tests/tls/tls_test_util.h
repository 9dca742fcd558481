#pragma once
// Helpers for tls tests: temp dirs, throwaway certificates and in-process handshakes between a
// client SSL and a server SSL over an OpenSSL BIO pair (no sockets, no network).

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/temp_dir.h"
#include "tls/server_context.h"

namespace moat::tls::testing {

// A fresh directory under the system temp dir, removed with everything in it.
using TempDir = test_support::TempDir;

inline std::string pem_of(X509* x) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

inline std::string pem_of(EVP_PKEY* k) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* p = nullptr;
    long n = BIO_get_mem_data(b, &p);
    std::string s(p, static_cast<std::size_t>(n));
    BIO_free(b);
    return s;
}

struct Pem {
    std::string cert;
    std::string key;
};

// A self-signed certificate with `san` (e.g. "DNS:a.test") for `key`, signed with `md`.
inline Pem self_signed(EVP_PKEY* key, const std::string& san, const EVP_MD* md = EVP_sha256()) {
    X509* x = X509_new();
    X509_set_version(x, X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, key);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, key, md);
    Pem out{pem_of(x), pem_of(key)};
    X509_free(x);
    return out;
}

struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
};
struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct SessionFree {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using SslPtr = std::unique_ptr<SSL, SslFree>;
using CtxPtr = std::unique_ptr<SSL_CTX, CtxFree>;
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

struct ClientOptions {
    std::string sni;  // empty: send no server_name
    int min_version = TLS1_2_VERSION;
    int max_version = 0;             // 0: the highest the library supports
    std::string ciphers;             // TLS 1.2 and below; empty: library default
    std::string groups;              // empty: library default
    std::string sigalgs;             // e.g. "RSA-PSS+SHA256"; empty: library default
    std::vector<std::string> alpn;   // empty: no ALPN extension
    std::string ca_file;             // set: verify the server against this root
    int security_level = -1;         // -1: library default
    SSL_SESSION* session = nullptr;  // offer this session for resumption
    std::string local_ip;            // server side: set_local_address() value
};

// One client/server pair joined by a BIO pair. The server SSL comes from `server_ctx`.
class Conn {
public:
    Conn(SSL_CTX* server_ctx, const ClientOptions& o) {
        ERR_clear_error();
        cctx_.reset(SSL_CTX_new(TLS_client_method()));
        if (o.security_level >= 0) SSL_CTX_set_security_level(cctx_.get(), o.security_level);
        SSL_CTX_set_min_proto_version(cctx_.get(), o.min_version);
        SSL_CTX_set_max_proto_version(cctx_.get(), o.max_version);
        if (!o.ciphers.empty()) {
            EXPECT_EQ(SSL_CTX_set_cipher_list(cctx_.get(), o.ciphers.c_str()), 1);
        }
        if (!o.groups.empty()) {
            EXPECT_EQ(SSL_CTX_set1_groups_list(cctx_.get(), o.groups.c_str()), 1);
        }
        if (!o.sigalgs.empty()) {
            EXPECT_EQ(SSL_CTX_set1_sigalgs_list(cctx_.get(), o.sigalgs.c_str()), 1);
        }
        if (!o.ca_file.empty()) {
            EXPECT_EQ(SSL_CTX_load_verify_locations(cctx_.get(), o.ca_file.c_str(), nullptr), 1);
            SSL_CTX_set_verify(cctx_.get(), SSL_VERIFY_PEER, nullptr);
        }
        client_.reset(SSL_new(cctx_.get()));
        server_.reset(SSL_new(server_ctx));
        if (!o.sni.empty()) {
            SSL_set_tlsext_host_name(client_.get(), o.sni.c_str());
            if (!o.ca_file.empty()) SSL_set1_host(client_.get(), o.sni.c_str());
        }
        if (!o.alpn.empty()) {
            std::string wire;
            for (const auto& p : o.alpn) wire += static_cast<char>(p.size()) + p;
            SSL_set_alpn_protos(client_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                                static_cast<unsigned>(wire.size()));
        }
        if (o.session != nullptr) SSL_set_session(client_.get(), o.session);
        if (!o.local_ip.empty()) set_local_address(server_.get(), o.local_ip);
        BIO *cb = nullptr, *sb = nullptr;
        BIO_new_bio_pair(&cb, 0, &sb, 0);
        SSL_set_bio(client_.get(), cb, cb);
        SSL_set_bio(server_.get(), sb, sb);
        SSL_set_connect_state(client_.get());
        SSL_set_accept_state(server_.get());
        SSL_set_app_data(client_.get(), &client_alert_);
        SSL_set_info_callback(client_.get(), [](const SSL* s, int where, int ret) {
            if ((where & SSL_CB_READ_ALERT) != 0)
                *static_cast<int*>(SSL_get_app_data(s)) = ret & 0xff;
        });
    }

    // A clean close: OpenSSL marks the session of an SSL freed without one not resumable.
    ~Conn() {
        SSL_set_shutdown(client_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_set_shutdown(server_.get(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    // One round: the client, then the server. False once either side failed for good.
    bool step(bool* done) {
        int rc = SSL_do_handshake(client_.get());
        int ec = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(client_.get(), rc);
        int rs = SSL_do_handshake(server_.get());
        int es = rs == 1 ? SSL_ERROR_NONE : SSL_get_error(server_.get(), rs);
        *done = rc == 1 && rs == 1;
        auto pending = [](int e) {
            return e == SSL_ERROR_NONE || e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
        };
        return pending(ec) && pending(es);
    }

    bool handshake() {
        for (int i = 0; i < 20; ++i) {
            bool done = false;
            if (!step(&done)) {
                // Let the client read the alert the server may have sent.
                SSL_do_handshake(client_.get());
                ERR_clear_error();
                return false;
            }
            if (done) return true;
        }
        return false;
    }

    // Moves one byte server -> client so the client processes the TLS 1.3 NewSessionTicket
    // messages, then returns the client's session (null if it has none to resume).
    SessionPtr session() {
        char c = 'x';
        EXPECT_EQ(SSL_write(server_.get(), &c, 1), 1);
        EXPECT_EQ(SSL_read(client_.get(), &c, 1), 1);
        return SessionPtr(SSL_get1_session(client_.get()));
    }

    SSL* client() { return client_.get(); }
    SSL* server() { return server_.get(); }
    X509* peer_cert() { return SSL_get0_peer_certificate(client_.get()); }
    bool resumed() { return SSL_session_reused(client_.get()) == 1; }
    int client_alert() const { return client_alert_; }  // alert the client received, -1 none

private:
    CtxPtr cctx_;
    SslPtr client_;
    SslPtr server_;
    int client_alert_ = -1;
};

}  // namespace moat::tls::testing
