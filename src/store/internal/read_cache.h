#pragma once
// What open_object and head learn from SQLite about a version (its record, its blobs with the
// data keys unsealed, small blobs' sealed bytes), kept for the next GET of the same name: a
// small GET otherwise spends most of its time in SQLite (read transaction, index lookup, the
// row's overflow pages) and unsealing the data key, several times what decrypting 4 KiB costs.
//
// Validity: every entry carries the Pool::writes() count loaded before the read transaction
// that produced it, and is served only while the count is still the same, i.e. no write
// transaction of this process ended since (LocalStore's contract: the server is the only
// writer of objects). Any write (PUT, DELETE, lifecycle, GC, key rotation) therefore retires
// the whole cache at once: simple, and obviously never stale; a read-mostly store (sites
// served from releases) keeps it warm. Cached blobs keep their ciphertext: a GET still
// decrypts and checks every chunk. Data keys are wiped when the last user of an entry drops it
// (why holding them is acceptable: key_cache.h). Bounded by entries and bytes, LRU.
//
// A name is kept the second time it is read, not the first: a pass over many names read once
// (a sync, a backup check, the first GETs after a write) then neither evicts the hot names nor
// pays for copying records into fresh heap memory (measured: that made a miss cost 12 -> 17 us
// of CPU on a 4 KiB GET, more than the lookup it would save). Thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/internal/blob.h"
#include "store/store.h"

namespace moat::store::internal {

// One version (not a delete marker) ready to read; immutable once built.
struct ResolvedVersion {
    ObjectInfo info;
    std::vector<BlobRef> refs;        // segments in order
    std::vector<std::int64_t> blobs;  // their blob rows (pinned while a reader lives)
    std::size_t bytes() const;        // memory it holds, roughly
};

class ReadCache {
public:
    ReadCache(std::size_t max_entries, std::size_t max_bytes)
        : max_entries_(max_entries), max_bytes_(max_bytes) {}
    ReadCache(const ReadCache&) = delete;

    // The entry for (bucket, key, version_id; empty: the latest) if it was made while the
    // write count was `writes`, else null.
    std::shared_ptr<const ResolvedVersion> get(std::string_view bucket, std::string_view key,
                                               std::string_view version_id, std::uint64_t writes);
    // Keeps `v`, read from SQLite after the write count was `writes` (ignored when writes
    // have ended since: `v` may be stale already), if the name was offered before at this
    // write count (see above).
    void put(std::string_view bucket, std::string_view key, std::string_view version_id,
             std::uint64_t writes, std::shared_ptr<const ResolvedVersion> v);
    std::size_t size() const;

private:
    struct Entry {
        std::string name;
        std::shared_ptr<const ResolvedVersion> v;
        std::size_t bytes;
    };
    void clear_locked();

    std::size_t max_entries_, max_bytes_;
    mutable std::mutex mu_;
    std::uint64_t writes_ = 0;  // the write count every entry was made at
    std::size_t bytes_ = 0;
    std::list<Entry> lru_;  // most recently used first
    std::unordered_map<std::string_view, std::list<Entry>::iterator> index_;  // views of names
    std::unordered_set<std::size_t> seen_;  // hashes of names offered once, not kept yet
};

}  // namespace moat::store::internal
