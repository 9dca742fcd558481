#include "mail/tls_probe.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <memory>

namespace moat::mail {
namespace {

using Clock = std::chrono::steady_clock;

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

void set_timeouts(int fd, std::chrono::milliseconds t) {
    timeval tv{static_cast<time_t>(t.count() / 1000),
               static_cast<suseconds_t>((t.count() % 1000) * 1000)};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Non-blocking connect bounded by `timeout`, then blocking I/O with per-call timeouts.
bool connect_to(const std::string& addr, std::uint16_t port, std::chrono::milliseconds timeout,
                Fd& out, std::string& err) {
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (::inet_pton(AF_INET, addr.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        len = sizeof *v4;
    } else if (::inet_pton(AF_INET6, addr.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        len = sizeof *v6;
    } else {
        err = "not an IP address: " + addr;
        return false;
    }
    out.fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (out.fd < 0) {
        err = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    if (::connect(out.fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
        err = std::string("connect: ") + std::strerror(errno);
        return false;
    }
    pollfd p{out.fd, POLLOUT, 0};
    int rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (rc <= 0) {
        err = rc == 0 ? "connect: timed out" : std::string("connect: ") + std::strerror(errno);
        return false;
    }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    ::getsockopt(out.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) {
        err = std::string("connect: ") + std::strerror(soerr);
        return false;
    }
    ::fcntl(out.fd, F_SETFL, ::fcntl(out.fd, F_GETFL) & ~O_NONBLOCK);
    set_timeouts(out.fd, timeout);
    return true;
}

// Reads one SMTP reply (RFC 5321 §4.2: lines "ddd-text" then "ddd text"). Bounded in size.
bool read_reply(int fd, std::string& reply, Clock::time_point deadline, std::string& err) {
    reply.clear();
    std::string line;
    for (;;) {
        if (Clock::now() > deadline || reply.size() > 16384) {
            err = "SMTP reply too slow or too long";
            return false;
        }
        char c;
        ssize_t n = ::recv(fd, &c, 1, 0);
        if (n <= 0) {
            err = n == 0 ? "SMTP server closed the connection"
                         : std::string("SMTP read: ") + std::strerror(errno);
            return false;
        }
        line += c;
        if (c != '\n') continue;
        reply += line;
        bool last = line.size() >= 4 && line[3] == ' ';
        bool more = line.size() >= 4 && line[3] == '-';
        line.clear();
        if (last) return true;
        if (!more) {
            err = "malformed SMTP reply";
            return false;
        }
    }
}

bool send_all(int fd, const std::string& s, std::string& err) {
    std::size_t off = 0;
    while (off < s.size()) {
        ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
            err = std::string("send: ") + std::strerror(errno);
            return false;
        }
        off += static_cast<std::size_t>(n);
    }
    return true;
}

bool smtp_starttls(int fd, const TlsProbeOptions& o, TlsProbeResult& r) {
    std::string reply;
    auto step = [&] { return Clock::now() + o.timeout; };
    if (!read_reply(fd, reply, step(), r.error)) return false;
    r.banner = reply.substr(0, reply.find('\r'));
    if (reply.rfind("220", 0) != 0) {
        r.error = "SMTP banner is not 220: " + r.banner;
        return false;
    }
    if (!send_all(fd, "EHLO " + o.ehlo + "\r\n", r.error)) return false;
    if (!read_reply(fd, reply, step(), r.error)) return false;
    if (reply.rfind("250", 0) != 0) {
        r.error = "EHLO refused: " + reply.substr(0, reply.find('\r'));
        return false;
    }
    r.starttls_offered = ehlo_offers(reply, "STARTTLS");
    if (!r.starttls_offered) {
        send_all(fd, "QUIT\r\n", r.error);
        r.error = "STARTTLS is not offered";
        return false;
    }
    if (!send_all(fd, "STARTTLS\r\n", r.error)) return false;
    if (!read_reply(fd, reply, step(), r.error)) return false;
    if (reply.rfind("220", 0) != 0) {
        r.error = "STARTTLS refused: " + reply.substr(0, reply.find('\r'));
        return false;
    }
    return true;
}

std::string openssl_error() {
    unsigned long e = ERR_get_error();
    if (e == 0) return "handshake failed";
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

}  // namespace

bool ehlo_offers(std::string_view reply, std::string_view keyword) {
    bool first = true;
    while (!reply.empty()) {
        std::size_t nl = reply.find('\n');
        std::string_view line = reply.substr(0, nl);
        reply.remove_prefix(nl == std::string_view::npos ? reply.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        bool greeting = first;  // the first line is the server's name and greeting
        first = false;
        if (greeting || line.size() < 4 || line.substr(0, 3) != "250") continue;
        std::string_view word = line.substr(4, line.find(' ', 4) - 4);  // npos - 4: to the end
        if (word.size() == keyword.size() &&
            std::equal(word.begin(), word.end(), keyword.begin(), [](char a, char b) {
                return std::toupper(static_cast<unsigned char>(a)) ==
                       std::toupper(static_cast<unsigned char>(b));
            }))
            return true;
    }
    return false;
}

TlsProbeResult probe_tls(const TlsProbeOptions& o) {
    TlsProbeResult r;
    auto start = Clock::now();
    auto done = [&]() -> TlsProbeResult& {
        r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
        return r;
    };
    Fd sock;
    if (!connect_to(o.address, o.port, o.timeout, sock, r.error)) return done();
    r.connected = true;
    if (o.starttls && !smtp_starttls(sock.fd, o, r)) return done();

    std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()),
                                                          SSL_CTX_free);
    if (!ctx) {
        r.error = openssl_error();
        return done();
    }
    // RFC 8461 §7.2 / RFC 8996: TLS 1.2 or newer.
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (!o.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx.get(), o.ca_file.c_str(), nullptr) != 1) {
            r.error = "cannot read CA file " + o.ca_file;
            return done();
        }
    } else {
        SSL_CTX_set_default_verify_paths(ctx.get());
    }
    // Verify without aborting, so one probe reports chain, name and dates separately.
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), sock.fd);
    SSL_set_tlsext_host_name(ssl.get(), o.name.c_str());
    set_timeouts(sock.fd, o.timeout);
    if (SSL_connect(ssl.get()) != 1) {
        r.error = "TLS handshake (1.2 or newer) failed: " + openssl_error();
        return done();
    }
    r.handshake = true;
    r.version = SSL_get_version(ssl.get());
    r.cipher = SSL_get_cipher_name(ssl.get());
    long vr = SSL_get_verify_result(ssl.get());
    // Dates are judged separately (`expired`), so an expired but well-chained certificate is
    // reported once, as expired.
    r.chain_ok =
        vr == X509_V_OK || vr == X509_V_ERR_CERT_HAS_EXPIRED || vr == X509_V_ERR_CERT_NOT_YET_VALID;
    if (!r.chain_ok) r.verify_error = X509_verify_cert_error_string(vr);
    X509* leaf = SSL_get0_peer_certificate(ssl.get());
    if (leaf) {
        char* subj = X509_NAME_oneline(X509_get_subject_name(leaf), nullptr, 0);
        if (subj) {
            r.subject = subj;
            OPENSSL_free(subj);
        }
        // RFC 6125 as RFC 8461 §3.3/§4.2 require: DNS-ID in the SAN only, wildcard only as the
        // whole left-most label.
        r.name_ok = X509_check_host(
                        leaf, o.name.data(), o.name.size(),
                        X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS,
                        nullptr) == 1;
        int days = 0, secs = 0;
        if (ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(leaf)) == 1) {
            r.days_left = days;
            r.expired = days < 0 || (days == 0 && secs < 0);
        }
        if (X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0) r.expired = true;
    }
    if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get())) {
        for (int i = 0; i < sk_X509_num(chain); ++i) {
            unsigned char* der = nullptr;
            int n = i2d_X509(sk_X509_value(chain, i), &der);
            if (n > 0) r.chain.emplace_back(reinterpret_cast<char*>(der), n);
            OPENSSL_free(der);
        }
    }
    SSL_shutdown(ssl.get());
    return done();
}

}  // namespace moat::mail
