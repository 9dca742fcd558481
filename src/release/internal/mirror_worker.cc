#include "release/internal/mirror_worker.h"

#include "core/log.h"
#include "release/internal/mirror.h"
#include "release/internal/service_impl.h"

namespace moat::release::internal {

void MirrorWorker::start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
}

void MirrorWorker::stop() {
    {
        std::lock_guard lock(mu_);
        if (!running_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    std::lock_guard lock(mu_);
    running_ = false;
}

void MirrorWorker::submit(const std::string& prefix, Manifest m) {
    {
        std::lock_guard lock(mu_);
        if (running_) {
            queue_[prefix] = std::move(m);
            cv_.notify_all();
            return;
        }
    }
    mirror_one(prefix, m);
}

void MirrorWorker::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and everything asked for is done
        auto node = queue_.extract(queue_.begin());
        lock.unlock();
        mirror_one(node.key(), node.mapped());
        lock.lock();
    }
}

void MirrorWorker::mirror_one(const std::string& prefix, const Manifest& m) {
    auto st = mirror(store_, m, kContentBucket, prefix);
    auto log = core::logger("release");
    if (!st)
        log->error("mirror failed site={} prefix={} err={}", m.site, prefix, st.error().detail);
    else
        log->info("mirrored site={} prefix={} copied={} removed={}", m.site, prefix, st->copied,
                  st->removed);
}

}  // namespace moat::release::internal
