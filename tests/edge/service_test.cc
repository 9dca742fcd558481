// edge::ServiceServer over real loopback sockets, plain and TLS.
#include "edge/service.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <thread>
#include <vector>

#include "tls/cert_table.h"
#include "tls/internal_ca.h"
#include "tls/server_context.h"
#include "tls/tls_test_util.h"

namespace moat::edge {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

class FnHandler : public ServiceHandler {
public:
    using Fn = std::function<void(ServiceRequest&, ServiceResponse&)>;
    explicit FnHandler(Fn fn) : fn_(std::move(fn)) {}
    void handle(ServiceRequest& req, ServiceResponse& res) override { fn_(req, res); }

private:
    Fn fn_;
};

// Reads the whole body and answers 200 with "<method> <path> <body bytes> <body>".
void echo(ServiceRequest& req, ServiceResponse& res) {
    std::string body;
    // Read sizes vary: tiny reads take the buffered path, large ones go straight to the socket.
    static const std::size_t kSizes[] = {1, 100, 70000, 4096};
    std::vector<char> buf(70000);
    for (int i = 0;; ++i) {
        auto n = req.body->read(buf.data(), kSizes[i % 4]);
        if (!n) {
            (void)res.send(400, {}, "body error: " + n.error().detail);
            return;
        }
        if (*n == 0) break;
        body.append(buf.data(), *n);
    }
    (void)res.send(200, {{"Content-Type", "text/plain"}, {"X-Secure", req.secure ? "1" : "0"}},
                   req.method + " " + req.path + " " + std::to_string(body.size()) + " " + body);
}

struct Response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

// A blocking test client with a receive timeout, plain or TLS.
class Client {
public:
    Client(std::uint16_t port, SSL_CTX* tls = nullptr) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        timeval tv{5, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        if (connected_ && tls) {
            ssl_ = SSL_new(tls);
            SSL_set_fd(ssl_, fd_);
            connected_ = SSL_connect(ssl_) == 1;
        }
    }
    ~Client() {
        if (ssl_) SSL_free(ssl_);
        ::close(fd_);
    }
    bool connected() const { return connected_; }

    void send(std::string_view s) {
        if (ssl_) {
            SSL_write(ssl_, s.data(), static_cast<int>(s.size()));
        } else {
            ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
        }
    }
    // Bytes until n are buffered or the peer closes/the timeout hits.
    bool fill(std::size_t n) {
        while (buf_.size() < n) {
            char tmp[16384];
            int got = ssl_ ? SSL_read(ssl_, tmp, sizeof tmp)
                           : static_cast<int>(::recv(fd_, tmp, sizeof tmp, 0));
            if (got <= 0) return false;
            buf_.append(tmp, static_cast<std::size_t>(got));
        }
        return true;
    }
    bool fill_until(std::string_view marker) {
        while (buf_.find(marker) == std::string::npos)
            if (!fill(buf_.size() + 1)) return false;
        return true;
    }
    // One response; status 0 when none came. HEAD responses have no body.
    Response read(bool head = false) {
        Response r;
        if (!fill_until("\r\n\r\n")) return r;
        std::size_t end = buf_.find("\r\n\r\n");
        std::string head_text = buf_.substr(0, end);
        buf_.erase(0, end + 4);
        r.status = std::atoi(head_text.substr(9, 3).c_str());
        std::size_t pos = head_text.find("\r\n");
        while (pos != std::string::npos) {
            std::size_t next = head_text.find("\r\n", pos + 2);
            std::string line = head_text.substr(
                pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
            auto colon = line.find(':');
            std::string name = line.substr(0, colon);
            for (char& c : name) c = static_cast<char>(std::tolower(c));
            r.headers[name] = line.substr(colon + 2);
            pos = next;
        }
        if (r.status == 100 || head) return r;
        std::size_t len =
            std::stoul(r.headers.count("content-length") ? r.headers["content-length"] : "0");
        if (!fill(len)) return r;
        r.body = buf_.substr(0, len);
        buf_.erase(0, len);
        return r;
    }
    // Whether the server closed the connection (EOF) within the receive timeout.
    bool closed_by_peer() {
        char c;
        int got = ssl_ ? SSL_read(ssl_, &c, 1) : static_cast<int>(::recv(fd_, &c, 1, 0));
        if (got > 0) return false;
        if (ssl_) {
            int e = SSL_get_error(ssl_, got);
            return e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL;
        }
        return got == 0 || errno == ECONNRESET;
    }
    const std::string& pending() const { return buf_; }

private:
    int fd_ = -1;
    SSL* ssl_ = nullptr;
    bool connected_ = false;
    std::string buf_;
};

class ServiceServerTest : public ::testing::Test {
protected:
    void start(FnHandler::Fn fn, std::shared_ptr<tls::ServerContext> tls = nullptr) {
        settings_.name = "test";
        settings_.listen = {"127.0.0.1:0"};
        auto s = ServiceServer::create(settings_, std::move(tls),
                                       std::make_shared<FnHandler>(std::move(fn)));
        ASSERT_TRUE(s) << s.error().detail;
        server_ = std::move(*s);
        server_->start();
        port_ = server_->ports().at(0);
    }
    void TearDown() override {
        if (server_) server_->stop();
    }

    ServiceSettings settings_;
    std::unique_ptr<ServiceServer> server_;
    std::uint16_t port_ = 0;
};

TEST_F(ServiceServerTest, KeepAliveAndPipelinedRequests) {
    start(echo);
    Client c(port_);
    ASSERT_TRUE(c.connected());
    c.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
    auto r1 = c.read();
    EXPECT_EQ(r1.status, 200);
    EXPECT_EQ(r1.body, "GET /one 0 ");
    EXPECT_EQ(r1.headers.count("connection"), 0u);
    EXPECT_TRUE(r1.headers.count("date"));
    // Two requests in one write: answered in order on the same connection.
    c.send(
        "POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\n"
        "Host: a\r\n\r\n");
    auto r2 = c.read();
    auto r3 = c.read();
    EXPECT_EQ(r2.body, "POST /two 3 abc");
    EXPECT_EQ(r3.body, "GET /three 0 ");
    // Connection: close is honoured.
    c.send("GET /four HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    auto r4 = c.read();
    EXPECT_EQ(r4.status, 200);
    EXPECT_EQ(r4.headers["connection"], "close");
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServiceServerTest, ChunkedRequestBody) {
    start(echo);
    Client c(port_);
    c.send(
        "PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n");
    auto r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "PUT /c 16 hello 0123456789");
    // Bad chunk framing fails the body read, and the connection closes after the answer.
    c.send("PUT /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    auto bad = c.read();
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.headers["connection"], "close");
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServiceServerTest, ExpectContinueIsAnsweredOnFirstRead) {
    std::atomic<bool> refuse{false};
    start([&](ServiceRequest& req, ServiceResponse& res) {
        if (refuse) {
            (void)res.send(403, {}, "no");
            return;
        }
        echo(req, res);
    });
    Client c(port_);
    c.send("PUT /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    auto interim = c.read();
    EXPECT_EQ(interim.status, 100);
    c.send("data");
    auto r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "PUT /e 4 data");

    // A handler that refuses without reading: no 100, and the connection closes (the client
    // may or may not send the body it was holding back).
    refuse = true;
    Client d(port_);
    d.send("PUT /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    auto no = d.read();
    EXPECT_EQ(no.status, 403);
    EXPECT_EQ(no.headers["connection"], "close");
    EXPECT_TRUE(d.closed_by_peer());
}

TEST_F(ServiceServerTest, HeadAnnouncesLengthWithoutBody) {
    start([](ServiceRequest& req, ServiceResponse& res) {
        (void)res.send(200, {{"ETag", "\"x\""}}, std::string(1234, 'z'));
        (void)req;
    });
    Client c(port_);
    c.send("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n");
    auto r = c.read(true);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["content-length"], "1234");
    // No body bytes followed: the next response starts right away.
    c.send("GET /h HTTP/1.1\r\nHost: a\r\n\r\n");
    auto g = c.read();
    EXPECT_EQ(g.status, 200);
    EXPECT_EQ(g.body.size(), 1234u);
}

TEST_F(ServiceServerTest, HandlerWithoutResponseGets500) {
    start([](ServiceRequest&, ServiceResponse&) {});
    Client c(port_);
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(c.read().status, 500);
    // A handler that throws is caught too.
    server_->stop();
    server_.reset();
    start([](ServiceRequest&, ServiceResponse&) { throw std::runtime_error("boom"); });
    Client d(port_);
    d.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(d.read().status, 500);
}

TEST_F(ServiceServerTest, ShortResponseBodyClosesTheConnection) {
    start([](ServiceRequest&, ServiceResponse& res) {
        (void)res.start(200, {}, 10);
        (void)res.write("abc");
        auto over = res.write("0123456789");  // more than announced: refused
        EXPECT_FALSE(over);
    });
    Client c(port_);
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    c.fill_until("abc");
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServiceServerTest, SmugglingAndFramingErrorsAreRefused) {
    start(echo);
    struct Case {
        const char* request;
        int status;
    } cases[] = {
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3x\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
        {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: bogus\r\n\r\n", 417},
        {"GET / HTTP/1.1\r\n\r\n", 400},
        {"GET / HTTP/1.1\nHost: a\n\n", 400},
    };
    for (const auto& k : cases) {
        Client c(port_);
        c.send(k.request);
        auto r = c.read();
        EXPECT_EQ(r.status, k.status) << k.request;
        EXPECT_EQ(r.headers["connection"], "close") << k.request;
        EXPECT_TRUE(c.closed_by_peer()) << k.request;
    }
}

TEST_F(ServiceServerTest, HeaderSizeLimit) {
    settings_.max_header_bytes = 1024;
    start(echo);
    Client c(port_);
    c.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n");
    EXPECT_EQ(c.read().status, 431);
    // Just under the limit is fine.
    Client d(port_);
    d.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(900, 'x') + "\r\n\r\n");
    EXPECT_EQ(d.read().status, 200);
}

TEST_F(ServiceServerTest, SlowlorisHeadTimesOut) {
    settings_.header_timeout = 300ms;
    start(echo);
    Client c(port_);
    const auto t0 = SteadyClock::now();
    // One byte every 100 ms: each arrives in time, the whole head does not.
    std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1234567890\r\n\r\n";
    std::atomic<bool> answered{false};
    std::thread dribble([&] {
        for (char ch : head) {
            if (answered) break;
            c.send(std::string(1, ch));
            std::this_thread::sleep_for(100ms);
        }
    });
    auto r = c.read();
    const auto took = SteadyClock::now() - t0;
    answered = true;
    dribble.join();
    EXPECT_EQ(r.status, 408);
    EXPECT_LT(took, 1500ms);
    EXPECT_GE(took, 250ms);
}

TEST_F(ServiceServerTest, StalledBodyTimesOutAndIdleConnectionsClose) {
    settings_.io_timeout = 300ms;
    settings_.idle_timeout = 300ms;
    std::atomic<int> body_error_code{-1};
    start([&](ServiceRequest& req, ServiceResponse& res) {
        char buf[256];
        for (;;) {
            auto n = req.body->read(buf, sizeof buf);
            if (!n) {
                body_error_code = static_cast<int>(n.error().code);
                (void)res.send(408, {}, "stalled");
                return;
            }
            if (*n == 0) break;
        }
        (void)res.send(200, {}, "ok");
    });
    Client c(port_);
    const auto t0 = SteadyClock::now();
    c.send("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789");
    auto r = c.read();
    EXPECT_EQ(r.status, 408);
    EXPECT_EQ(body_error_code.load(), static_cast<int>(Errc::kUnavailable));
    EXPECT_LT(SteadyClock::now() - t0, 2s);
    EXPECT_TRUE(c.closed_by_peer());

    // Idle keep-alive connection: closed after idle_timeout.
    Client d(port_);
    d.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(d.read().status, 200);
    const auto t1 = SteadyClock::now();
    EXPECT_TRUE(d.closed_by_peer());
    EXPECT_LT(SteadyClock::now() - t1, 2s);
}

TEST_F(ServiceServerTest, UnreadBodyIsDrainedOrTheConnectionCloses) {
    start([](ServiceRequest&, ServiceResponse& res) { (void)res.send(403, {}, "denied"); });
    Client c(port_);
    // A small unread body is drained: the connection serves the next request.
    c.send("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x'));
    auto r = c.read();
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(r.headers.count("connection"), 0u);
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(c.read().status, 403);
    // Over the drain bound (1 MiB): announced as close, and closed.
    Client d(port_);
    d.send("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3000000\r\n\r\n" + std::string(1000, 'x'));
    auto big = d.read();
    EXPECT_EQ(big.status, 403);
    EXPECT_EQ(big.headers["connection"], "close");
    EXPECT_TRUE(d.closed_by_peer());
}

TEST_F(ServiceServerTest, BeyondMaxConnectionsAnswers503) {
    settings_.max_connections = 1;
    start(echo);
    Client a(port_);
    a.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(a.read().status, 200);  // `a` now holds the only slot (keep-alive)
    Client b(port_);
    b.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    auto busy = b.read();
    EXPECT_EQ(busy.status, 503);
    EXPECT_EQ(busy.headers["retry-after"], "1");
    EXPECT_TRUE(b.closed_by_peer());
    // `a` still works.
    a.send("GET /again HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(a.read().body, "GET /again 0 ");
}

TEST_F(ServiceServerTest, StopClosesIdleConnectionsPromptly) {
    settings_.idle_timeout = 60s;
    start(echo);
    Client c(port_);
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(c.read().status, 200);
    const auto t0 = SteadyClock::now();
    server_->stop();
    EXPECT_LT(SteadyClock::now() - t0, 1s);
    EXPECT_TRUE(c.closed_by_peer());
    Client late(port_);
    EXPECT_FALSE(late.connected() &&
                 (late.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), late.read().status == 200));
}

// Threads of this process, as the kernel lists them.
std::size_t thread_count() {
    std::size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task"))
        ++n;
    return n;
}

// stop() joins every connection thread: none is left finishing on its own (its OpenSSL thread
// state and its hold on the server's state were once still alive when a test process exited).
TEST_F(ServiceServerTest, StopLeavesNoThreadBehind) {
    const std::size_t before = thread_count();
    start(echo);
    for (int i = 0; i < 10; ++i) {
        Client c(port_);  // connects and closes at once
        ASSERT_TRUE(c.connected());
    }
    Client served(port_);
    served.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(served.read().status, 200);
    server_->stop();
    EXPECT_EQ(thread_count(), before);
}

TEST_F(ServiceServerTest, BindErrorsNameTheAddress) {
    ServiceSettings s;
    s.listen = {"127.0.0.1:notaport"};
    auto r = ServiceServer::create(s, nullptr, std::make_shared<FnHandler>(echo));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().detail.find("127.0.0.1:notaport"), std::string::npos);
}

class ServiceServerTlsTest : public ServiceServerTest {
protected:
    void SetUp() override {
        auto ca = tls::InternalCa::open_or_create(dir_.file("ca"));
        ASSERT_TRUE(ca) << ca.error().detail;
        auto leaf = ca->issue({"127.0.0.1"});
        ASSERT_TRUE(leaf);
        auto table = std::make_shared<tls::CertTable>();
        ASSERT_TRUE(table->add("127.0.0.1", *leaf));
        ASSERT_TRUE(table->set_default("127.0.0.1"));
        auto ctx = tls::ServerContext::create(tls::TlsSettings{});
        ASSERT_TRUE(ctx) << ctx.error().detail;
        (*ctx)->set_certs(table);
        ctx_ = *ctx;
        client_ctx_ = SSL_CTX_new(TLS_client_method());
        SSL_CTX_load_verify_locations(client_ctx_, ca->root_cert_path().c_str(), nullptr);
        SSL_CTX_set_verify(client_ctx_, SSL_VERIFY_PEER, nullptr);
    }
    void TearDown() override {
        ServiceServerTest::TearDown();
        SSL_CTX_free(client_ctx_);
    }
    tls::testing::TempDir dir_;
    std::shared_ptr<tls::ServerContext> ctx_;
    SSL_CTX* client_ctx_ = nullptr;
};

TEST_F(ServiceServerTlsTest, KeepAliveChunkedAndContinueOverTls) {
    start(echo, ctx_);
    Client c(port_, client_ctx_);
    ASSERT_TRUE(c.connected());
    c.send("GET /t HTTP/1.1\r\nHost: a\r\n\r\n");
    auto r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers["x-secure"], "1");
    c.send(
        "PUT /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        "Expect: 100-continue\r\n\r\n");
    EXPECT_EQ(c.read().status, 100);
    std::string big(200000, 'q');
    c.send("30d40\r\n" + big + "\r\n0\r\n\r\n");
    auto p = c.read();
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(p.body.size(), std::string("PUT /t 200000 ").size() + big.size());
}

TEST_F(ServiceServerTlsTest, HandshakeTimeoutAndPlainTextOnTlsPort) {
    settings_.handshake_timeout = 300ms;
    start(echo, ctx_);
    Client silent(port_);  // connects, never sends a ClientHello
    const auto t0 = SteadyClock::now();
    EXPECT_TRUE(silent.closed_by_peer());
    EXPECT_LT(SteadyClock::now() - t0, 2s);
    Client plain(port_);
    plain.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_TRUE(plain.closed_by_peer());
    // The server still serves TLS clients afterwards.
    Client ok(port_, client_ctx_);
    ok.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(ok.read().status, 200);
}

}  // namespace
}  // namespace moat::edge
