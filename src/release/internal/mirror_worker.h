#pragma once
// Runs the S3 view's mirror (mirror.h) of a promotion or rollback after the call answered: the
// pointer move is what visitors see and takes milliseconds, while mirroring a first promotion
// of a large site is one Store::copy per file (seconds). Latest request per prefix wins; stop()
// finishes what is queued. Not started (unit tests, offline tools): submit() mirrors at once.
// Private to release/.

#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "release/manifest.h"
#include "store/store.h"

namespace moat::release::internal {

class MirrorWorker {
public:
    explicit MirrorWorker(store::Store& store) : store_(store) {}
    ~MirrorWorker() { stop(); }
    MirrorWorker(const MirrorWorker&) = delete;
    MirrorWorker& operator=(const MirrorWorker&) = delete;

    void start();
    void stop();
    // Mirrors `m` under content/`prefix` (now, or on the worker's thread once started).
    void submit(const std::string& prefix, Manifest m);

private:
    void run();
    void mirror_one(const std::string& prefix, const Manifest& m);

    store::Store& store_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, Manifest> queue_;  // prefix -> the latest manifest asked for
    bool running_ = false, stopping_ = false;
    std::thread thread_;
};

}  // namespace moat::release::internal
