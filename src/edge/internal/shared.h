#pragma once
// State shared by the server and its connections (edge-internal).

#include <asio/ip/tcp.hpp>
#include <atomic>
#include <memory>
#include <unordered_set>

#include "edge/conn.h"
#include "edge/handler.h"
#include "edge/settings.h"

namespace moat::tls {
class ServerContext;
}

namespace moat::edge {

// Read by every worker; swapped atomically by reload.
struct Shared {
    EdgeSettings settings;
    std::atomic<std::shared_ptr<Handler>> handler;
    std::atomic<std::shared_ptr<tls::ServerContext>> tls;
    ExchangeObserver* observer = nullptr;
    std::atomic<std::size_t> live{0};
    std::atomic<bool> draining{false};
};

// How the server reaches a live connection to drain it.
struct ConnControl {
    asio::ip::tcp::socket* sock = nullptr;
    bool idle = true;       // waiting for a request: safe to close at once when draining
    bool draining = false;  // finish the current request, then close
};

// One per worker thread; only that thread touches it.
struct WorkerState {
    int index = 0;
    Shared* shared = nullptr;
    std::unordered_set<ConnControl*> conns;
};

// RAII registration of a connection with its worker and the global count.
class ConnGuard {
public:
    ConnGuard(WorkerState& w, ConnControl& c) : w_(w), c_(c) {
        w_.conns.insert(&c_);
        if (w_.shared->observer) w_.shared->observer->on_connection(true);
    }
    ~ConnGuard() {
        w_.conns.erase(&c_);
        w_.shared->live.fetch_sub(1, std::memory_order_relaxed);
        if (w_.shared->observer) w_.shared->observer->on_connection(false);
    }
    ConnGuard(const ConnGuard&) = delete;
    ConnGuard& operator=(const ConnGuard&) = delete;

private:
    WorkerState& w_;
    ConnControl& c_;
};

}  // namespace moat::edge
