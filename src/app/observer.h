#pragma once
// EdgeObserver: what happens to every exchange and connection after the edge is done with it:
// Prometheus counters and the CloudFront-format access log. Called on worker threads; the
// access log's submit() formats the line into the worker's own batch and never waits for I/O
// (the writer thread compresses and writes).

#include <memory>

#include "edge/access_log.h"
#include "edge/conn.h"
#include "edge/metrics.h"

namespace moat::app {

class EdgeObserver : public edge::ExchangeObserver {
public:
    // log may be null (no access logs). Both must outlive the observer.
    EdgeObserver(edge::Metrics& metrics, edge::AccessLog* log) : metrics_(metrics), log_(log) {}

    void on_exchange(const edge::ConnInfo& conn, const edge::Request& req,
                     const edge::Response& res, std::uint64_t bytes_sent,
                     std::chrono::steady_clock::time_point start, bool completed) override;
    void on_connection(bool opened) override;
    void on_shed() override;
    void on_handshake(bool ok, std::string_view reason) override;

private:
    edge::Metrics& metrics_;
    edge::AccessLog* log_;
};

}  // namespace moat::app
