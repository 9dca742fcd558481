#include "edge/stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/assert.h"
#include "edge/internal/batch_bio.h"

namespace moat::edge {
namespace {

constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

Error io_error(const char* what, int err) {
    return make_error(Errc::kIo, std::string(what) + ": " + std::strerror(err));
}

// Waits until the socket is readable or writable; kUnavailable when a timeout cancelled it.
asio::awaitable<Result<void>> wait_ready(tcp::socket& s, tcp::socket::wait_type w) {
    auto [ec] = co_await s.async_wait(w, use_nothrow);
    if (ec == asio::error::operation_aborted) co_return make_error(Errc::kUnavailable, "timed out");
    if (ec) co_return make_error(Errc::kIo, ec.message());
    co_return Result<void>{};
}

std::string openssl_reason() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) return "unexpected eof";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    return buf;
}

}  // namespace

// ---- PlainStream ----

asio::awaitable<Result<std::size_t>> PlainStream::read_some(char* buf, std::size_t len) {
    // asio's read, not recv + async_wait: see TlsStream's constructor.
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf, len), use_nothrow);
    if (ec == asio::error::eof) co_return std::size_t{0};
    if (ec == asio::error::operation_aborted) co_return make_error(Errc::kUnavailable, "timed out");
    if (ec) co_return make_error(Errc::kIo, "recv: " + ec.message());
    co_return n;
}

asio::awaitable<Result<void>> PlainStream::write_all(const char* data, std::size_t len) {
    int fd = sock_.native_handle();
    while (len > 0) {
        ssize_t n = ::send(fd, data, len, MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= static_cast<std::size_t>(n);
            progressed();
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) co_return io_error("send", errno);
        auto w = co_await wait_ready(sock_, tcp::socket::wait_write);
        if (!w) co_return w.error();
    }
    co_return Result<void>{};
}

asio::awaitable<Result<void>> PlainStream::send_file(int file, std::uint64_t offset,
                                                     std::uint64_t len) {
    int fd = sock_.native_handle();
    off_t off = static_cast<off_t>(offset);
    while (len > 0) {
        // Bounded chunks so one fast client cannot hold the worker (nginx sendfile_max_chunk).
        std::size_t chunk = len > (2u << 20) ? (2u << 20) : static_cast<std::size_t>(len);
        ssize_t n = ::sendfile(fd, file, &off, chunk);
        if (n > 0) {
            len -= static_cast<std::uint64_t>(n);
            progressed();
            continue;
        }
        if (n == 0) co_return make_error(Errc::kIo, "file shrank while sending");
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) co_return io_error("sendfile", errno);
        auto w = co_await wait_ready(sock_, tcp::socket::wait_write);
        if (!w) co_return w.error();
    }
    co_return Result<void>{};
}

namespace {
bool kernel_has_input(int fd) {
    int n = 0;
    return ::ioctl(fd, FIONREAD, &n) != 0 || n > 0;  // unknown counts as pending
}
}  // namespace

bool PlainStream::input_pending() const {
    return kernel_has_input(const_cast<tcp::socket&>(sock_).native_handle());
}

void PlainStream::shutdown() {
    asio::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
}

// ---- TlsStream ----

TlsStream::TlsStream(tcp::socket s, SSL* ssl) : sock_(std::move(s)), ssl_(ssl) {
    // Reads: asio reads the socket into a memory BIO that OpenSSL decrypts from (fill()). An
    // asio read remembers when a read(2) came back short, so the next wait goes straight to
    // epoll: no read(2) that ends in EAGAIN and no epoll_ctl per wait, which async_wait costs
    // (asio re-arms the descriptor for every wait). That was two of the four system calls of
    // an HTTP/1.1 keep-alive request.
    // Writes: through a batching filter (internal/batch_bio.h), so the records of one round
    // (handshake flights, several small responses) leave in one write(2) on flush.
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* sock_bio = BIO_new_socket(sock_.native_handle(), BIO_NOCLOSE);
    BIO* batch = internal::new_batch_bio(kWriteBuffer);
    MOAT_CHECK(rbio && sock_bio && batch, "out of memory");
    BIO_set_mem_eof_return(rbio, -1);  // empty means "wait for more", not end of stream
    BIO_push(batch, sock_bio);
    SSL_set_bio(ssl_, rbio, batch);  // takes both
    SSL_set_read_ahead(ssl_, 1);
    SSL_set_accept_state(ssl_);
    // Retrying a write after WANT_WRITE may come from a moved buffer; we always retry with the
    // same bytes, but let OpenSSL accept partial progress for large writes.
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                           SSL_MODE_RELEASE_BUFFERS);
}

TlsStream::~TlsStream() {
    if (ssl_) SSL_free(ssl_);
}

asio::awaitable<Result<void>> TlsStream::wait_for(int ret) {
    int err = SSL_get_error(ssl_, ret);
    switch (err) {
        case SSL_ERROR_WANT_READ: {
            // Never wait for the peer while our own bytes sit in the buffer (a handshake
            // flight, a KeyUpdate answer): the peer may be waiting for them.
            if (BIO_wpending(SSL_get_wbio(ssl_)) > 0) {
                auto f = co_await flush();
                if (!f) co_return f.error();
            }
            co_return co_await fill();
        }
        case SSL_ERROR_WANT_WRITE:
            co_return co_await wait_ready(sock_, tcp::socket::wait_write);
        case SSL_ERROR_ZERO_RETURN:
            co_return make_error(Errc::kIo, "closed by peer");
        case SSL_ERROR_SYSCALL: {
            int e = errno;
            ERR_clear_error();
            if (e == 0 || e == EPIPE || e == ECONNRESET)
                co_return make_error(Errc::kIo, "connection closed");
            co_return io_error("tls", e);
        }
        default:
            co_return make_error(Errc::kDenied, openssl_reason());
    }
}

asio::awaitable<Result<void>> TlsStream::handshake() {
    for (;;) {
        ERR_clear_error();
        int r = SSL_do_handshake(ssl_);
        if (r == 1) co_return Result<void>{};
        auto w = co_await wait_for(r);
        if (!w) co_return w.error();
    }
}

asio::awaitable<Result<std::size_t>> TlsStream::read_some(char* buf, std::size_t len) {
    for (;;) {
        ERR_clear_error();
        std::size_t n = 0;
        int r = SSL_read_ex(ssl_, buf, len, &n);
        if (r == 1) co_return n;
        if (SSL_get_error(ssl_, r) == SSL_ERROR_ZERO_RETURN) co_return std::size_t{0};
        auto w = co_await wait_for(r);
        if (!w) {
            // A peer that closes TCP without close_notify is common for HTTP; treat as EOF.
            if (w.error().code == Errc::kIo) co_return std::size_t{0};
            co_return w.error();
        }
    }
}

asio::awaitable<Result<void>> TlsStream::write_all(const char* data, std::size_t len) {
    auto r = co_await write_records(data, len);
    if (!r) co_return r;
    co_return co_await flush();
}

asio::awaitable<Result<void>> TlsStream::write_all(std::span<const std::string_view> parts) {
    for (std::string_view p : parts) {
        auto r = co_await write_records(p.data(), p.size());
        if (!r) co_return r;
    }
    co_return co_await flush();
}

asio::awaitable<Result<void>> TlsStream::write_records(const char* data, std::size_t len) {
    while (len > 0) {
        ERR_clear_error();
        std::size_t n = 0;
        int r = SSL_write_ex(ssl_, data, len, &n);
        if (r == 1) {
            data += n;
            len -= n;
            progressed();
            continue;
        }
        auto w = co_await wait_for(r);
        if (!w) co_return w.error();
    }
    co_return Result<void>{};
}

asio::awaitable<Result<void>> TlsStream::fill() {
    if (!in_) in_ = std::make_unique<char[]>(kReadChunk);
    auto [ec, n] = co_await sock_.async_read_some(asio::buffer(in_.get(), kReadChunk), use_nothrow);
    if (ec == asio::error::operation_aborted) co_return make_error(Errc::kUnavailable, "timed out");
    if (ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::broken_pipe)
        co_return make_error(Errc::kIo, "connection closed");
    if (ec) co_return make_error(Errc::kIo, ec.message());
    if (BIO_write(SSL_get_rbio(ssl_), in_.get(), static_cast<int>(n)) != static_cast<int>(n))
        co_return make_error(Errc::kInternal, "out of memory");
    co_return Result<void>{};
}

asio::awaitable<Result<void>> TlsStream::flush() {
    BIO* wbio = SSL_get_wbio(ssl_);
    for (;;) {
        ERR_clear_error();
        if (BIO_flush(wbio) > 0) co_return Result<void>{};
        if (!BIO_should_retry(wbio)) {
            int e = errno;
            if (e == 0 || e == EPIPE || e == ECONNRESET)
                co_return make_error(Errc::kIo, "connection closed");
            co_return io_error("tls", e);
        }
        auto w = co_await wait_ready(sock_, tcp::socket::wait_write);
        if (!w) co_return w.error();
        progressed();
    }
}

bool TlsStream::ktls_send() const { return BIO_get_ktls_send(SSL_get_wbio(ssl_)) != 0; }

asio::awaitable<Result<void>> TlsStream::send_file(int file, std::uint64_t offset,
                                                   std::uint64_t len) {
    if (ktls_send()) {
        auto f = co_await flush();  // what SSL_write buffered goes before the file's bytes
        if (!f) co_return f.error();
        while (len > 0) {
            std::size_t chunk = len > (2u << 20) ? (2u << 20) : static_cast<std::size_t>(len);
            ERR_clear_error();
            ossl_ssize_t n = SSL_sendfile(ssl_, file, static_cast<off_t>(offset), chunk, 0);
            if (n > 0) {
                offset += static_cast<std::uint64_t>(n);
                len -= static_cast<std::uint64_t>(n);
                progressed();
                continue;
            }
            auto w = co_await wait_for(static_cast<int>(n));
            if (!w) co_return w.error();
        }
        co_return Result<void>{};
    }
    // Userspace TLS: read a chunk, encrypt it. 64 KiB = four full TLS records per write.
    std::string buf(64 * 1024, '\0');
    while (len > 0) {
        std::size_t want = len > buf.size() ? buf.size() : static_cast<std::size_t>(len);
        ssize_t n = ::pread(file, buf.data(), want, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) co_return io_error("pread", errno);
        if (n == 0) co_return make_error(Errc::kIo, "file shrank while sending");
        auto w = co_await write_all(buf.data(), static_cast<std::size_t>(n));
        if (!w) co_return w.error();
        offset += static_cast<std::uint64_t>(n);
        len -= static_cast<std::uint64_t>(n);
    }
    co_return Result<void>{};
}

bool TlsStream::input_pending() const {
    return SSL_pending(ssl_) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl_)) > 0 ||
           kernel_has_input(const_cast<tcp::socket&>(sock_).native_handle());
}

void TlsStream::shutdown() {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // non-blocking: queues close_notify if the socket takes it
    (void)BIO_flush(SSL_get_wbio(ssl_));  // best effort, like the close_notify itself
    ERR_clear_error();
}

}  // namespace moat::edge
