#pragma once
// The order lock as an object in the store: the record {"owner", "expires", "token"} under one
// key, changed only by conditional PUTs. Taking a free key is a create (If-None-Match: *);
// taking an expired lease, refreshing and releasing are compare-and-swaps on the ETag of the
// record last read or written (If-Match, checked inside the store's commit), so of two
// processes racing for the same record exactly one write lands. Release writes an expired
// record rather than deleting: if our lease ran out and another process took it, our ETag no
// longer matches and the new holder's record stays. The semantics are LeaseLock's (owner,
// expiry, refresh while working); only the storage differs.
//
// Blocking (SQLite); not thread-safe per instance. `store` must outlive the lease.

#include <chrono>
#include <memory>
#include <string>

#include "acme/state_store.h"
#include "core/result.h"

namespace moat::store {
class Store;
}

namespace moat::acme {

class StoreLease : public Lease {
public:
    // Takes the lease in bucket/key for `ttl` if the record is missing, expired, unreadable or
    // already `owner`'s. Errors: kConflict "ACME lock <bucket>/<key> held by <owner> for
    // another N s", or when another process wrote the record between our read and our write;
    // the store's errors otherwise.
    static Result<std::unique_ptr<StoreLease>> acquire(store::Store& store, std::string bucket,
                                                       std::string key, std::string owner,
                                                       std::chrono::seconds ttl, TimePoint now);
    ~StoreLease() override;

    // kConflict "ACME lock lost ..." when the record changed since our last write.
    Result<void> refresh(TimePoint now) override;
    void release() override;

private:
    StoreLease(store::Store& store, std::string bucket, std::string key, std::string owner,
               std::chrono::seconds ttl)
        : store_(store),
          bucket_(std::move(bucket)),
          key_(std::move(key)),
          owner_(std::move(owner)),
          ttl_(ttl) {}
    Result<void> write(long long expires);

    store::Store& store_;
    std::string bucket_;
    std::string key_;
    std::string owner_;
    std::chrono::seconds ttl_;
    std::string etag_;  // of our record as last written; empty: not held
};

}  // namespace moat::acme
