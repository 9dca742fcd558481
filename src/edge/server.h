#pragma once
// The edge server: one event loop (asio::io_context) per worker thread, each with its own
// SO_REUSEPORT acceptor on every listen address so the kernel spreads connections and a
// connection stays on the worker that accepted it for life. HTTPS listeners speak TLS and offer
// h2 and http/1.1 by ALPN; HTTP listeners speak HTTP/1.1 in clear text.
//
// Threading: create() and run() on the main thread; set_handler() and set_tls() from any thread
// (atomic snapshot swaps: connections pick up the new snapshot on their next request or
// handshake); stop() from any thread (signal handlers post to it).

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "edge/conn.h"
#include "edge/handler.h"
#include "edge/settings.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace moat::tls {
class ServerContext;
}

namespace moat::edge {

// Parses "1.2.3.4:443" or "[::1]:443".
struct ListenAddr {
    std::string host;
    std::uint16_t port = 0;
    bool v6 = false;
};
Result<ListenAddr> parse_listen(std::string_view s);

class Server {
public:
    // Binds every listener now (so errors such as EADDRINUSE surface before start-up finishes).
    static Result<std::unique_ptr<Server>> create(const EdgeSettings& settings,
                                                  std::shared_ptr<tls::ServerContext> tls,
                                                  std::shared_ptr<Handler> handler,
                                                  ExchangeObserver* observer);
    ~Server();

    // Runs the workers; returns after stop() finished draining.
    void run();
    // Stops accepting, lets in-flight requests finish (up to drain_timeout), then returns from
    // run(). Safe from any thread, idempotent.
    void stop();

    void set_handler(std::shared_ptr<Handler> h);
    void set_tls(std::shared_ptr<tls::ServerContext> tls);

    std::size_t open_connections() const;
    // The ports actually bound (useful with port 0 in tests), HTTPS first.
    std::vector<std::uint16_t> https_ports() const;
    std::vector<std::uint16_t> http_ports() const;

    struct Impl;

private:
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace moat::edge
