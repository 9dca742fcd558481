#pragma once
// Process metrics in the Prometheus text exposition format 0.0.4. Counting is a relaxed atomic
// add on a per-thread shard (no lock, no shared cache line between workers); render() sums the
// shards when scraped. Label values are bounded by construction: sites come from the config, and
// requests for unknown hosts count under site="_other" (an attacker choosing Host headers must
// not be able to create series; see caddyserver/caddy#7304).

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace moat::edge {

namespace metrics_detail {
inline constexpr unsigned kShards = 16;  // power of two; workers beyond 16 share shards
unsigned assign_shard();
// The calling thread's shard, fixed on its first use (round robin over kShards).
inline unsigned shard() {
    static thread_local const unsigned s = assign_shard();
    return s;
}
}  // namespace metrics_detail

// The counters of one (site, environment). Created by Metrics::site(); never freed, so the
// pointer may be kept in a config snapshot and used from any thread without locking.
class SiteCounters {
public:
    // One answered request. status: the HTTP status, 0 when the client left before the response
    // started (counted as code_class="000"). bytes: bytes sent to the client.
    void count_request(int status, std::uint64_t bytes) {
        Shard& s = shards_[metrics_detail::shard()];
        unsigned cls = (status >= 100 && status < 600) ? static_cast<unsigned>(status / 100) : 0;
        s.requests[cls].fetch_add(1, std::memory_order_relaxed);
        s.bytes.fetch_add(bytes, std::memory_order_relaxed);
    }

    const std::string& name() const { return name_; }
    const std::string& env() const { return env_; }

    // Sums over all threads (for render() and tests).
    std::uint64_t requests(int code_class) const;  // code_class 0 ("000"), 1 .. 5
    std::uint64_t response_bytes() const;

    SiteCounters(std::string name, std::string env)
        : name_(std::move(name)), env_(std::move(env)) {}
    SiteCounters(const SiteCounters&) = delete;
    SiteCounters& operator=(const SiteCounters&) = delete;

private:
    struct alignas(64) Shard {
        std::atomic<std::uint64_t> requests[6]{};  // index: status / 100, 0 for no status
        std::atomic<std::uint64_t> bytes{0};
    };
    const std::string name_;
    const std::string env_;
    Shard shards_[metrics_detail::kShards];
};

// Why a TLS handshake failed; a fixed set so the reason label stays bounded.
enum class TlsFailure : std::uint8_t {
    kTimeout,      // no complete handshake within the handshake timeout
    kProtocol,     // malformed ClientHello, no shared version, cipher or ALPN protocol
    kUnknownName,  // SNI names no site we have a certificate for
    kPeerAlert,    // the client aborted (e.g. it rejected our certificate)
    kOther,
};
inline constexpr std::size_t kTlsFailureKinds = 5;

// The metrics of the process. One instance, created by app/ before the workers and shared by
// all of them; it must outlive every thread that counts. Counting functions are thread-safe,
// lock-free and never block. site(), add_gauge(), add_counter() and render() take a mutex (start,
// reload and scrapes only).
class Metrics {
public:
    // max_sites bounds the (site, env) pairs, counting every name seen over all reloads; beyond
    // it, site() returns other() rather than grow.
    explicit Metrics(std::size_t max_sites = 4096);
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;
    ~Metrics();

    // The counters of a configured site, created on first call; the same pointer for the same
    // (name, env) ever after. Call at start and on reload, not per request. env may be empty.
    SiteCounters* site(std::string_view name, std::string_view env);
    // The counters for requests whose Host matches no configured site: site="_other".
    SiteCounters* other() { return other_; }

    void connection_opened() {
        auto& s = shard();
        s.open.fetch_add(1, std::memory_order_relaxed);
        s.connections.fetch_add(1, std::memory_order_relaxed);
    }
    void connection_closed() { shard().open.fetch_sub(1, std::memory_order_relaxed); }
    // A connection refused or closed at once because max_connections was reached.
    void connection_shed() { shard().shed.fetch_add(1, std::memory_order_relaxed); }
    void tls_handshake_ok() { shard().handshakes.fetch_add(1, std::memory_order_relaxed); }
    void tls_handshake_failed(TlsFailure why) {
        shard().handshake_failures[static_cast<std::size_t>(why)].fetch_add(
            1, std::memory_order_relaxed);
    }
    void cache_hit() { shard().cache_hits.fetch_add(1, std::memory_order_relaxed); }
    void cache_miss() { shard().cache_misses.fetch_add(1, std::memory_order_relaxed); }

    // moat_access_log_dropped_total reads this (e.g. AccessLog::dropped); 0 until set. The
    // function is called from render() on the scraping thread, and whatever it reads must
    // outlive this object or be replaced first.
    void set_access_log_dropped(std::function<std::uint64_t()> read);

    using Labels = std::vector<std::pair<std::string, std::string>>;
    // Extension points for other parts (certificate expiry, store size, ACME renewals ...): a
    // series whose value read() returns at scrape time, on the scraping thread, under this
    // object's mutex: read() must be thread-safe, quick, and must not call back into Metrics.
    // Several series may share a name if they differ in labels and agree on help and type.
    // Errors: kInvalidArgument for a bad metric or label name; kConflict when the name is a
    // built-in metric, has another type or help, or the label set is already registered.
    Result<void> add_gauge(std::string name, std::string help, std::function<double()> read,
                           Labels labels = {});
    Result<void> add_counter(std::string name, std::string help, std::function<double()> read,
                             Labels labels = {});

    // The whole exposition, "# HELP" / "# TYPE" lines and series, '\n'-terminated.
    std::string render() const;

    // The Content-Type for the response that carries render().
    static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

private:
    struct alignas(64) Shard {
        std::atomic<std::int64_t> open{0};
        std::atomic<std::uint64_t> connections{0};
        std::atomic<std::uint64_t> shed{0};
        std::atomic<std::uint64_t> handshakes{0};
        std::atomic<std::uint64_t> handshake_failures[kTlsFailureKinds]{};
        std::atomic<std::uint64_t> cache_hits{0};
        std::atomic<std::uint64_t> cache_misses{0};
    };
    struct Family {
        std::string help;
        const char* type;
        std::vector<std::pair<std::string, std::function<double()>>> series;  // rendered labels
    };

    Shard& shard() { return shards_[metrics_detail::shard()]; }
    template <class F>
    std::uint64_t sum(F field) const;
    Result<void> add(std::string name, std::string help, const char* type,
                     std::function<double()> read, Labels labels);

    Shard shards_[metrics_detail::kShards];
    const std::size_t max_sites_;
    mutable std::mutex mu_;  // guards the members below
    std::map<std::pair<std::string, std::string>, std::unique_ptr<SiteCounters>> sites_;
    SiteCounters* other_;  // owned by sites_
    std::function<std::uint64_t()> access_log_dropped_;
    std::map<std::string, Family> extra_;
};

}  // namespace moat::edge
