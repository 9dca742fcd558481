#pragma once
// A lock with expiry in a file, so that of several moat processes sharing <data_dir>/acme only
// one orders certificates at a time. The file holds "<owner> <expiry unix seconds>"; flock(2)
// only guards the read-modify-write of that line (milliseconds), the lease itself is the
// expiry: a holder that dies leaves a lease that runs out, a live holder refreshes it while it
// works. The folder state's lock; with a store, StoreLease keeps the same record as an object
// changed by conditional PUTs (store_lease.h). The Manager sees either as a Lease.
//
// Blocking file I/O; not thread-safe per instance. Release happens in the destructor too.

#include <chrono>
#include <string>

#include "core/result.h"

namespace moat::acme {

class LeaseLock {
public:
    using TimePoint = std::chrono::system_clock::time_point;

    // Takes the lease at `path` for `ttl` if it is free, expired or already ours.
    // Errors: kConflict "held by <owner> for another N s"; kIo for file problems.
    static Result<LeaseLock> acquire(const std::string& path, const std::string& owner,
                                     std::chrono::seconds ttl, TimePoint now);
    LeaseLock(LeaseLock&& o) noexcept;
    LeaseLock& operator=(LeaseLock&&) = delete;
    LeaseLock(const LeaseLock&) = delete;
    ~LeaseLock();

    // Extends the lease to now + ttl. kConflict when someone else took it (ours expired).
    Result<void> refresh(TimePoint now);
    // Gives the lease up if it is still ours.
    void release();

    // "<hostname>:<pid>:<random>", unique per process.
    static std::string default_owner();

private:
    LeaseLock(std::string path, std::string owner, std::chrono::seconds ttl)
        : path_(std::move(path)), owner_(std::move(owner)), ttl_(ttl) {}
    std::string path_;
    std::string owner_;
    std::chrono::seconds ttl_;
    bool held_ = false;
};

}  // namespace moat::acme
