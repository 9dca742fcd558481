// edge::HttpClient against a scripted loopback server: status/headers/body, POST bodies, the
// body limit, unreachable and silent servers, and the https-only / TLS-verification floor.
#include "edge/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace moat::edge {
namespace {

// Accepts one connection, reads the request head (and a body of Content-Length), answers
// `response` (or nothing when empty, keeping the socket open for `hold_ms`).
class OneShotServer {
public:
    explicit OneShotServer(std::string response, int hold_ms = 0) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(fd_, 4);
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this, response = std::move(response), hold_ms] {
            int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) return;
            std::string req;
            char buf[4096];
            while (req.find("\r\n\r\n") == std::string::npos) {
                ssize_t n = ::read(c, buf, sizeof buf);
                if (n <= 0) break;
                req.append(buf, static_cast<std::size_t>(n));
            }
            auto cl = req.find("Content-Length: ");
            if (cl != std::string::npos) {
                std::size_t want = std::stoul(req.substr(cl + 16));
                std::size_t have = req.size() - req.find("\r\n\r\n") - 4;
                while (have < want) {
                    ssize_t n = ::read(c, buf, sizeof buf);
                    if (n <= 0) break;
                    req.append(buf, static_cast<std::size_t>(n));
                    have += static_cast<std::size_t>(n);
                }
            }
            request_ = req;
            if (!response.empty()) {
                (void)!::write(c, response.data(), response.size());
            } else {
                std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms));
            }
            ::close(c);
        });
    }
    ~OneShotServer() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    std::string url(std::string scheme = "http") const {
        return scheme + "://127.0.0.1:" + std::to_string(port_) + "/path";
    }
    std::string request() {
        thread_.join();
        thread_ = std::thread([] {});
        return request_;
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
    std::string request_;
};

ClientOptions plain() {
    ClientOptions o;
    o.allow_http = true;
    o.timeout = std::chrono::milliseconds(3000);
    return o;
}

TEST(HttpClient, ReturnsStatusHeadersAndBody) {
    OneShotServer s(
        "HTTP/1.1 201 Created\r\nReplay-Nonce: abc\r\nLink: <a>\r\nLink: <b>\r\n"
        "Content-Length: 5\r\nConnection: close\r\n\r\nhello");
    HttpClient c(plain());
    auto r = c.get(s.url());
    ASSERT_TRUE(r) << r.error().detail;
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->header("replay-nonce"), "abc");
    EXPECT_EQ(r->headers_named("link").size(), 2u);
    EXPECT_EQ(r->body, "hello");
}

TEST(HttpClient, PostsTheBodyWithItsType) {
    OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    HttpClient c(plain());
    auto r = c.post(s.url(), "{\"a\":1}", "application/jose+json");
    ASSERT_TRUE(r) << r.error().detail;
    std::string req = s.request();
    EXPECT_EQ(req.rfind("POST /path HTTP/1.1", 0), 0u) << req;
    EXPECT_NE(req.find("Content-Type: application/jose+json"), std::string::npos);
    EXPECT_NE(req.find("{\"a\":1}"), std::string::npos);
}

TEST(HttpClient, RefusesBodiesOverTheLimit) {
    std::string body(5000, 'x');
    OneShotServer s("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + body);  // no length
    ClientOptions o = plain();
    o.max_body = 1000;
    auto r = HttpClient(o).get(s.url());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kTooLarge);
    OneShotServer s2("HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n" + body);
    auto r2 = HttpClient(o).get(s2.url());
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().code, Errc::kTooLarge);
}

TEST(HttpClient, HttpsOnlyUnlessAllowed) {
    HttpClient strict;
    auto r = strict.get("http://127.0.0.1:1/");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kInvalidArgument);
    EXPECT_FALSE(strict.get("ftp://127.0.0.1/"));
    EXPECT_FALSE(strict.get("file:///etc/passwd"));
    ClientRequest put;
    put.method = "PUT";
    put.url = "https://127.0.0.1:1/";
    EXPECT_EQ(strict.fetch(put).error().code, Errc::kInvalidArgument);
}

TEST(HttpClient, UnreachableIsUnavailable) {
    auto r = HttpClient(plain()).get("http://127.0.0.1:1/");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    EXPECT_NE(r.error().detail.find("127.0.0.1:1"), std::string::npos);
}

TEST(HttpClient, SilentServerTimesOut) {
    OneShotServer s("", 1500);
    ClientOptions o = plain();
    o.timeout = std::chrono::milliseconds(300);
    auto t0 = std::chrono::steady_clock::now();
    auto r = HttpClient(o).get(s.url());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1200));
}

TEST(HttpClient, TlsHandshakeFailureIsUnavailable) {
    // A plain-HTTP server behind an https:// URL: the TLS handshake cannot succeed.
    OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ClientOptions o;
    o.timeout = std::chrono::milliseconds(3000);
    auto r = HttpClient(o).get(s.url("https"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::kUnavailable);
}

TEST(HttpClient, MissingCaFileIsAnError) {
    OneShotServer s("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ClientOptions o;
    o.ca_file = "/nonexistent/ca.pem";
    o.timeout = std::chrono::milliseconds(3000);
    EXPECT_FALSE(HttpClient(o).get(s.url("https")));
}

}  // namespace
}  // namespace moat::edge
