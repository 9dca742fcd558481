#include "acme/internal/store_io.h"

#include <algorithm>

#include "store/memory_body.h"

namespace moat::acme::internal {

Result<StoredObject> get_object(store::Store& store, std::string_view bucket, std::string_view key,
                                std::size_t limit) {
    auto r = store.open_object(bucket, key);
    if (!r) return r.error();
    StoredObject out;
    out.info = (*r)->info();
    if (out.info.size > limit)
        return make_error(Errc::kIo, std::string(bucket) + "/" + std::string(key) +
                                         ": larger than " + std::to_string(limit) + " bytes");
    out.data.resize(out.info.size);
    std::uint64_t at = 0;
    while (at < out.info.size) {
        auto n = (*r)->read_at(at, out.data.data() + at, out.info.size - at);
        if (!n) return n.error();
        if (*n == 0) break;
        at += *n;
    }
    if (at != out.info.size)
        return make_error(Errc::kIo, std::string(bucket) + "/" + std::string(key) + ": short read");
    return out;
}

Result<store::ObjectInfo> put_object(store::Store& store, std::string_view bucket,
                                     std::string_view key, std::string_view data,
                                     store::PutOptions opts) {
    opts.expected_size = data.size();
    store::MemoryBody body(data);
    return store.put(bucket, key, body, opts);
}

bool lost_race(const Error& e) {
    auto r = store::reason_of(e);
    return r == store::Reason::kPreconditionFailed || r == store::Reason::kNoSuchKey;
}

}  // namespace moat::acme::internal
