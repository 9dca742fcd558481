// LocalStore: PUT, DELETE and COPY of objects, and the version bookkeeping they share (GET and
// HEAD: read.cc).
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <functional>

#include "store/internal/codec.h"
#include "store/internal/crypto.h"
#include "store/internal/fsutil.h"
#include "store/internal/names.h"
#include "store/local_store.h"

namespace moat::store {

using internal::Conn;
using internal::Txn;

namespace {

// S3 PutObject limit (5 GiB); larger objects need multipart.
constexpr std::uint64_t kMaxPut = 5ull << 30;

std::string blob_key_aad(std::string_view hash_hex) {
    return "moat blob data key " + std::string(hash_hex);
}

// What PUT records: the request's attributes, with the checksums the body verified (an
// aws-chunked trailer's is known only once the body has been read) replacing any of the same
// algorithm, so each algorithm is recorded once.
ObjectAttributes with_verified(const ObjectAttributes& sent, const Headers& verified) {
    ObjectAttributes a = sent;
    for (const auto& [algo, value] : verified) {
        std::erase_if(a.checksums, [&](const auto& kv) { return kv.first == algo; });
        a.checksums.emplace_back(algo, value);
    }
    return a;
}

}  // namespace

std::string LocalStore::seal_data_key(std::string_view hash_hex, std::string_view key,
                                      std::int64_t* gen) {
    *gen = keys_.current();
    return internal::seal_small(*keys_.key(*gen), blob_key_aad(hash_hex), key);
}

Result<std::string> LocalStore::unseal(std::int64_t gen, std::string_view aad,
                                       std::string_view sealed) {
    auto k = keys_.key(gen);
    if (!k)
        return make_error(Errc::kInternal, "sealed with master key " + std::to_string(gen) +
                                               ", which the key file does not hold");
    std::string out;
    if (!internal::open_small(*k, aad, sealed, out))
        return make_error(Errc::kInternal,
                          "a sealed value fails authentication (" + std::string(aad) + ")");
    return out;
}

// ---- version bookkeeping (inside a transaction) ----------------------------------------------

Result<std::pair<std::int64_t, std::string>> LocalStore::add_version(
    Conn& c, std::string_view bucket, std::string_view key, Versioning v, const NewVersion& nv,
    std::int64_t now) {
    // S3 versioning: Enabled gives every write a fresh id; Unversioned and Suspended write the
    // "null" version, replacing the previous null version of the key.
    std::string vid = v == Versioning::kEnabled ? internal::new_version_id() : "null";
    if (vid == "null") {
        std::int64_t old = 0;
        {
            auto s =
                c.prepare("SELECT id FROM versions WHERE bucket = ? AND key = ? AND vid = 'null'");
            s.bind(1, bucket).bind(2, key);
            auto row = s.step();
            if (!row) return row.error();
            if (*row) old = s.i64(0);
        }
        if (old != 0) MOAT_TRY(remove_row(c, old));
    }
    {
        auto s = c.prepare(
            "UPDATE versions SET latest = 0, noncurrent_since = ? "
            "WHERE bucket = ? AND key = ? AND latest = 1");
        MOAT_TRY(s.bind(1, now).bind(2, bucket).bind(3, key).run());
    }
    auto s = c.prepare(
        "INSERT INTO versions(bucket, key, vid, latest, marker, size, mtime, etag, sha256, parts, "
        "attrs) VALUES(?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, bucket).bind(2, key).bind(3, vid).bind(4, nv.marker ? 1 : 0);
    s.bind(5, static_cast<std::int64_t>(nv.size)).bind(6, now).bind(7, nv.etag).bind(8, nv.sha256);
    s.bind(9, nv.parts).bind_blob(10, nv.attrs);
    MOAT_TRY(s.run());
    std::int64_t row = c.last_rowid();
    int idx = 0;
    for (const auto& [blob, size] : nv.segments) {
        auto g = c.prepare("INSERT INTO segments(version, idx, blob, size) VALUES(?, ?, ?, ?)");
        MOAT_TRY(g.bind(1, row)
                     .bind(2, idx++)
                     .bind(3, blob)
                     .bind(4, static_cast<std::int64_t>(size))
                     .run());
    }
    return std::make_pair(row, vid);
}

// Deletes one version for good; if it was the latest, the next newest becomes latest (a
// removed delete marker "undeletes" the key, S3 versioning semantics).
Result<void> LocalStore::remove_row(Conn& c, std::int64_t row) {
    std::string bucket, key;
    bool latest = false;
    {
        auto s = c.prepare("SELECT bucket, key, latest FROM versions WHERE id = ?");
        s.bind(1, row);
        auto r = s.step();
        if (!r) return r.error();
        if (!*r) return {};
        bucket = s.text(0);
        key = s.text(1);
        latest = s.i64(2) != 0;
    }
    auto g = c.prepare("DELETE FROM segments WHERE version = ?");
    MOAT_TRY(g.bind(1, row).run());
    auto d = c.prepare("DELETE FROM versions WHERE id = ?");
    MOAT_TRY(d.bind(1, row).run());
    if (latest) {
        auto u = c.prepare(
            "UPDATE versions SET latest = 1, noncurrent_since = NULL WHERE id = "
            "(SELECT id FROM versions WHERE bucket = ? AND key = ? ORDER BY id DESC LIMIT 1)");
        MOAT_TRY(u.bind(1, bucket).bind(2, key).run());
    }
    return {};
}

// PutOptions' conditions against the current version; run again inside the commit so the
// check and the write are one transaction.
Result<void> LocalStore::check_put_conditions(Conn& c, std::string_view bucket,
                                              std::string_view key, const PutOptions& opts) {
    if (!opts.if_none_match_any && !opts.if_match_etag) return {};
    auto s =
        c.prepare("SELECT marker, etag FROM versions WHERE bucket = ? AND key = ? AND latest = 1");
    s.bind(1, bucket).bind(2, key);
    auto row = s.step();
    if (!row) return row.error();
    bool live = *row && s.i64(0) == 0;
    if (opts.if_none_match_any && live)
        return store_error(Errc::kConflict, Reason::kPreconditionFailed,
                           "If-None-Match: * and the key exists");
    if (opts.if_match_etag) {
        if (!live) return store_error(Errc::kNotFound, Reason::kNoSuchKey, "If-Match: no such key");
        if (s.text(1) != *opts.if_match_etag)
            return store_error(Errc::kConflict, Reason::kPreconditionFailed,
                               "If-Match: the current ETag differs");
    }
    return {};
}

Result<ObjectInfo> LocalStore::find_version(Conn& c, std::string_view bucket, std::string_view key,
                                            std::string_view version_id, std::int64_t* row,
                                            bool allow_marker) {
    MOAT_TRY(internal::check_key(key));
    auto s = version_id.empty() ? c.prepare("SELECT " MOAT_VERSION_COLS
                                            " FROM versions v "
                                            "WHERE bucket = ? AND key = ? AND latest = 1")
                                : c.prepare("SELECT " MOAT_VERSION_COLS
                                            " FROM versions v "
                                            "WHERE bucket = ? AND key = ? AND vid = ?");
    s.bind(1, bucket).bind(2, key);
    if (!version_id.empty()) s.bind(3, version_id);
    auto r = s.step();
    if (!r) return r.error();
    if (!*r) {
        MOAT_TRY(versioning_of(c, bucket));  // NoSuchBucket before NoSuchKey
        if (version_id.empty())
            return store_error(Errc::kNotFound, Reason::kNoSuchKey,
                               "no such key \"" + std::string(key.substr(0, 200)) + "\"");
        return store_error(Errc::kNotFound, Reason::kNoSuchVersion,
                           "no such version \"" + std::string(version_id.substr(0, 100)) + "\"");
    }
    ObjectInfo info = internal::version_from(s);
    if (row) *row = s.i64(0);
    // The detail carries the marker's version id: S3 answers x-amz-version-id with it.
    if (info.delete_marker && !allow_marker)
        return store_error(Errc::kNotFound, Reason::kDeleteMarker, info.version_id);
    return info;
}

// ---- writes ----------------------------------------------------------------------------------

Result<void> LocalStore::commit_blob(
    internal::BlobWriter& w, const std::function<Result<void>(Conn&, std::int64_t blob)>& commit,
    bool* fresh) {
    std::string hash = internal::to_hex(w.sha256());
    std::shared_lock maint(maint_mu_);
    std::lock_guard stripe(stripes_[static_cast<unsigned char>(w.sha256()[0]) % stripes_.size()]);
    std::int64_t blob = 0;
    {
        auto c = pool_.lease();
        if (!c) return c.error();
        auto s = (*c)->prepare("SELECT id FROM blobs WHERE hash = ?");
        s.bind(1, hash);
        auto row = s.step();
        if (!row) return row.error();
        if (*row) blob = s.i64(0);
    }
    // A new file blob becomes durable before any metadata names it: rename, then fsync the
    // folder (the temp file itself was fsynced by the writer).
    std::string final_path;
    if (blob == 0 && !w.is_inline()) {
        final_path = blob_path(hash);
        int rc = ::rename(w.temp_path().c_str(), final_path.c_str());
        if (rc != 0 && errno == ENOENT) {
            // First blob of this fan-out folder: create it durably, then retry.
            std::string sub = settings_.dir + "/blobs/" + hash.substr(0, 2);
            if (::mkdir(sub.c_str(), 0700) != 0 && errno != EEXIST)
                return internal::errno_error(errno, "mkdir " + sub);
            MOAT_TRY(internal::fsync_dir(settings_.dir + "/blobs"));
            rc = ::rename(w.temp_path().c_str(), final_path.c_str());
        }
        if (rc != 0) return internal::errno_error(errno, "rename blob " + hash);
        w.release_temp();
        auto dir = final_path.substr(0, final_path.rfind('/'));
        if (auto r = internal::fsync_dir(dir); !r) {
            ::unlink(final_path.c_str());
            return r.error();
        }
    }
    auto undo = [&](Error e) -> Error {
        if (!final_path.empty()) ::unlink(final_path.c_str());
        return e;
    };
    auto commit_in = [&](Conn& c) -> Result<void> {
        std::int64_t id = blob;
        if (id == 0) {
            std::int64_t gen = 0;
            std::string sealed = seal_data_key(hash, w.data_key(), &gen);
            auto s = c.prepare(
                "INSERT INTO blobs(hash, size, file_id, key_gen, sealed_key, data) "
                "VALUES(?, ?, ?, ?, ?, ?)");
            s.bind(1, hash).bind(2, static_cast<std::int64_t>(w.size())).bind_blob(3, w.file_id());
            s.bind(4, gen).bind_blob(5, sealed);
            if (w.is_inline())
                s.bind_blob(6, w.inline_bytes());
            else
                s.bind_null(6);
            MOAT_TRY(s.run());
            id = c.last_rowid();
        }
        return commit(c, id);
    };
    if (auto r = group_.run(commit_in); !r) return undo(r.error());
    if (fresh) *fresh = blob == 0;
    return {};
}

internal::Stamp LocalStore::stamp_of(std::size_t name_hash) {
    auto& clock = pool_.clock();
    return {clock.global.load(), clock.of(name_hash).load(), shared_clock_->others()};
}

// Exactly one count more on the name's stripe since `before`, and that one is this PUT's (its
// transaction declared the name, and ended before we got here): no other writer of a name in
// this stripe ended a transaction in between, so nothing newer can have been committed before
// ours without its count showing. A writer that committed after ours counts later, which makes
// the installed entry stale by the rules every entry follows.
void LocalStore::install_written(const ObjectInfo& o, std::size_t name_hash, internal::Stamp before,
                                 const internal::BlobWriter& w, std::int64_t blob) {
    internal::Stamp now = stamp_of(name_hash);
    if (now.global != before.global || now.foreign != before.foreign || now.name != before.name + 1)
        return;
    auto v = std::make_shared<internal::ResolvedVersion>();
    v->info = o;
    internal::BlobRef ref;
    ref.hash_hex = o.sha256;
    ref.size = o.size;
    ref.file_id = w.file_id();
    ref.data_key = w.data_key();
    if (w.is_inline())
        ref.inline_bytes = w.inline_bytes();
    else
        ref.path = blob_path(o.sha256);
    v->refs.push_back(std::move(ref));
    v->blobs.push_back(blob);
    key_cache_.put(w.file_id(), w.data_key());
    read_cache_.install(o.bucket, o.key, {}, now, std::move(v));
}

Result<ObjectInfo> LocalStore::put(std::string_view bucket, std::string_view key, BodySource& body,
                                   const PutOptions& opts) {
    MOAT_TRY(internal::check_key(key));
    {
        // Fail fast, before reading a body nobody will keep; checked again at commit.
        auto c = pool_.lease();
        if (!c) return c.error();
        MOAT_TRY(versioning_of(**c, bucket));
        MOAT_TRY(check_put_conditions(**c, bucket, key, opts));
    }
    internal::BlobWriter w(settings_.dir + "/tmp", settings_.inline_max, settings_.min_free_bytes);
    MOAT_TRY(w.consume(body, opts.expected_size, kMaxPut));
    NewVersion nv;
    nv.size = w.size();
    nv.etag = internal::to_hex(w.md5());
    nv.sha256 = internal::to_hex(w.sha256());
    ObjectAttributes attrs = with_verified(opts.attrs, body.verified_checksums());
    nv.attrs = internal::encode_attrs(attrs);
    ObjectInfo o;
    const std::size_t name = internal::name_hash(bucket, key);
    const internal::Stamp before = stamp_of(name);
    std::int64_t blob_row = 0;
    bool fresh = false;
    MOAT_TRY(commit_blob(
        w,
        [&](Conn& c, std::int64_t blob) -> Result<void> {
            c.changed_name(name);
            blob_row = blob;
            auto v = versioning_of(c, bucket);
            if (!v) return v.error();
            MOAT_TRY(check_put_conditions(c, bucket, key, opts));
            nv.segments = {{blob, w.size()}};
            std::int64_t now = internal::now_ns();
            auto added = add_version(c, bucket, key, *v, nv, now);
            if (!added) return added.error();
            o.bucket = std::string(bucket);
            o.key = std::string(key);
            o.version_id = added->second;
            o.is_latest = true;
            o.size = nv.size;
            o.last_modified = internal::from_ns(now);
            o.etag = nv.etag;
            o.sha256 = nv.sha256;
            o.attrs = attrs;
            return {};
        },
        &fresh));
    if (fresh) install_written(o, name, before, w, blob_row);
    return o;
}

Result<DeleteOutcome> LocalStore::remove(std::string_view bucket, std::string_view key,
                                         std::string_view version_id) {
    MOAT_TRY(internal::check_key(key));
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    (*c)->changed_name(internal::name_hash(bucket, key));
    auto v = versioning_of(**c, bucket);
    if (!v) return v.error();
    DeleteOutcome out;
    if (version_id.empty() && *v != Versioning::kUnversioned) {
        // S3: DELETE without a version id on a versioned bucket adds a delete marker (even when
        // the key does not exist); Suspended makes it the null version.
        NewVersion nv;
        nv.marker = true;
        nv.attrs = internal::encode_attrs({});
        auto added = add_version(**c, bucket, key, *v, nv, internal::now_ns());
        if (!added) return added.error();
        out.delete_marker = true;
        out.version_id = added->second;
    } else {
        std::string vid = version_id.empty() ? "null" : std::string(version_id);
        std::int64_t row = 0;
        {
            auto s = (*c)->prepare(
                "SELECT id, marker FROM versions WHERE bucket = ? AND key = ? AND vid = ?");
            s.bind(1, bucket).bind(2, key).bind(3, vid);
            auto r = s.step();
            if (!r) return r.error();
            if (*r) {
                row = s.i64(0);
                out.delete_marker = s.i64(1) != 0;
            }
        }
        // A held version is never removed (store.h); on an unversioned bucket this also
        // refuses the plain DELETE that would remove the held null version.
        if (row != 0) MOAT_TRY(check_not_held(**c, bucket, key, vid));
        // S3 answers 204 for a key or version that does not exist: deleting is idempotent.
        if (row != 0) MOAT_TRY(remove_row(**c, row));
        if (!version_id.empty()) out.version_id = vid;
    }
    MOAT_TRY(t.commit());
    return out;
}

Result<ObjectInfo> LocalStore::copy(std::string_view src_bucket, std::string_view src_key,
                                    std::string_view src_version, std::string_view dst_bucket,
                                    std::string_view dst_key,
                                    const std::optional<ObjectAttributes>& attrs) {
    MOAT_TRY(internal::check_key(dst_key));
    std::shared_lock maint(maint_mu_);
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    (*c)->changed_name(internal::name_hash(dst_bucket, dst_key));
    std::int64_t src_row = 0;
    auto src = find_version(**c, src_bucket, src_key, src_version, &src_row, false);
    if (!src) return src.error();
    auto v = versioning_of(**c, dst_bucket);
    if (!v) return v.error();
    NewVersion nv;
    nv.size = src->size;
    nv.etag = src->etag;
    nv.sha256 = src->sha256;
    nv.parts = src->parts;
    ObjectAttributes a = attrs ? *attrs : src->attrs;
    // New metadata, same bytes: their checksums still hold.
    if (attrs && a.checksums.empty()) a.checksums = src->attrs.checksums;
    nv.attrs = internal::encode_attrs(a);
    {
        // Blobs are shared, not copied: the new version names the same segments.
        auto s = (*c)->prepare("SELECT blob, size FROM segments WHERE version = ? ORDER BY idx");
        s.bind(1, src_row);
        for (;;) {
            auto r = s.step();
            if (!r) return r.error();
            if (!*r) break;
            nv.segments.emplace_back(s.i64(0), static_cast<std::uint64_t>(s.i64(1)));
        }
    }
    std::int64_t now = internal::now_ns();
    auto added = add_version(**c, dst_bucket, dst_key, *v, nv, now);
    if (!added) return added.error();
    MOAT_TRY(t.commit());
    ObjectInfo o = std::move(*src);
    o.bucket = std::string(dst_bucket);
    o.key = std::string(dst_key);
    o.version_id = added->second;
    o.is_latest = true;
    o.last_modified = internal::from_ns(now);
    o.attrs = std::move(a);
    return o;
}

}  // namespace moat::store
