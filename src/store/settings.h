#pragma once
// Settings of the store part: a plain struct filled by config/ (STYLE.md §2), no logic.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace moat::store {

struct StoreSettings {
    bool enabled = false;
    std::string dir;              // the store's folder (config: <data_dir>/store)
    std::string master_key_file;  // empty: <dir>/master.key, created 0600 on first start
    bool default_buckets = true;  // create `content` and `logs` on first start
    // Length of a lifecycle "day"; tests shorten it so rules fire in seconds.
    std::chrono::seconds day{86400};
    std::chrono::seconds lifecycle_interval{3600};  // LifecycleJob period
    // Objects up to this size live (encrypted) in the SQLite row instead of a blob file: one
    // fsync (the WAL commit) per small PUT instead of three. 0: a file for all but empty ones.
    std::size_t inline_max = 16 * 1024;
    // Temp files and blob files without metadata older than this are swept by
    // collect_garbage (a crash between rename and commit leaves such files; younger ones may
    // belong to a PUT in flight in another thread or process).
    std::chrono::seconds orphan_grace{3600};
    int busy_timeout_ms = 10000;  // SQLite busy_timeout
    // Blob writes fail with kNoSpace once the file system would have less than this free, so
    // metadata (deletes, GC, SQLite's WAL) can still be written to recover from a full disk.
    std::uint64_t min_free_bytes = 64ull << 20;
    // Decrypted plaintext of hot large (file) blobs kept in memory, so a popular object is not
    // decrypted on every GET (internal/plain_cache.h says why that is acceptable): the byte
    // budget and the largest object kept. A budget of 0 turns it off.
    std::size_t plain_cache_bytes = 64u << 20;
    std::size_t plain_cache_max_object = 8u << 20;
};

}  // namespace moat::store
