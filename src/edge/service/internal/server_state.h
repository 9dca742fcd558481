#pragma once
// What the accept thread, the connection threads and stop() share. Connection threads hold a
// shared_ptr to it, so a thread that outlives stop()'s bounded wait never touches freed memory.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "edge/service.h"
#include "edge/service/internal/socket_io.h"

namespace moat::tls {
class ServerContext;
}

namespace moat::edge::service_internal {

// One live connection as stop() sees it.
struct ConnSlot {
    SocketIo* io = nullptr;
    bool idle = false;  // waiting for the first byte of a request: safe to shut down
};

struct ServerState {
    ServiceSettings settings;
    std::shared_ptr<tls::ServerContext> tls;
    std::shared_ptr<ServiceHandler> handler;

    std::mutex mu;
    std::condition_variable cv;  // signalled when a thread ends
    bool stopping = false;
    int active = 0;     // connection threads
    int rejecting = 0;  // threads answering 503 beyond max_connections
    std::unordered_set<ConnSlot*> conns;
    // Every connection thread, joinable: one that has signalled its end still runs its last
    // steps (its captures, OpenSSL's per-thread state) until joined, so stop() joins them and
    // a stopped server leaves no thread behind. `ended` are those the accept thread may reap.
    std::unordered_map<std::thread::id, std::thread> threads;
    std::vector<std::thread::id> ended;

    // Marks the slot idle unless the server is stopping; false: the connection must end.
    bool enter_idle(ConnSlot& s) {
        std::lock_guard lock(mu);
        if (stopping) return false;
        s.idle = true;
        return true;
    }
    void leave_idle(ConnSlot& s) {
        std::lock_guard lock(mu);
        s.idle = false;
    }
    bool is_stopping() {
        std::lock_guard lock(mu);
        return stopping;
    }
};

}  // namespace moat::edge::service_internal
