#pragma once
// Compressed variants of released contents (br, zstd, gzip), made once per content ever: the
// first release naming a content compresses it (in parallel, off any request path), stores each
// variant that is smaller as variants/<sha256>.<br|zst|gz> in the variants bucket, and records
// it in the release database; later releases reuse the record. Private to release/. Blocks
// (store reads and writes, compression); one call at a time per VariantMaker.

#include <string>
#include <string_view>
#include <vector>

#include "content/encoding.h"
#include "core/result.h"
#include "release/internal/release_db.h"
#include "release/manifest.h"
#include "release/settings.h"
#include "store/store.h"

namespace moat::release::internal {

// The validators FileCache gives the same bytes (content/internal/file_cache_build.cc), so a
// file keeps its ETag when a site moves from a folder to the store: "\"<token>\"" with the
// token the base64url of the first 16 bytes of the SHA-256, and "\"<token>-br\"",
// "\"<token>-zstd\"", "\"<token>-gz\"" for the variants.
std::string identity_etag(std::string_view sha256_hex);
std::string variant_etag(std::string_view sha256_hex, content::Encoding e);

class VariantMaker {
public:
    // All three must outlive the maker.
    VariantMaker(store::Store& store, ReleaseDb& db, const ReleaseSettings& settings)
        : store_(store), db_(db), settings_(settings) {}

    // Sets the variants of every entry whose type is compressible and whose size is within
    // [min_compress_size, max_compress_file]; others get none. With `verify`, recorded
    // variants whose object is gone from the store (deleted through S3 once no release held it)
    // are made again. Errors: the store's (reading an identity, writing a variant) or the
    // database's; entries are then unchanged.
    Result<void> fill(std::vector<ManifestEntry>& entries, bool verify = false);

private:
    bool eligible(const ManifestEntry& e) const;
    Result<void> ensure_bucket();
    // Compresses one content and stores the variants that are smaller.
    Result<std::vector<VariantRow>> make(const ManifestEntry& e);

    store::Store& store_;
    ReleaseDb& db_;
    const ReleaseSettings& settings_;
    bool bucket_ready_ = false;
};

}  // namespace moat::release::internal
