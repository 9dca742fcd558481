#include "release/internal/settler.h"

namespace moat::release::internal {

void Settler::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void Settler::stop() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void Settler::mark(const std::string& site, const std::string& env) {
    auto now = Steady::now();
    {
        std::lock_guard lock(mu_);
        auto [it, fresh] = dirty_.try_emplace({site, env}, Burst{now, now});
        if (!fresh) it->second.last = now;
    }
    cv_.notify_all();
}

void Settler::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (dirty_.empty()) {
            cv_.wait(lock);
            continue;
        }
        auto now = Steady::now();
        auto due = Steady::time_point::max();
        auto ready = dirty_.end();
        for (auto it = dirty_.begin(); it != dirty_.end(); ++it) {
            auto at = std::min(it->second.last + settle_, it->second.first + settle_max_);
            if (at <= now) {
                ready = it;
                break;
            }
            due = std::min(due, at);
        }
        if (ready == dirty_.end()) {
            cv_.wait_until(lock, due);
            continue;
        }
        auto [site, env] = ready->first;
        dirty_.erase(ready);
        // Writes during the callback mark the environment again: another release follows.
        lock.unlock();
        cb_(site, env);
        lock.lock();
    }
}

}  // namespace moat::release::internal
