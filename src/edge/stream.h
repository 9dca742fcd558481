#pragma once
// Byte streams a connection reads and writes: PlainStream (TCP) and TlsStream (OpenSSL on the
// socket's fd). Both try the system call first and wait for readiness only when it would block,
// so a busy connection costs no event-loop round trip per read. TlsStream drives OpenSSL on the
// raw fd (SSL_set_fd, not memory BIOs) so that kernel TLS and SSL_sendfile work where the kernel
// offers them. Owned by one connection coroutine; used from its worker thread only.

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"
#include "edge/conn.h"

namespace moat::edge {

using asio::ip::tcp;

class PlainStream {
public:
    explicit PlainStream(tcp::socket s) : sock_(std::move(s)) {}
    tcp::socket& socket() { return sock_; }
    static constexpr bool kSecure = false;

    // Reads at least one byte; 0 means the peer closed. Errors: kIo (reset), kUnavailable
    // (cancelled by a timeout).
    asio::awaitable<Result<std::size_t>> read_some(char* buf, std::size_t len);
    asio::awaitable<Result<void>> write_all(const char* data, std::size_t len);
    // Sends file bytes [offset, offset+len) with sendfile(2).
    asio::awaitable<Result<void>> send_file(int fd, std::uint64_t offset, std::uint64_t len);
    void shutdown();
    // Whether the client has sent bytes not read yet (then closing would send RST).
    bool input_pending() const;
    // Each write that makes progress pushes `dl` out by `timeout`: write_timeout bounds a
    // stall, not a whole download. dl must outlive the stream's use.
    void extend_on_progress(Deadline* dl, std::chrono::milliseconds timeout) {
        progress_dl_ = dl;
        progress_timeout_ = timeout;
    }

private:
    void progressed() {
        if (progress_dl_) progress_dl_->set(progress_timeout_);
    }
    tcp::socket sock_;
    Deadline* progress_dl_ = nullptr;
    std::chrono::milliseconds progress_timeout_{0};
};

class TlsStream {
public:
    // Takes ownership of ssl (created with SSL_new on the server context).
    TlsStream(tcp::socket s, SSL* ssl);
    ~TlsStream();
    TlsStream(TlsStream&& o) noexcept
        : sock_(std::move(o.sock_)),
          ssl_(o.ssl_),
          in_(std::move(o.in_)),
          progress_dl_(o.progress_dl_),
          progress_timeout_(o.progress_timeout_) {
        o.ssl_ = nullptr;
    }
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;

    tcp::socket& socket() { return sock_; }
    SSL* ssl() { return ssl_; }
    static constexpr bool kSecure = true;

    // Errors carry OpenSSL's reason (never key material): kDenied for alerts and protocol errors.
    asio::awaitable<Result<void>> handshake();
    asio::awaitable<Result<std::size_t>> read_some(char* buf, std::size_t len);
    asio::awaitable<Result<void>> write_all(const char* data, std::size_t len);
    // The parts in order, as records of their own (a part is never copied to be joined to the
    // next), sent with one flush: what HTTP/2 hands over as frame bytes and body slices.
    asio::awaitable<Result<void>> write_all(std::span<const std::string_view> parts);
    // kTLS + SSL_sendfile when the kernel took the keys; pread + SSL_write otherwise.
    asio::awaitable<Result<void>> send_file(int fd, std::uint64_t offset, std::uint64_t len);
    // Sends close_notify without waiting for the peer's (RFC 8446 §6.1 allows it).
    void shutdown();
    // Whether the client has sent bytes not read yet: decrypted, buffered or in the kernel.
    bool input_pending() const;
    bool ktls_send() const;
    // See PlainStream::extend_on_progress.
    void extend_on_progress(Deadline* dl, std::chrono::milliseconds timeout) {
        progress_dl_ = dl;
        progress_timeout_ = timeout;
    }

private:
    // Waits for the readiness OpenSSL asked for after a call returned `ret`.
    asio::awaitable<Result<void>> wait_for(int ret);
    // Sends what the write buffer holds.
    asio::awaitable<Result<void>> flush();
    // SSL_write of all of data; the records wait in the write buffer for flush() (which a
    // full buffer does by itself).
    asio::awaitable<Result<void>> write_records(const char* data, std::size_t len);
    // Reads what the socket has into OpenSSL's input (a memory BIO); kIo at the peer's close.
    asio::awaitable<Result<void>> fill();
    // Bytes one read(2) takes: a request, a handshake flight, or a part of a larger record.
    static constexpr std::size_t kReadChunk = 16 * 1024;
    // One round of the HTTP/2 loop (a 64 KiB chunk) as four full TLS records of 16,406
    // bytes, or many small ones, leaves in one write(2).
    static constexpr std::size_t kWriteBuffer = 66 * 1024;
    void progressed() {
        if (progress_dl_) progress_dl_->set(progress_timeout_);
    }

    tcp::socket sock_;
    SSL* ssl_;
    std::unique_ptr<char[]> in_;  // fill()'s buffer, allocated on the first read
    Deadline* progress_dl_ = nullptr;
    std::chrono::milliseconds progress_timeout_{0};
};

}  // namespace moat::edge
