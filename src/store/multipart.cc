// LocalStore: multipart uploads. Each part is a blob; Complete stitches the parts' blobs into
// the new version's segment list without touching their data (a 100 MiB upload completes in
// one short transaction).
#include <algorithm>

#include "store/internal/codec.h"
#include "store/internal/crypto.h"
#include "store/internal/names.h"
#include "store/local_store.h"

namespace moat::store {

using internal::Conn;
using internal::Txn;

namespace {

constexpr std::uint64_t kMinPart = 5ull << 20;  // S3: every part but the last >= 5 MiB
constexpr std::uint64_t kMaxPart = 5ull << 30;  // S3: 5 GiB
constexpr int kMaxParts = 10000;

Error no_upload(std::string_view id) {
    return store_error(Errc::kNotFound, Reason::kNoSuchUpload,
                       "no such upload \"" + std::string(id.substr(0, 100)) + "\"");
}

std::string unquote(std::string s) {
    if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
    return s;
}

// The upload must exist and belong to (bucket, key). Returns its attributes.
Result<std::string> upload_attrs(Conn& c, std::string_view bucket, std::string_view key,
                                 std::string_view upload_id) {
    auto s = c.prepare("SELECT attrs FROM uploads WHERE upload_id = ? AND bucket = ? AND key = ?");
    s.bind(1, upload_id).bind(2, bucket).bind(3, key);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) return no_upload(upload_id);
    return s.text(0);
}

}  // namespace

Result<std::string> LocalStore::create_upload(std::string_view bucket, std::string_view key,
                                              const ObjectAttributes& attrs) {
    MOAT_TRY(internal::check_key(key));
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY(versioning_of(**c, bucket));
    std::string id = internal::to_hex(internal::random_bytes(16));
    auto s = (*c)->prepare(
        "INSERT INTO uploads(upload_id, bucket, key, initiated, attrs) VALUES(?, ?, ?, ?, ?)");
    s.bind(1, id).bind(2, bucket).bind(3, key).bind(4, internal::now_ns());
    s.bind_blob(5, internal::encode_attrs(attrs));
    (*c)->no_names_changed();  // an upload is no version until Complete
    MOAT_TRY(s.run());
    return id;
}

Result<PartInfo> LocalStore::put_part(std::string_view bucket, std::string_view key,
                                      std::string_view upload_id, int number, BodySource& body) {
    if (number < 1 || number > kMaxParts)
        return make_error(Errc::kInvalidArgument, "part number must be 1 to 10000");
    {
        auto c = pool_.lease();
        if (!c) return c.error();
        MOAT_TRY(versioning_of(**c, bucket));
        MOAT_TRY(upload_attrs(**c, bucket, key, upload_id));
    }
    internal::BlobWriter w(settings_.dir + "/tmp", settings_.inline_max, settings_.min_free_bytes);
    MOAT_TRY(w.consume(body, std::nullopt, kMaxPart));
    PartInfo p;
    p.number = number;
    p.size = w.size();
    p.etag = internal::to_hex(w.md5());
    std::int64_t now = internal::now_ns();
    p.last_modified = internal::from_ns(now);
    MOAT_TRY(commit_blob(w, [&](Conn& c, std::int64_t blob) -> Result<void> {
        c.no_names_changed();                               // a part is no version until Complete
        MOAT_TRY(upload_attrs(c, bucket, key, upload_id));  // not aborted meanwhile
        auto s = c.prepare(
            "INSERT OR REPLACE INTO parts(upload_id, number, blob, size, etag, mtime) "
            "VALUES(?, ?, ?, ?, ?, ?)");
        s.bind(1, upload_id).bind(2, number).bind(3, blob);
        s.bind(4, static_cast<std::int64_t>(p.size)).bind(5, p.etag).bind(6, now);
        return s.run();
    }));
    return p;
}

Result<ObjectInfo> LocalStore::complete_upload(
    std::string_view bucket, std::string_view key, std::string_view upload_id,
    const std::vector<std::pair<int, std::string>>& parts) {
    return complete_upload_if(bucket, key, upload_id, parts, {});
}

Result<ObjectInfo> LocalStore::complete_upload_if(
    std::string_view bucket, std::string_view key, std::string_view upload_id,
    const std::vector<std::pair<int, std::string>>& parts, const PutOptions& conditions) {
    if (parts.empty())
        return make_error(Errc::kInvalidArgument, "CompleteMultipartUpload names no parts");
    if (parts.size() > static_cast<std::size_t>(kMaxParts))
        return make_error(Errc::kInvalidArgument, "more than 10000 parts");
    for (std::size_t i = 1; i < parts.size(); ++i)
        if (parts[i].first <= parts[i - 1].first)
            return store_error(Errc::kInvalidArgument, Reason::kInvalidPartOrder,
                               "parts must be listed in ascending order");
    std::shared_lock maint(maint_mu_);
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    (*c)->changed_name(internal::name_hash(bucket, key));
    auto v = versioning_of(**c, bucket);
    if (!v) return v.error();
    auto attrs = upload_attrs(**c, bucket, key, upload_id);
    if (!attrs) return attrs.error();
    MOAT_TRY(check_put_conditions(**c, bucket, key, conditions));
    struct Stored {
        std::int64_t blob;
        std::uint64_t size;
        std::string etag;
    };
    std::vector<Stored> stored;
    {
        auto s = (*c)->prepare("SELECT number, blob, size, etag FROM parts WHERE upload_id = ?");
        s.bind(1, upload_id);
        std::vector<std::pair<int, Stored>> all;
        for (;;) {
            auto r = s.step();
            if (!r) return r.error();
            if (!*r) break;
            all.push_back({static_cast<int>(s.i64(0)),
                           Stored{s.i64(1), static_cast<std::uint64_t>(s.i64(2)), s.text(3)}});
        }
        std::sort(all.begin(), all.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        for (const auto& [number, etag] : parts) {
            auto it = std::lower_bound(all.begin(), all.end(), number,
                                       [](const auto& a, int n) { return a.first < n; });
            if (it == all.end() || it->first != number || it->second.etag != unquote(etag))
                return store_error(Errc::kInvalidArgument, Reason::kInvalidPart,
                                   "part " + std::to_string(number) +
                                       " was not uploaded or its ETag does not match");
            stored.push_back(it->second);
        }
    }
    NewVersion nv;
    auto md5s = internal::Digest::md5();
    for (std::size_t i = 0; i < stored.size(); ++i) {
        if (i + 1 < stored.size() && stored[i].size < kMinPart)
            return store_error(Errc::kInvalidArgument, Reason::kEntityTooSmall,
                               "part " + std::to_string(parts[i].first) +
                                   " is smaller than 5 MiB and not the last");
        std::string bin = internal::from_hex(stored[i].etag);
        md5s.update(bin.data(), bin.size());
        nv.size += stored[i].size;
        nv.segments.emplace_back(stored[i].blob, stored[i].size);
    }
    // The multipart ETag: hex(MD5(concat(binary MD5 of each part))) "-" part count.
    nv.etag = internal::to_hex(md5s.finish()) + "-" + std::to_string(stored.size());
    // sha256 stays empty: a whole-object digest would mean decrypting and hashing every part
    // while the client waits for Complete; each part's blob is hashed and scrubbed on its own.
    nv.parts = static_cast<int>(stored.size());
    nv.attrs = *attrs;
    std::int64_t now = internal::now_ns();
    auto added = add_version(**c, bucket, key, *v, nv, now);
    if (!added) return added.error();
    auto dp = (*c)->prepare("DELETE FROM parts WHERE upload_id = ?");
    MOAT_TRY(dp.bind(1, upload_id).run());
    auto du = (*c)->prepare("DELETE FROM uploads WHERE upload_id = ?");
    MOAT_TRY(du.bind(1, upload_id).run());
    MOAT_TRY(t.commit());
    ObjectInfo o;
    o.bucket = std::string(bucket);
    o.key = std::string(key);
    o.version_id = added->second;
    o.is_latest = true;
    o.size = nv.size;
    o.last_modified = internal::from_ns(now);
    o.etag = nv.etag;
    o.parts = nv.parts;
    if (auto a = internal::decode_attrs(nv.attrs)) o.attrs = std::move(*a);
    return o;
}

Result<void> LocalStore::abort_upload(std::string_view bucket, std::string_view key,
                                      std::string_view upload_id) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    (*c)->no_names_changed();  // the parts go, no version changes
    MOAT_TRY(versioning_of(**c, bucket));
    MOAT_TRY(upload_attrs(**c, bucket, key, upload_id));
    auto dp = (*c)->prepare("DELETE FROM parts WHERE upload_id = ?");
    MOAT_TRY(dp.bind(1, upload_id).run());
    auto du = (*c)->prepare("DELETE FROM uploads WHERE upload_id = ?");
    MOAT_TRY(du.bind(1, upload_id).run());
    return t.commit();
}

Result<std::vector<PartInfo>> LocalStore::list_parts(std::string_view bucket, std::string_view key,
                                                     std::string_view upload_id) {
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY(versioning_of(**c, bucket));
    MOAT_TRY(upload_attrs(**c, bucket, key, upload_id));
    auto s = (*c)->prepare(
        "SELECT number, size, etag, mtime FROM parts WHERE upload_id = ? ORDER BY number");
    s.bind(1, upload_id);
    std::vector<PartInfo> out;
    for (;;) {
        auto r = s.step();
        if (!r) return r.error();
        if (!*r) break;
        out.push_back(PartInfo{static_cast<int>(s.i64(0)), static_cast<std::uint64_t>(s.i64(1)),
                               s.text(2), internal::from_ns(s.i64(3))});
    }
    return out;
}

Result<std::vector<MultipartUpload>> LocalStore::list_uploads(std::string_view bucket,
                                                              std::string_view prefix) {
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY(versioning_of(**c, bucket));
    auto s = (*c)->prepare(
        "SELECT bucket, key, upload_id, initiated FROM uploads WHERE bucket = ? AND key >= ? "
        "AND key < ? ORDER BY key, initiated");
    std::string upper = std::string(prefix) + "\xff";
    s.bind(1, bucket).bind(2, prefix).bind(3, upper);
    std::vector<MultipartUpload> out;
    for (;;) {
        auto r = s.step();
        if (!r) return r.error();
        if (!*r) break;
        out.push_back(
            MultipartUpload{s.text(0), s.text(1), s.text(2), internal::from_ns(s.i64(3))});
    }
    return out;
}

}  // namespace moat::store
