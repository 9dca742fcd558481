// Server-side CPU per TLS handshake, in one process over memory BIO pairs (no sockets, no
// scheduler noise): full handshakes and TLS 1.3 resumptions with moat's ServerContext (the
// policy, the ClientHello callback and the ticket callbacks every connection runs), beside a
// bare SSL_CTX holding the same certificate with OpenSSL's defaults (what a one-site nginx
// runs), which is the floor. docs/benchmarks.md quotes it.
//
//   moat_tls_bench [--seconds S] [--data DIR]
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "tls/cert_table.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"

namespace {

int g_reused = 0;

double thread_cpu() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// One connection: drives both ends to the end of the handshake, sends a 16-byte request and a
// 16-byte answer (so TLS 1.3 tickets reach the client), and adds the server's CPU time.
bool one(SSL_CTX* server_ctx, SSL_CTX* client_ctx, SSL_SESSION** session, double* server_cpu) {
    SSL* c = SSL_new(client_ctx);
    SSL* s = SSL_new(server_ctx);
    BIO *cb = nullptr, *sb = nullptr;
    BIO_new_bio_pair(&cb, 64 * 1024, &sb, 64 * 1024);
    SSL_set_bio(c, cb, cb);
    SSL_set_bio(s, sb, sb);
    SSL_set_tlsext_host_name(c, "bench.test");
    if (*session) SSL_set_session(c, *session);
    SSL_set_connect_state(c);
    SSL_set_accept_state(s);
    bool ok = false;
    char buf[64];
    for (int round = 0; round < 20; ++round) {
        int rc = SSL_do_handshake(c);
        double t0 = thread_cpu();
        int rs = SSL_do_handshake(s);
        *server_cpu += thread_cpu() - t0;
        if (rc == 1 && rs == 1) {
            ok = true;
            break;
        }
    }
    if (ok) {
        SSL_write(c, "GET / HTTP/1.1\r\n", 16);
        double t0 = thread_cpu();
        int n = SSL_read(s, buf, sizeof buf);
        ok = n == 16 && SSL_write(s, "HTTP/1.1 200 OK\r", 16) == 16;
        *server_cpu += thread_cpu() - t0;
        ok = ok && SSL_read(c, buf, sizeof buf) == 16;
    }
    // Like browsers and wrk: the newest ticket of this connection resumes the next one (TLS 1.3
    // tickets are meant for one use, RFC 8446 §C.4).
    if (ok) {
        if (*session) SSL_SESSION_free(*session);
        *session = SSL_get1_session(c);
    }
    if (ok && SSL_session_reused(s) == 1) ++g_reused;
    // close_notify both ways: OpenSSL will not resume a session whose connection ended without.
    SSL_shutdown(c);
    double t1 = thread_cpu();
    SSL_shutdown(s);
    *server_cpu += thread_cpu() - t1;
    SSL_free(c);
    SSL_free(s);
    ERR_clear_error();
    return ok;
}

struct Figure {
    double per_second = 0;  // server CPU: handshakes per CPU second
    double micros = 0;      // server CPU microseconds per handshake
    int reused = 0, count = 0;
};

Figure run(SSL_CTX* server_ctx, SSL_CTX* client_ctx, bool resume, double seconds) {
    Figure f;
    SSL_SESSION* session = nullptr;
    if (resume) {
        double ignore = 0;
        if (!one(server_ctx, client_ctx, &session, &ignore)) return f;
    }
    double cpu = 0;
    g_reused = 0;
    auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
        SSL_SESSION* fresh = nullptr;
        if (!one(server_ctx, client_ctx, resume ? &session : &fresh, &cpu)) {
            std::fprintf(stderr, "handshake failed\n");
            std::exit(1);
        }
        if (fresh) SSL_SESSION_free(fresh);
        ++f.count;
    }
    if (session) SSL_SESSION_free(session);
    f.reused = g_reused;
    f.micros = cpu / f.count * 1e6;
    f.per_second = f.count / cpu;
    return f;
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 3;
    std::string dir = "/tmp/moat-tls-bench";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
        if (std::strcmp(argv[i], "--data") == 0) dir = argv[i + 1];
    }
    std::filesystem::create_directories(dir);
    auto ca = moat::tls::InternalCa::open_or_create(dir + "/ca");
    if (!ca) return std::fprintf(stderr, "ca: %s\n", ca.error().detail.c_str()), 1;
    auto leaf = ca->issue({"bench.test"});
    if (!leaf) return std::fprintf(stderr, "leaf: %s\n", leaf.error().detail.c_str()), 1;

    moat::tls::TlsSettings settings;
    auto ctx = moat::tls::ServerContext::create(settings);
    if (!ctx) return std::fprintf(stderr, "ctx: %s\n", ctx.error().detail.c_str()), 1;
    auto table = std::make_shared<moat::tls::CertTable>();
    (void)table->add("bench.test", *leaf);
    (*ctx)->set_certs(table);

    SSL_CTX* bare = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(bare, (*leaf)->leaf());
    SSL_CTX_use_PrivateKey(bare, (*leaf)->key());

    SSL_CTX* client = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_verify(client, SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(client, SSL_SESS_CACHE_CLIENT);

    std::printf("%-28s %12s %14s %8s\n", "server", "hs/cpu-s", "us/handshake", "reused");
    struct {
        const char* name;
        SSL_CTX* ctx;
        bool resume;
    } cases[] = {{"moat full", (*ctx)->native(), false},
                 {"bare OpenSSL full", bare, false},
                 {"moat resumed", (*ctx)->native(), true},
                 {"bare OpenSSL resumed", bare, true}};
    for (auto& c : cases) {
        auto f = run(c.ctx, client, c.resume, seconds);
        std::printf("%-28s %12.0f %14.1f %7.0f%%\n", c.name, f.per_second, f.micros,
                    100.0 * f.reused / (f.count ? f.count : 1));
    }
    SSL_CTX_free(bare);
    SSL_CTX_free(client);
}
