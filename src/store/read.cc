// LocalStore: HEAD and GET of objects, the store's hot read path. A GET resolves the name to a
// version record with its blobs' unsealed data keys (read_cache_, else one SQLite statement),
// pins the blobs against garbage collection and decrypts chunks as the caller reads, or copies
// (read_at) or lends (view) a hot large blob's plaintext from plain_cache_.
#include <algorithm>
#include <cstring>
#include <optional>

#include "store/internal/crypto.h"
#include "store/internal/names.h"
#include "store/local_store.h"

namespace moat::store {
namespace {

std::string blob_key_aad(std::string_view hash_hex) {
    return "moat blob data key " + std::string(hash_hex);
}

// Reads a version's plaintext across its segments; pins the blobs against garbage collection
// while it lives. Not thread-safe (one reader per GET).
class SegmentReader final : public ObjectReader {
public:
    SegmentReader(LocalStore* store, std::shared_ptr<const internal::ResolvedVersion> v)
        : store_(store), v_(std::move(v)) {
        std::uint64_t at = 0;
        for (const auto& r : v_->refs) {
            starts_.push_back(at);
            at += r.size;
        }
        readers_.resize(v_->refs.size());
        plains_.resize(v_->refs.size());
    }
    ~SegmentReader() override { store_->unpin(v_->blobs); }

    const ObjectInfo& info() const override { return v_->info; }

    Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) override {
        std::size_t done = 0;
        while (done < n && offset < v_->info.size) {
            std::size_t i = segment_of(offset);
            std::uint64_t at = offset - starts_[i];
            if (!readers_[i] && !plains_[i]) MOAT_TRY(open_segment(i));
            std::size_t got = 0;
            if (plains_[i]) {
                const auto& p = *plains_[i];
                got = static_cast<std::size_t>(std::min<std::uint64_t>(n - done, p.size() - at));
                std::memcpy(buf + done, p.data() + at, got);
            } else {
                auto r = readers_[i]->read_at(at, buf + done, n - done);
                if (!r) return r.error();
                got = *r;
            }
            if (got == 0) break;  // a zero-length segment
            done += got;
            offset += got;
        }
        return done;
    }

    // Lends the segment's plaintext when the plain cache has it or admits it now; the owner
    // is the cache entry's Plain, which outlives its eviction while anyone holds it.
    std::optional<Slice> view(std::uint64_t offset, std::size_t n) override {
        if (n == 0 || offset >= v_->info.size) return std::nullopt;
        std::size_t i = segment_of(offset);
        std::uint64_t at = offset - starts_[i];
        // A failure to open is left for read_at to report (it tries again).
        if (!readers_[i] && !plains_[i] && !open_segment(i)) return std::nullopt;
        const auto& p = plains_[i];
        if (!p || at >= p->size()) return std::nullopt;
        std::size_t got = static_cast<std::size_t>(std::min<std::uint64_t>(n, p->size() - at));
        return Slice{std::string_view(p->data() + at, got), p};
    }

private:
    std::size_t segment_of(std::uint64_t offset) const {
        auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
        return static_cast<std::size_t>(it - starts_.begin()) - 1;
    }

    // The whole plaintext of a blob, or null if any chunk fails (nothing unauthenticated kept).
    static std::shared_ptr<internal::PlainCache::Plain> decrypt_whole(const internal::BlobRef& ref,
                                                                      internal::PlainCache& cache) {
        auto r = internal::BlobReader::open(ref);
        if (!r) return nullptr;
        auto p = cache.make_plain(static_cast<std::size_t>(ref.size));
        std::size_t at = 0;
        while (at < p->size()) {
            auto got = (*r)->read_at(at, p->data() + at, p->size() - at);
            if (!got || *got == 0) return nullptr;
            at += *got;
        }
        return p;
    }

    // A file blob's plaintext from the store's plain cache (or decrypted whole into it, when
    // the cache admits it), else a reader that decrypts the chunks asked for.
    Result<void> open_segment(std::size_t i) {
        const internal::BlobRef& ref = v_->refs[i];  // v_ keeps the ref alive
        internal::PlainCache& cache = store_->plain_cache();
        if (!ref.path.empty()) {
            if ((plains_[i] = cache.get(ref.file_id))) return {};
            if (cache.admit(ref.file_id, ref.size)) {
                if (auto p = decrypt_whole(ref, cache)) {
                    cache.put(ref.file_id, p);
                    plains_[i] = std::move(p);
                    return {};
                }
                // Damaged (or unreadable) somewhere: read it chunk by chunk as if uncached, so
                // a range over intact chunks still works and the error names the chunk.
            }
        }
        auto r = internal::BlobReader::open(ref);
        if (!r) return r.error();
        readers_[i] = std::move(*r);
        return {};
    }

    LocalStore* store_;
    std::shared_ptr<const internal::ResolvedVersion> v_;
    std::vector<std::uint64_t> starts_;
    std::vector<std::unique_ptr<internal::BlobReader>> readers_;
    std::vector<std::shared_ptr<const internal::PlainCache::Plain>> plains_;
};

}  // namespace

// Data keys never change (rotation re-seals them), so unsealed ones are cached, keyed by the
// blob's random file id (row ids can be reused after GC; file ids are not).
Result<std::string> LocalStore::data_key(const std::string& file_id, std::int64_t gen,
                                         std::string_view hash_hex, std::string_view sealed) {
    if (auto k = key_cache_.get(file_id)) return std::move(*k);
    auto key = unseal(gen, blob_key_aad(hash_hex), sealed);
    if (!key) return key;
    key_cache_.put(file_id, *key);
    return key;
}

void LocalStore::unpin(const std::vector<std::int64_t>& blobs) {
    std::lock_guard lock(pin_mu_);
    for (auto b : blobs)
        if (--pinned_[b] <= 0) pinned_.erase(b);
}

Result<ObjectInfo> LocalStore::head(std::string_view bucket, std::string_view key,
                                    std::string_view version_id) {
    MOAT_TRY(internal::check_key(key));
    if (auto v =
            read_cache_.get(bucket, key, version_id, stamp_of(internal::name_hash(bucket, key))))
        return v->info;
    auto c = pool_.lease();
    if (!c) return c.error();
    return find_version(**c, bucket, key, version_id, nullptr, false);
}

Result<std::unique_ptr<ObjectReader>> LocalStore::open_object(std::string_view bucket,
                                                              std::string_view key,
                                                              std::string_view version_id) {
    MOAT_TRY(internal::check_key(key));
    std::shared_lock maint(maint_mu_);  // no GC between reading the segments and pinning them
    auto v = resolve(bucket, key, version_id);
    if (!v) return v.error();
    {
        std::lock_guard lock(pin_mu_);
        for (auto b : (*v)->blobs) ++pinned_[b];
    }
    return std::unique_ptr<ObjectReader>(new SegmentReader(this, std::move(*v)));
}

Result<std::shared_ptr<const internal::ResolvedVersion>> LocalStore::resolve(
    std::string_view bucket, std::string_view key, std::string_view version_id) {
    // Loaded before the read transaction starts: see read_cache.h for why that order matters.
    internal::Stamp at = stamp_of(internal::name_hash(bucket, key));
    if (auto v = read_cache_.get(bucket, key, version_id, at)) return v;
    auto v = resolve_from_db(bucket, key, version_id);
    if (!v) return v;
    read_cache_.put(bucket, key, version_id, at, *v);
    return v;
}

Result<std::shared_ptr<const internal::ResolvedVersion>> LocalStore::resolve_from_db(
    std::string_view bucket, std::string_view key, std::string_view version_id) {
    auto c = pool_.lease();
    if (!c) return c.error();
    // One statement (one row per segment) so the version and its segments come from the same
    // snapshot, and SQLite takes its WAL read lock once. "ORDER BY v.id, g.idx" is the order the
    // indexes already yield (one version; its segments by primary key); "ORDER BY g.idx" alone
    // made SQLite copy every row, inline blob included, through a temporary B-tree.
    auto s = version_id.empty()
                 ? (*c)->prepare("SELECT " MOAT_VERSION_COLS
                                 ", b.id, b.hash, b.size, b.file_id, b.key_gen, b.sealed_key, "
                                 "b.data, b.data IS NULL FROM versions v "
                                 "LEFT JOIN segments g ON g.version = v.id "
                                 "LEFT JOIN blobs b ON b.id = g.blob "
                                 "WHERE v.bucket = ? AND v.key = ? AND v.latest = 1 "
                                 "ORDER BY v.id, g.idx")
                 : (*c)->prepare("SELECT " MOAT_VERSION_COLS
                                 ", b.id, b.hash, b.size, b.file_id, b.key_gen, b.sealed_key, "
                                 "b.data, b.data IS NULL FROM versions v "
                                 "LEFT JOIN segments g ON g.version = v.id "
                                 "LEFT JOIN blobs b ON b.id = g.blob "
                                 "WHERE v.bucket = ? AND v.key = ? AND v.vid = ? "
                                 "ORDER BY v.id, g.idx");
    s.bind(1, bucket).bind(2, key);
    if (!version_id.empty()) s.bind(3, version_id);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) {
        // Not there: let the general lookup name the reason (no bucket, key or version).
        auto info = find_version(**c, bucket, key, version_id, nullptr, false);
        if (!info) return info.error();
        return store_error(Errc::kNotFound, Reason::kNoSuchKey, "the key changed meanwhile");
    }
    auto v = std::make_shared<internal::ResolvedVersion>();
    v->info = internal::version_from(s);
    if (v->info.delete_marker)
        return store_error(Errc::kNotFound, Reason::kDeleteMarker, v->info.version_id);
    // Blob columns from 12 on, one row per segment.
    std::uint64_t total = 0;
    for (;;) {
        if (!s.is_null(12)) {
            internal::BlobRef ref;
            ref.hash_hex = s.text(13);
            ref.size = static_cast<std::uint64_t>(s.i64(14));
            ref.file_id = s.text(15);
            auto dk = data_key(ref.file_id, s.i64(16), ref.hash_hex, s.text(17));
            if (!dk) return dk.error();
            ref.data_key = std::move(*dk);
            total += ref.size;
            if (s.i64(19))
                ref.path = blob_path(ref.hash_hex);
            else
                ref.inline_bytes = s.text(18);
            v->blobs.push_back(s.i64(12));
            v->refs.push_back(std::move(ref));
        }
        auto more = s.step();
        if (!more) return more.error();
        if (!*more) break;
    }
    if (total != v->info.size || v->refs.empty())
        return make_error(Errc::kInternal, "version of \"" + v->info.key + "\" has " +
                                               std::to_string(v->refs.size()) + " segments of " +
                                               std::to_string(total) + " bytes, expected " +
                                               std::to_string(v->info.size));
    return std::shared_ptr<const internal::ResolvedVersion>(std::move(v));
}

}  // namespace moat::store
