#include "edge/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <charconv>
#include <thread>

#include "core/log.h"
#include "edge/internal/connection.h"
#include "edge/internal/shared.h"

namespace moat::edge {
namespace {

using asio::ip::tcp;
constexpr auto use_nothrow = asio::experimental::as_tuple(asio::use_awaitable);

struct Listener {
    ListenAddr addr;
    bool tls = false;
};

// One worker thread: its loop, its acceptors, its connections.
struct Worker {
    asio::io_context io{1};  // concurrency hint 1: no locking inside Asio's scheduler
    WorkerState state;
    std::vector<std::pair<tcp::acceptor, bool>> acceptors;  // (acceptor, tls)
    std::thread thread;
};

// SO_REUSEPORT lets any process of the same user bind the same address and silently take a
// share of its connections. Before the workers bind with it, a listener without the option
// proves the address is free (EADDRINUSE otherwise). SO_REUSEADDR keeps TIME_WAIT sockets of
// a previous run from failing the probe.
Result<void> probe_free(const tcp::endpoint& ep, const ListenAddr& a) {
    asio::io_context io;
    tcp::acceptor probe(io);
    asio::error_code ec;
    probe.open(ep.protocol(), ec);
    if (ec) return make_error(Errc::kIo, "socket: " + ec.message());
    if (a.v6) probe.set_option(asio::ip::v6_only(true), ec);
    probe.set_option(tcp::acceptor::reuse_address(true), ec);
    probe.bind(ep, ec);
    if (!ec) probe.listen(1, ec);
    if (ec)
        return make_error(Errc::kIo,
                          "bind " + a.host + ":" + std::to_string(a.port) + ": " + ec.message());
    return {};
}

Result<tcp::acceptor> open_acceptor(asio::io_context& io, const ListenAddr& a, bool first,
                                    std::chrono::milliseconds handshake_timeout) {
    asio::error_code ec;
    auto addr = asio::ip::make_address(a.host, ec);
    if (ec) return make_error(Errc::kInvalidArgument, "bad listen address " + a.host);
    tcp::endpoint ep(addr, a.port);
    if (first && a.port != 0) MOAT_TRY(probe_free(ep, a));
    tcp::acceptor acc(io);
    acc.open(ep.protocol(), ec);
    if (ec) return make_error(Errc::kIo, "socket: " + ec.message());
    // IPv6 listeners are IPv6 only: IPv4 is configured explicitly, never by mapped addresses.
    if (a.v6) acc.set_option(asio::ip::v6_only(true), ec);
    acc.set_option(tcp::acceptor::reuse_address(true), ec);
    int one = 1;
    // SO_REUSEPORT: one acceptor per worker on the same port; the kernel balances between them.
    ::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    // Defer accept until the client sent something (the ClientHello or request line): fewer
    // wake-ups, and idle port scanners never reach a worker.
    // The kernel holds such a connection up to `defer` seconds (rounded up to its SYN-ACK
    // retransmission steps), then hands it over anyway; keep that within the handshake timeout
    // so a silent client is dropped about when a slow one would be.
    int defer = static_cast<int>(std::max<std::int64_t>(1, handshake_timeout.count() / 2000));
    ::setsockopt(acc.native_handle(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof defer);
    acc.bind(ep, ec);
    if (ec)
        return make_error(Errc::kIo,
                          "bind " + a.host + ":" + std::to_string(a.port) + ": " + ec.message());
    acc.listen(4096, ec);
    if (ec) return make_error(Errc::kIo, "listen: " + ec.message());
    acc.non_blocking(true, ec);
    return acc;
}

asio::awaitable<void> accept_loop(tcp::acceptor* acc, bool tls, WorkerState* w) {
    Shared& sh = *w->shared;
    for (;;) {
        auto [ec, sock] = co_await acc->async_accept(use_nothrow);
        if (sh.draining.load(std::memory_order_relaxed) || !acc->is_open()) co_return;
        if (ec) {
            if (ec == asio::error::operation_aborted) co_return;
            // EMFILE/ENFILE: back off briefly instead of spinning on the listen queue.
            core::logger("edge")->warn("accept failed err={}", ec.message());
            asio::steady_timer t(acc->get_executor(), std::chrono::milliseconds(50));
            co_await t.async_wait(use_nothrow);
            continue;
        }
        // Shed beyond the limit: close at once so existing connections keep their capacity.
        if (sh.live.fetch_add(1, std::memory_order_relaxed) >= sh.settings.max_connections) {
            sh.live.fetch_sub(1, std::memory_order_relaxed);
            if (sh.observer) sh.observer->on_shed();
            asio::error_code ignore;
            sock.close(ignore);
            continue;
        }
        asio::error_code ignore;
        sock.set_option(tcp::no_delay(true), ignore);
        sock.non_blocking(true, ignore);
        auto ex = sock.get_executor();
        if (tls)
            asio::co_spawn(ex, serve_tls_connection(std::move(sock), w), asio::detached);
        else
            asio::co_spawn(ex, serve_plain_connection(std::move(sock), w), asio::detached);
    }
}

}  // namespace

Result<ListenAddr> parse_listen(std::string_view s) {
    ListenAddr a;
    std::string_view port;
    if (!s.empty() && s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return make_error(Errc::kInvalidArgument, "expected [IPv6]:port");
        a.host = std::string(s.substr(1, close - 1));
        a.v6 = true;
        port = s.substr(close + 2);
    } else {
        auto colon = s.rfind(':');
        if (colon == std::string_view::npos || s.find(':') != colon)
            return make_error(Errc::kInvalidArgument, "expected IPv4:port or [IPv6]:port");
        a.host = std::string(s.substr(0, colon));
        port = s.substr(colon + 1);
    }
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc() || p != port.data() + port.size() || v > 65535 || port.empty())
        return make_error(Errc::kInvalidArgument, "bad port '" + std::string(port) + "'");
    a.port = static_cast<std::uint16_t>(v);
    asio::error_code aec;
    auto addr = asio::ip::make_address(a.host, aec);
    if (aec || addr.is_v6() != a.v6)
        return make_error(Errc::kInvalidArgument, "bad address '" + a.host + "'");
    return a;
}

struct Server::Impl {
    Shared shared;
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::uint16_t> https_ports, http_ports;
    std::atomic<bool> stopping{false};
    std::thread stopper;  // waits for connections to drain, then stops the loops
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
    stop();
    if (impl_->stopper.joinable()) impl_->stopper.join();
}

Result<std::unique_ptr<Server>> Server::create(const EdgeSettings& settings,
                                               std::shared_ptr<tls::ServerContext> tls,
                                               std::shared_ptr<Handler> handler,
                                               ExchangeObserver* observer) {
    auto impl = std::make_unique<Impl>();
    impl->shared.settings = settings;
    impl->shared.handler.store(std::move(handler));
    impl->shared.tls.store(std::move(tls));
    impl->shared.observer = observer;

    std::vector<Listener> listeners;
    for (const auto& s : settings.https_listen) {
        auto a = parse_listen(s);
        if (!a)
            return make_error(Errc::kInvalidArgument,
                              "https listen " + s + ": " + a.error().detail);
        listeners.push_back({*a, true});
    }
    for (const auto& s : settings.http_listen) {
        auto a = parse_listen(s);
        if (!a)
            return make_error(Errc::kInvalidArgument, "http listen " + s + ": " + a.error().detail);
        listeners.push_back({*a, false});
    }
    if (!listeners.empty() && !impl->shared.tls.load()) {
        for (const auto& l : listeners)
            if (l.tls) return make_error(Errc::kInvalidArgument, "https listener without TLS");
    }
    int n = settings.workers > 0
                ? settings.workers
                : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 0; i < n; ++i) {
        auto w = std::make_unique<Worker>();
        w->state.index = i;
        w->state.shared = &impl->shared;
        for (auto& l : listeners) {
            auto acc = open_acceptor(w->io, l.addr, i == 0, settings.handshake_timeout);
            if (!acc) return acc.error();
            // Port 0 (tests): every worker must share the port the first one got.
            if (l.addr.port == 0) l.addr.port = acc->local_endpoint().port();
            if (i == 0) (l.tls ? impl->https_ports : impl->http_ports).push_back(l.addr.port);
            w->acceptors.emplace_back(std::move(*acc), l.tls);
        }
        impl->workers.push_back(std::move(w));
    }
    return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::run() {
    for (auto& wp : impl_->workers) {
        Worker* w = wp.get();
        for (auto& [acc, tls] : w->acceptors)
            asio::co_spawn(w->io, accept_loop(&acc, tls, &w->state), asio::detached);
        w->thread = std::thread([w] {
            auto work = asio::make_work_guard(w->io);
            w->io.run();
        });
    }
    for (auto& w : impl_->workers)
        if (w->thread.joinable()) w->thread.join();
}

void Server::stop() {
    if (impl_->stopping.exchange(true)) return;
    impl_->shared.draining.store(true);
    auto deadline = std::chrono::steady_clock::now() + impl_->shared.settings.drain_timeout;
    for (auto& wp : impl_->workers) {
        Worker* w = wp.get();
        asio::post(w->io, [w] {
            for (auto& [acc, tls] : w->acceptors) {
                asio::error_code ignore;
                acc.close(ignore);
            }
            // Idle keep-alive connections close now; busy ones finish their request first.
            for (ConnControl* c : w->state.conns) {
                c->draining = true;
                if (c->idle && c->sock) {
                    asio::error_code ignore;
                    c->sock->cancel(ignore);
                }
            }
        });
    }
    // Wait for the connections to finish, then stop the loops.
    Impl* impl = impl_.get();
    impl->stopper = std::thread([impl, deadline] {
        while (impl->shared.live.load() > 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        for (auto& w : impl->workers) w->io.stop();
    });
}

void Server::set_handler(std::shared_ptr<Handler> h) { impl_->shared.handler.store(std::move(h)); }
void Server::set_tls(std::shared_ptr<tls::ServerContext> t) {
    impl_->shared.tls.store(std::move(t));
}
std::size_t Server::open_connections() const { return impl_->shared.live.load(); }
std::vector<std::uint16_t> Server::https_ports() const { return impl_->https_ports; }
std::vector<std::uint16_t> Server::http_ports() const { return impl_->http_ports; }

}  // namespace moat::edge
