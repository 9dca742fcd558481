#pragma once
// Whole small objects in and out of the store, for the ACME state (a few KiB each).

#include <string>
#include <string_view>

#include "core/result.h"
#include "store/store.h"

namespace moat::acme::internal {

struct StoredObject {
    store::ObjectInfo info;  // etag is the compare-and-swap token
    std::string data;
};

// The latest version of bucket/key. kNotFound (store reasons kNoSuchKey, kDeleteMarker) when
// there is none; kIo when the object is larger than `limit` or reads short.
Result<StoredObject> get_object(store::Store& store, std::string_view bucket, std::string_view key,
                                std::size_t limit = 1 << 20);

// PUT of `data` with `opts` (If-None-Match / If-Match); returns the new version's info.
Result<store::ObjectInfo> put_object(store::Store& store, std::string_view bucket,
                                     std::string_view key, std::string_view data,
                                     store::PutOptions opts);

// A failed conditional PUT (kPreconditionFailed, or kNoSuchKey for If-Match on a missing key).
bool lost_race(const Error& e);

}  // namespace moat::acme::internal
