#include "audit/internal/conn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "tls/init.h"

namespace moat::audit::internal {
namespace {

int ms_left(Deadline d) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(d - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60000));
}

// Waits until `fd` is readable (or writable). false on timeout.
bool wait_fd(int fd, bool write, Deadline d) {
    for (;;) {
        int ms = ms_left(d);
        if (ms == 0) return false;
        pollfd p{fd, static_cast<short>(write ? POLLOUT : POLLIN), 0};
        int r = ::poll(&p, 1, ms);
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return true;  // let the next call report the error
    }
}

}  // namespace

Socket& Socket::operator=(Socket&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.fd_;
        o.fd_ = -1;
    }
    return *this;
}

Socket::~Socket() {
    if (fd_ >= 0) ::close(fd_);
}

Result<Socket> connect_tcp(const Endpoint& to, Deadline deadline) {
    Socket s(::socket(to.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (s.fd() < 0) return make_error(Errc::kIo, std::string("socket: ") + std::strerror(errno));
    int rc = ::connect(s.fd(), reinterpret_cast<const sockaddr*>(&to.addr), to.len);
    if (rc != 0 && errno != EINPROGRESS)
        return make_error(Errc::kUnavailable, "connect " + to.text + ": " + std::strerror(errno));
    if (rc != 0) {
        if (!wait_fd(s.fd(), true, deadline))
            return make_error(Errc::kUnavailable, "connect " + to.text + ": timed out");
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0)
            return make_error(Errc::kUnavailable, "connect " + to.text + ": " + std::strerror(err));
    }
    return s;
}

Result<std::string> tcp_exchange(const Socket& s, const std::string& request, std::size_t max,
                                 Deadline deadline) {
    std::size_t off = 0;
    while (off < request.size()) {
        ssize_t n = ::send(s.fd(), request.data() + off, request.size() - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return make_error(Errc::kUnavailable, std::string("send: ") + std::strerror(errno));
        if (!wait_fd(s.fd(), true, deadline))
            return make_error(Errc::kUnavailable, "send: timed out");
    }
    std::string out;
    char buf[4096];
    while (out.size() < max) {
        ssize_t n = ::recv(s.fd(), buf, sizeof buf, 0);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            // Headers are all a probe wants; stop at their end rather than wait for a body.
            if (out.find("\r\n\r\n") != std::string::npos) break;
            continue;
        }
        if (n == 0) break;
        if (errno != EAGAIN && errno != EINTR) {
            if (out.empty())
                return make_error(Errc::kUnavailable, std::string("recv: ") + std::strerror(errno));
            break;
        }
        if (!wait_fd(s.fd(), false, deadline)) {
            if (out.empty()) return make_error(Errc::kUnavailable, "no answer before the timeout");
            break;
        }
    }
    return out;
}

SslCtxPtr probe_context(int min_version, int max_version) {
    tls::init_openssl();
    SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return ctx;
    SSL_CTX_set_security_level(ctx.get(), 0);
    SSL_CTX_set_min_proto_version(ctx.get(), min_version);
    SSL_CTX_set_max_proto_version(ctx.get(), max_version);
    // RFC 5746 §4.1: a client may connect to a server without secure renegotiation; OpenSSL 3
    // refuses by default. The probe wants to see such servers, not fail on them.
    SSL_CTX_set_options(ctx.get(), SSL_OP_LEGACY_SERVER_CONNECT);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_cipher_list(ctx.get(), "ALL:COMPLEMENTOFALL:@SECLEVEL=0");
    return ctx;
}

bool is_ip_literal(const std::string& host) {
    std::string h = host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    unsigned char buf[16];
    return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string ssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        const char* reason = ERR_reason_error_string(e);
        out += reason ? reason : buf;
    }
    return out;
}

Result<void> handshake(SSL* ssl, const Socket& s, Deadline deadline) {
    ERR_clear_error();
    SSL_set_fd(ssl, s.fd());
    for (;;) {
        int rc = SSL_connect(ssl);
        if (rc == 1) return {};
        int err = SSL_get_error(ssl, rc);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(s.fd(), err == SSL_ERROR_WANT_WRITE, deadline))
                return make_error(Errc::kUnavailable, "TLS handshake timed out");
            continue;
        }
        std::string why = ssl_errors();
        if (err == SSL_ERROR_SYSCALL || (err == SSL_ERROR_SSL && why.empty()))
            return make_error(Errc::kUnavailable,
                              "connection closed during the TLS handshake" +
                                  (errno ? std::string(" (") + std::strerror(errno) + ")" : ""));
        if (why.find("wrong version number") != std::string::npos ||
            why.find("packet length too long") != std::string::npos ||
            why.find("record layer failure") != std::string::npos)
            return make_error(Errc::kInvalidArgument, "the peer does not speak TLS (" + why + ")");
        return make_error(Errc::kDenied, why.empty() ? "TLS handshake failed" : why);
    }
}

Result<std::string> tls_exchange(SSL* ssl, const Socket& s, const std::string& data,
                                 std::size_t max, bool (*stop)(const std::string&),
                                 Deadline deadline) {
    std::size_t off = 0;
    while (off < data.size()) {
        int n = SSL_write(ssl, data.data() + off, static_cast<int>(data.size() - off));
        if (n > 0) {
            off += static_cast<std::size_t>(n);
            continue;
        }
        int err = SSL_get_error(ssl, n);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
            return make_error(Errc::kUnavailable, "TLS write failed: " + ssl_errors());
        if (!wait_fd(s.fd(), err == SSL_ERROR_WANT_WRITE, deadline))
            return make_error(Errc::kUnavailable, "TLS write timed out");
    }
    std::string out;
    char buf[8192];
    while (out.size() < max) {
        int n = SSL_read(ssl, buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
            if (stop && stop(out)) break;
            continue;
        }
        int err = SSL_get_error(ssl, n);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
            if (!wait_fd(s.fd(), err == SSL_ERROR_WANT_WRITE, deadline)) break;
            continue;
        }
        ERR_clear_error();
        break;  // close_notify, EOF or an error: return what arrived
    }
    return out;
}

}  // namespace moat::audit::internal
