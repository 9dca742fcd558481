#include "store/lifecycle_job.h"

#include "core/log.h"

namespace moat::store {

void LifecycleJob::start() {
    if (thread_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stop_ = false;
    }
    thread_ = std::thread([this] { run(); });
}

void LifecycleJob::stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

int LifecycleJob::passes() const {
    std::lock_guard lock(mu_);
    return passes_;
}

void LifecycleJob::run() {
    auto log = core::logger("store");
    for (;;) {
        if (auto r = store_.apply_lifecycle(Clock::now()); !r)
            log->warn("lifecycle pass failed err=\"{}\"", r.error().detail);
        auto gc = store_.collect_garbage();
        if (!gc)
            log->warn("garbage collection failed err=\"{}\"", gc.error().detail);
        else if (*gc > 0)
            log->info("garbage collected blobs={}", *gc);
        std::unique_lock lock(mu_);
        ++passes_;
        if (cv_.wait_for(lock, interval_, [this] { return stop_; })) return;
    }
}

}  // namespace moat::store
