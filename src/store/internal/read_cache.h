#pragma once
// What open_object and head learn from SQLite about a version (its record, its blobs with the
// data keys unsealed, small blobs' sealed bytes), kept for the next GET of the same name: a
// small GET otherwise spends most of its time in SQLite (read transaction, index lookup, the
// row's overflow pages) and unsealing the data key, several times what decrypting 4 KiB costs.
//
// Validity: every entry carries the Stamp (WriteClock counts, db.h) loaded before the read
// transaction that produced it: the global count and the count of its name's stripe. It is
// served only while both are unchanged, i.e. no write transaction of this process that changed
// that name (or that did not say which names it changed: lifecycle, GC, key rotation ...) has
// ended since. So a PUT of one key leaves every other cached name valid. A writer may install
// the version it just committed (install()), stamped with the counts it saw around its own
// commit (LocalStore::install_written), so the first GET after a PUT is a hit too.
//
// Other processes: every write transaction another process ends counts in the store's shared
// clock (shared_clock.h), and any change of that sum retires every entry (another process's
// writes do not say which names they changed), so a GET never serves what another process
// replaced before the GET began.
//
// Cached blobs keep their ciphertext: a GET still decrypts and checks every chunk. Data keys
// are wiped when the last user of an entry drops it (why holding them is acceptable:
// key_cache.h). Bounded by entries and bytes, LRU, in 16 shards (each its own lock: a GET
// takes one shard's mutex for a lookup, so readers of different names rarely meet).
//
// A name a reader offers is kept the second time it is offered, not the first: a pass over many
// names read once (a sync, a backup check) then neither evicts the hot names nor pays for
// copying records into fresh heap memory (measured: that made a miss cost 12 -> 17 us of CPU
// on a 4 KiB GET, more than the lookup it would save). Thread-safe.

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

// The hash that picks a (bucket, key) name's WriteClock stripe and cache shard.
std::size_t name_hash(std::string_view bucket, std::string_view key);

// Write counts (db.h WriteClock, shared_clock.h) that an entry is valid at.
struct Stamp {
    std::uint64_t global = 0;   // this process's writes that named no key
    std::uint64_t name = 0;     // this process's writes of names in the entry's stripe
    std::uint64_t foreign = 0;  // other processes' writes
    bool operator==(const Stamp& o) const {
        return global == o.global && name == o.name && foreign == o.foreign;
    }
};

class ReadCache {
public:
    ReadCache(std::size_t max_entries, std::size_t max_bytes);
    ReadCache(const ReadCache&) = delete;

    // The entry for (bucket, key, version_id; empty: the latest) if it was made at `now` (the
    // counts loaded just before), else null (and a stale entry is dropped).
    std::shared_ptr<const ResolvedVersion> get(std::string_view bucket, std::string_view key,
                                               std::string_view version_id, Stamp now);
    // Keeps `v`, read from SQLite after the counts were `at`, if the name was offered before
    // (see above). An entry stamped with counts that have moved on since is never served.
    void put(std::string_view bucket, std::string_view key, std::string_view version_id, Stamp at,
             std::shared_ptr<const ResolvedVersion> v);
    // Keeps `v` at once: the version a writer just committed, valid at `at`.
    void install(std::string_view bucket, std::string_view key, std::string_view version_id,
                 Stamp at, std::shared_ptr<const ResolvedVersion> v);
    std::size_t size() const;
    std::uint64_t hits() const;  // get() calls that returned an entry (tests, diagnostics)

private:
    struct Entry {
        std::string name;
        Stamp stamp;
        std::shared_ptr<const ResolvedVersion> v;
        std::size_t bytes;
    };
    struct Shard {
        mutable std::mutex mu;
        std::size_t bytes = 0;
        std::uint64_t hits = 0;
        std::list<Entry> lru;  // most recently used first
        std::unordered_map<std::string_view, std::list<Entry>::iterator> index;  // views of names
        std::unordered_set<std::size_t> seen;  // hashes of names offered once, not kept yet
        void drop(std::list<Entry>::iterator it);
    };
    static constexpr std::size_t kMaxShards = 16;
    Shard& shard_of(std::string_view bucket, std::string_view key);

    void keep(std::string_view bucket, std::string_view key, std::string_view version_id, Stamp at,
              std::shared_ptr<const ResolvedVersion> v, bool admit_now);

    std::size_t shards_;  // 16, or 1 for a small cache (exact LRU order, as tests expect)
    std::size_t shard_entries_, shard_bytes_, max_entry_bytes_;
    std::unique_ptr<Shard[]> shard_;
};

}  // namespace moat::store::internal
