#include "edge/service/internal/socket_io.h"

#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

namespace moat::edge::service_internal {
namespace {

Error io_error(const char* what, int err) {
    return make_error(Errc::kIo, std::string(what) + ": " + std::strerror(err));
}

std::string openssl_reason() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unexpected eof";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

int poll_ms(Deadline deadline) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return 0;
    // Round up so a deadline 0.3 ms away is not a busy loop of zero-timeout polls.
    return static_cast<int>(std::min<long long>(left.count() + 1, 1 << 30));
}

}  // namespace

SocketIo::SocketIo(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}

std::string SocketIo::tls_version() const { return ssl_ ? SSL_get_version(ssl_) : ""; }

std::string SocketIo::tls_cipher() const {
    const SSL_CIPHER* c = ssl_ ? SSL_get_current_cipher(ssl_) : nullptr;
    return c ? SSL_CIPHER_get_name(c) : "";
}

SocketIo::~SocketIo() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
}

Result<void> SocketIo::wait(Wait w, Deadline deadline) {
    for (;;) {
        pollfd p{fd_, static_cast<short>(w == Wait::kRead ? POLLIN : POLLOUT), 0};
        const int ms = poll_ms(deadline);
        if (ms == 0) return make_error(Errc::kUnavailable, "timed out");
        int r = ::poll(&p, 1, ms);
        if (r > 0) return {};  // ready, or an error/hangup the next call reports
        if (r == 0) continue;  // re-check the deadline
        if (errno == EINTR) continue;
        return io_error("poll", errno);
    }
}

Result<SocketIo::Wait> SocketIo::ssl_want(int ret) {
    int err = SSL_get_error(ssl_, ret);
    switch (err) {
        case SSL_ERROR_WANT_READ:
            return Wait::kRead;
        case SSL_ERROR_WANT_WRITE:
            return Wait::kWrite;
        case SSL_ERROR_SYSCALL: {
            int e = errno;
            ERR_clear_error();
            if (e == 0 || e == EAGAIN) return make_error(Errc::kIo, "unexpected eof");
            return io_error("tls", e);
        }
        default:
            return make_error(Errc::kDenied, openssl_reason());
    }
}

Result<void> SocketIo::handshake(Deadline deadline) {
    if (!ssl_) return {};
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_);
        if (r == 1) return {};
        auto w = ssl_want(r);
        if (!w) return w.error();
        MOAT_TRY(wait(*w, deadline));
    }
}

Result<std::size_t> SocketIo::read_some(char* buf, std::size_t n, Deadline deadline) {
    if (n == 0) return std::size_t{0};
    for (;;) {
        if (ssl_) {
            ERR_clear_error();
            std::size_t got = 0;
            int r = SSL_read_ex(ssl_, buf, n, &got);
            if (r == 1) return got;
            if (SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN) return std::size_t{0};
            auto w = ssl_want(r);
            if (!w) {
                // A peer that closes without close_notify ends the stream just the same;
                // HTTP framing (Content-Length, chunked) detects truncation itself.
                if (w.error().detail == "unexpected eof") return std::size_t{0};
                return w.error();
            }
            MOAT_TRY(wait(*w, deadline));
            continue;
        }
        ssize_t r = ::recv(fd_, buf, n, 0);
        if (r >= 0) return static_cast<std::size_t>(r);
        if (errno == EINTR) continue;
        if (errno == ECONNRESET) return std::size_t{0};
        if (errno != EAGAIN && errno != EWOULDBLOCK) return io_error("recv", errno);
        MOAT_TRY(wait(Wait::kRead, deadline));
    }
}

Result<void> SocketIo::write_all(std::string_view bytes, std::chrono::milliseconds stall) {
    Deadline deadline = SteadyClock::now() + stall;
    while (!bytes.empty()) {
        if (ssl_) {
            ERR_clear_error();
            std::size_t put = 0;
            int r = SSL_write_ex(ssl_, bytes.data(), bytes.size(), &put);
            if (r == 1) {
                bytes.remove_prefix(put);
                deadline = SteadyClock::now() + stall;
                continue;
            }
            auto w = ssl_want(r);
            if (!w) return w.error();
            MOAT_TRY(wait(*w, deadline));
            continue;
        }
        ssize_t r = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (r > 0) {
            bytes.remove_prefix(static_cast<std::size_t>(r));
            deadline = SteadyClock::now() + stall;
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return io_error("send", errno);
        MOAT_TRY(wait(Wait::kWrite, deadline));
    }
    return {};
}

bool SocketIo::pending() const { return ssl_ && SSL_pending(ssl_) > 0; }

void SocketIo::close_notify() {
    if (ssl_ && !shut_.load()) {
        ERR_clear_error();
        SSL_shutdown(ssl_);  // non-blocking socket: queued if it fits, else dropped
        ERR_clear_error();
    }
}

void SocketIo::shutdown() {
    shut_.store(true);
    ::shutdown(fd_, SHUT_RDWR);
}

}  // namespace moat::edge::service_internal
