#pragma once
// LifecycleJob: a background thread that runs Store::apply_lifecycle and then
// Store::collect_garbage every settings.lifecycle_interval (and once right after start).
// Owned by the app next to the Store it was given; the Store must outlive it. start() and
// stop() from one thread; stop() waits for a pass in progress to finish. Errors are logged
// (logger "store") and the next pass tries again.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace moat::store {

class LifecycleJob {
public:
    LifecycleJob(Store& store, std::chrono::seconds interval)
        : store_(store), interval_(interval) {}
    ~LifecycleJob() { stop(); }
    LifecycleJob(const LifecycleJob&) = delete;

    void start();
    void stop();
    // Passes finished so far (tests wait on it).
    int passes() const;

private:
    void run();

    Store& store_;
    std::chrono::seconds interval_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    int passes_ = 0;
    std::thread thread_;
};

}  // namespace moat::store
