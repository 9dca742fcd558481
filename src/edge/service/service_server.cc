// edge::ServiceServer: the accept thread and the bounded set of connection threads.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <system_error>
#include <thread>

#include "core/log.h"
#include "edge/server.h"
#include "edge/service.h"
#include "edge/service/internal/connection.h"
#include "edge/service/internal/server_state.h"
#include "tls/server_context.h"

namespace moat::edge {
namespace {

using service_internal::PeerInfo;
using service_internal::ServerState;
using service_internal::SocketIo;

// stop() waits this long for connections to finish their current request, then shuts every
// socket down and waits as long again; threads still busy after that (a handler blocked on
// disk) finish on their own, holding the shared state alive.
constexpr auto kStopGrace = std::chrono::milliseconds(2000);
// Threads that answer 503 beyond max_connections; past this, excess connections are closed.
constexpr int kMaxRejecting = 8;

Error sys_error(const std::string& what, int err) {
    return make_error(Errc::kIo, what + ": " + std::strerror(err));
}

std::string ip_of(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    } else if (ss.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
        inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    }
    return buf;
}

std::uint16_t port_of(const sockaddr_storage& ss) {
    if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
    return 0;
}

Result<int> bind_listener(const std::string& text) {
    auto a = parse_listen(text);
    if (!a) return make_error(Errc::kInvalidArgument, "listen " + text + ": " + a.error().detail);
    sockaddr_storage ss{};
    socklen_t len = 0;
    if (a->v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(a->port);
        if (inet_pton(AF_INET6, a->host.c_str(), &s6->sin6_addr) != 1)
            return make_error(Errc::kInvalidArgument, "listen " + text + ": bad address");
        len = sizeof(sockaddr_in6);
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(a->port);
        if (inet_pton(AF_INET, a->host.c_str(), &s4->sin_addr) != 1)
            return make_error(Errc::kInvalidArgument, "listen " + text + ": bad address");
        len = sizeof(sockaddr_in);
    }
    int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_error("listen " + text + ": socket", errno);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->v6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 512) != 0) {
        int e = errno;
        ::close(fd);
        return sys_error("listen " + text, e);
    }
    return fd;
}

// Connection threads never die of SIGPIPE, whatever the process does with the signal:
// writes to a closed peer then fail with EPIPE (OpenSSL writes with write(2), not send()).
void block_sigpipe() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void name_thread(const std::string& base) {
    std::string n = base.substr(0, 15);
    pthread_setname_np(pthread_self(), n.c_str());
}

class ServiceServerImpl final : public ServiceServer {
public:
    ServiceServerImpl(std::shared_ptr<ServerState> state, std::vector<int> fds,
                      std::vector<std::uint16_t> ports, int wake_fd)
        : state_(std::move(state)),
          fds_(std::move(fds)),
          ports_(std::move(ports)),
          wake_(wake_fd) {}

    ~ServiceServerImpl() override {
        stop();
        for (int fd : fds_) ::close(fd);
        ::close(wake_);
    }

    void start() override {
        if (accept_thread_.joinable() || stopped_) return;
        accept_thread_ = std::thread([this] { accept_loop(); });
    }

    void stop() override {
        if (stopped_) return;
        stopped_ = true;
        {
            std::lock_guard lock(state_->mu);
            state_->stopping = true;
            for (auto* c : state_->conns)
                if (c->idle) c->io->shutdown();
        }
        std::uint64_t one = 1;
        (void)!::write(wake_, &one, sizeof one);
        if (accept_thread_.joinable()) accept_thread_.join();
        for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);

        std::unique_lock lock(state_->mu);
        auto drained = [&] { return state_->active == 0 && state_->rejecting == 0; };
        if (!state_->cv.wait_for(lock, kStopGrace, drained)) {
            for (auto* c : state_->conns) c->io->shutdown();
            if (!state_->cv.wait_for(lock, kStopGrace, drained))
                core::logger("edge")->warn("{} stop: {} connection thread(s) still busy",
                                           state_->settings.name, state_->active);
        }
        // Join the threads that ended; one still busy goes on alone, holding the state.
        std::vector<std::thread> done = take_ended(lock);
        for (auto& [id, t] : state_->threads) t.detach();
        state_->threads.clear();
        lock.unlock();
        for (auto& t : done) t.join();
    }

    std::vector<std::uint16_t> ports() const override { return ports_; }

private:
    // Moves out the threads that signalled their end (under the lock), for joining outside it.
    std::vector<std::thread> take_ended(std::unique_lock<std::mutex>&) {
        std::vector<std::thread> out;
        for (auto id : state_->ended) {
            auto it = state_->threads.find(id);
            if (it == state_->threads.end()) continue;
            out.push_back(std::move(it->second));
            state_->threads.erase(it);
        }
        state_->ended.clear();
        return out;
    }

    void reap() {
        std::unique_lock lock(state_->mu);
        std::vector<std::thread> done = take_ended(lock);
        lock.unlock();
        for (auto& t : done) t.join();
    }

    void accept_loop() {
        name_thread(state_->settings.name + "-accept");
        block_sigpipe();
        std::vector<pollfd> pfds;
        for (int fd : fds_) pfds.push_back({fd, POLLIN, 0});
        pfds.push_back({wake_, POLLIN, 0});
        for (;;) {
            int r = ::poll(pfds.data(), pfds.size(), -1);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                core::logger("edge")->error("{} accept poll: {}", state_->settings.name,
                                            std::strerror(errno));
                return;
            }
            if (pfds.back().revents) return;  // stop()
            reap();
            for (std::size_t i = 0; i + 1 < pfds.size(); ++i)
                if (pfds[i].revents) accept_one(pfds[i].fd);
        }
    }

    void accept_one(int lfd) {
        sockaddr_storage peer{};
        socklen_t plen = sizeof peer;
        int fd =
            ::accept4(lfd, reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                // Out of descriptors: back off instead of spinning on the listen queue.
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
            }
            return;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_storage local{};
        socklen_t llen = sizeof local;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen);
        PeerInfo info{ip_of(peer), ip_of(local), port_of(local)};

        SSL* ssl = nullptr;
        if (state_->tls) {
            ssl = SSL_new(state_->tls->native());
            if (!ssl) {
                ::close(fd);
                return;
            }
            SSL_set_fd(ssl, fd);
            SSL_set_accept_state(ssl);
            SSL_set_mode(ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                  SSL_MODE_RELEASE_BUFFERS);
            tls::set_local_address(ssl, info.local_ip);
        }
        auto io = std::make_unique<SocketIo>(fd, ssl);

        bool reject = false;
        {
            std::lock_guard lock(state_->mu);
            if (state_->active >= state_->settings.max_connections) {
                if (state_->rejecting >= kMaxRejecting) return;  // io closes the socket
                reject = true;
                ++state_->rejecting;
            } else {
                ++state_->active;
            }
        }
        auto st = state_;
        auto body = [st, reject, io = std::move(io), info = std::move(info)]() mutable {
            name_thread(st->settings.name + (reject ? "-busy" : "-conn"));
            block_sigpipe();
            if (reject)
                service_internal::reject_connection(st, std::move(io));
            else
                service_internal::serve_connection(st, std::move(io), std::move(info));
            std::lock_guard lock(st->mu);
            --(reject ? st->rejecting : st->active);
            st->ended.push_back(std::this_thread::get_id());
            st->cv.notify_all();
        };
        // The thread is recorded under the lock it takes to signal its end, so it is in
        // `threads` before it can be in `ended`.
        std::lock_guard lock(state_->mu);
        try {
            std::thread t(std::move(body));
            auto id = t.get_id();
            state_->threads.emplace(id, std::move(t));
        } catch (const std::system_error& e) {
            // No thread: the lambda (and with it the socket) is gone; undo the count.
            --(reject ? state_->rejecting : state_->active);
            core::logger("edge")->warn("{} cannot start a connection thread: {}",
                                       state_->settings.name, e.what());
        }
    }

    std::shared_ptr<ServerState> state_;
    std::vector<int> fds_;
    std::vector<std::uint16_t> ports_;
    int wake_;
    std::thread accept_thread_;
    bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<ServiceServer>> ServiceServer::create(
    ServiceSettings settings, std::shared_ptr<tls::ServerContext> tls,
    std::shared_ptr<ServiceHandler> handler) {
    if (!handler) return make_error(Errc::kInvalidArgument, "service server without a handler");
    if (settings.max_connections < 1)
        return make_error(Errc::kInvalidArgument, "max_connections must be at least 1");
    std::vector<int> fds;
    std::vector<std::uint16_t> ports;
    auto close_all = [&] {
        for (int fd : fds) ::close(fd);
    };
    for (const auto& l : settings.listen) {
        auto fd = bind_listener(l);
        if (!fd) {
            close_all();
            return fd.error();
        }
        fds.push_back(*fd);
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        ::getsockname(*fd, reinterpret_cast<sockaddr*>(&ss), &len);
        ports.push_back(port_of(ss));
    }
    int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake < 0) {
        close_all();
        return sys_error("eventfd", errno);
    }
    auto state = std::make_shared<ServerState>();
    state->settings = std::move(settings);
    state->tls = std::move(tls);
    state->handler = std::move(handler);
    return std::unique_ptr<ServiceServer>(
        new ServiceServerImpl(std::move(state), std::move(fds), std::move(ports), wake));
}

}  // namespace moat::edge
