#pragma once
// Settings of the release part: a plain struct filled by config/ (STYLE.md §2), no logic.

#include <chrono>
#include <cstdint>
#include <string>

namespace moat::release {

struct ReleaseSettings {
    // On when any site environment is served from the store (config sets it).
    bool enabled = false;
    std::string db_path;  // SQLite file of releases and pointers: <store dir>/releases.db
    // Releases kept per (site, environment): the last `keep` releases each environment
    // pointed at, plus any release an environment points at now. Older ones are pruned: their
    // holds dropped, so lifecycle rules may expire their object versions.
    int keep = 10;
    // S3 writes under content/<env>/<site>/ become a new release of that environment once no
    // further write came for `settle` (bounded by `settle_max` after the first write), so a
    // `aws s3 sync` of many files makes one release, served within about 2 seconds.
    std::chrono::milliseconds settle{400};
    std::chrono::milliseconds settle_max{1500};
    // Environments that only change by promotion or rollback (never by an S3 upload or a
    // deploy), and that need approvals.
    std::string protected_env = "production";
    // Bucket (made on first use, versioning off) holding the compressed variants of released
    // objects: variants/<sha256>.<br|zst|gz>. S3 keys see it only with a grant naming it.
    std::string variants_bucket = "moat-releases";
    // Bodies of served releases: up to max_memory_file each, up to memory_budget in total,
    // are held in memory; larger ones are decrypted into unlinked temporary files in
    // cache_dir (O_TMPFILE: gone when the last response using them ends).
    std::uint64_t max_memory_file = 1ull << 20;
    std::uint64_t memory_budget = 256ull << 20;
    std::string cache_dir;  // <data_dir>/cache
    // Variants are made for compressible types between these sizes, kept only when smaller.
    std::uint64_t min_compress_size = 256;
    std::uint64_t max_compress_file = 16ull << 20;
    int brotli_level = 11, zstd_level = 19, gzip_level = 9;
    int compress_threads = 2;
};

}  // namespace moat::release
