// Server::create binding rules, with clear-text listeners only (no TLS context needed).

#include "edge/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

namespace moat::edge {
namespace {

using asio::ip::tcp;

EdgeSettings plain_on(const std::string& addr) {
    EdgeSettings s;
    s.https_listen.clear();
    s.http_listen = {addr};
    s.metrics_listen.clear();
    s.workers = 2;
    return s;
}

// A listening socket with SO_REUSEPORT, as another process (say a second moat) would hold.
tcp::acceptor reuseport_listener(asio::io_context& io) {
    tcp::acceptor a(io);
    a.open(tcp::v4());
    int one = 1;
    ::setsockopt(a.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    a.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    a.listen();
    return a;
}

TEST(ServerCreate, RefusesAnAddressAnotherReuseportSocketListensOn) {
    asio::io_context io;
    auto other = reuseport_listener(io);
    auto port = other.local_endpoint().port();
    auto s =
        Server::create(plain_on("127.0.0.1:" + std::to_string(port)), nullptr, nullptr, nullptr);
    ASSERT_FALSE(s);
    EXPECT_NE(s.error().detail.find("in use"), std::string::npos) << s.error().detail;
}

TEST(ServerCreate, BindsAFreeAddressWithEveryWorker) {
    asio::io_context io;
    std::uint16_t port;
    {
        auto probe = reuseport_listener(io);
        port = probe.local_endpoint().port();
    }  // closed: the port is free again
    auto s =
        Server::create(plain_on("127.0.0.1:" + std::to_string(port)), nullptr, nullptr, nullptr);
    ASSERT_TRUE(s) << s.error().detail;
    EXPECT_EQ((*s)->http_ports(), std::vector<std::uint16_t>{port});
}

TEST(ServerCreate, PortZeroSharesThePortTheFirstWorkerGot) {
    auto s = Server::create(plain_on("127.0.0.1:0"), nullptr, nullptr, nullptr);
    ASSERT_TRUE(s) << s.error().detail;
    ASSERT_EQ((*s)->http_ports().size(), 1u);
    EXPECT_NE((*s)->http_ports()[0], 0);
}

}  // namespace
}  // namespace moat::edge
