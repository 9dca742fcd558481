#pragma once
// Turns bursts of S3 writes into one release per environment: mark() records a write to
// (site, env); once no write came for `settle` (or `settle_max` passed since the first of the
// burst), the callback runs on the settler's thread. Private to release/. mark() is cheap and
// thread-safe; start()/stop() from one control thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

namespace moat::release::internal {

class Settler {
public:
    using Callback = std::function<void(const std::string& site, const std::string& env)>;
    Settler(std::chrono::milliseconds settle, std::chrono::milliseconds settle_max, Callback cb)
        : settle_(settle), settle_max_(settle_max), cb_(std::move(cb)) {}
    ~Settler() { stop(); }

    void start();
    void stop();  // pending marks are dropped (the next start-up's set_sites sees the prefix)
    void mark(const std::string& site, const std::string& env);

private:
    using Steady = std::chrono::steady_clock;
    struct Burst {
        Steady::time_point first, last;
    };
    void run();

    const std::chrono::milliseconds settle_, settle_max_;
    Callback cb_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::pair<std::string, std::string>, Burst> dirty_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace moat::release::internal
