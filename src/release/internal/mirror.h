#pragma once
// The S3 view of a release: content/<env>/<site>/ lists exactly the release's files. Private to
// release/. Blocks on the store.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "release/manifest.h"
#include "store/store.h"

namespace moat::release::internal {

// The latest (non-marker) version of every key under bucket/prefix, in key order, all pages.
Result<std::vector<store::ObjectInfo>> list_prefix(store::Store& store, std::string_view bucket,
                                                   std::string_view prefix);

struct MirrorStats {
    std::uint64_t copied = 0, removed = 0;
};

// Makes bucket/prefix show `m`: each entry's version is copied (blobs shared, no data copied) to
// prefix + path unless the latest version there already has its SHA-256; other keys get a delete
// marker (folder placeholders, keys ending in '/', are left alone). Errors: the store's; what
// was done before stays done (running it again finishes the job).
Result<MirrorStats> mirror(store::Store& store, const Manifest& m, std::string_view bucket,
                           std::string_view prefix);

}  // namespace moat::release::internal
