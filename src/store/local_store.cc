#include "store/local_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "store/internal/codec.h"
#include "store/internal/crypto.h"
#include "store/internal/fsutil.h"
#include "store/internal/names.h"

namespace moat::store {

using internal::Conn;
using internal::Txn;

namespace internal {

std::int64_t to_ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
Clock::time_point from_ns(std::int64_t ns) {
    return Clock::time_point(
        std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
}
std::int64_t now_ns() { return to_ns(Clock::now()); }

// Opaque, unique, URL-safe: 32 hex digits (S3 version ids are opaque strings too).
std::string new_version_id() { return to_hex(random_bytes(16)); }

Error no_bucket(std::string_view name) {
    return store_error(Errc::kNotFound, Reason::kNoSuchBucket,
                       "no such bucket \"" + std::string(name.substr(0, 80)) + "\"");
}

ObjectInfo version_from(const Stmt& s) {
    ObjectInfo o;
    o.bucket = s.text(1);
    o.key = s.text(2);
    o.version_id = s.text(3);
    o.is_latest = s.i64(4) != 0;
    o.delete_marker = s.i64(5) != 0;
    o.size = static_cast<std::uint64_t>(s.i64(6));
    o.last_modified = from_ns(s.i64(7));
    o.etag = s.text(8);
    o.sha256 = s.text(9);
    o.parts = static_cast<int>(s.i64(10));
    if (auto a = decode_attrs(s.text(11))) o.attrs = std::move(*a);
    return o;
}

}  // namespace internal

namespace {

constexpr const char* kSchema = R"(
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT);
CREATE TABLE IF NOT EXISTS buckets(name TEXT PRIMARY KEY, created INTEGER NOT NULL,
    versioning INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rules(bucket TEXT NOT NULL, idx INTEGER NOT NULL, rule_id TEXT,
    enabled INTEGER, prefix TEXT, exp_days INTEGER, eodm INTEGER, nc_days INTEGER,
    nc_newer INTEGER, abort_days INTEGER, PRIMARY KEY(bucket, idx));
CREATE TABLE IF NOT EXISTS blobs(id INTEGER PRIMARY KEY, hash TEXT UNIQUE NOT NULL,
    size INTEGER NOT NULL, file_id BLOB NOT NULL, key_gen INTEGER NOT NULL,
    sealed_key BLOB NOT NULL, data BLOB);
CREATE TABLE IF NOT EXISTS versions(id INTEGER PRIMARY KEY, bucket TEXT NOT NULL,
    key TEXT NOT NULL, vid TEXT NOT NULL, latest INTEGER NOT NULL, marker INTEGER NOT NULL,
    size INTEGER NOT NULL, mtime INTEGER NOT NULL, noncurrent_since INTEGER, etag TEXT,
    sha256 TEXT, parts INTEGER, attrs BLOB);
CREATE UNIQUE INDEX IF NOT EXISTS versions_vid ON versions(bucket, key, vid);
CREATE INDEX IF NOT EXISTS versions_key ON versions(bucket, key, id);
CREATE INDEX IF NOT EXISTS versions_latest ON versions(bucket, key) WHERE latest = 1;
CREATE TABLE IF NOT EXISTS segments(version INTEGER NOT NULL, idx INTEGER NOT NULL,
    blob INTEGER NOT NULL, size INTEGER NOT NULL, PRIMARY KEY(version, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS segments_blob ON segments(blob);
CREATE TABLE IF NOT EXISTS uploads(upload_id TEXT PRIMARY KEY, bucket TEXT NOT NULL,
    key TEXT NOT NULL, initiated INTEGER NOT NULL, attrs BLOB);
CREATE INDEX IF NOT EXISTS uploads_key ON uploads(bucket, key);
CREATE TABLE IF NOT EXISTS parts(upload_id TEXT NOT NULL, number INTEGER NOT NULL,
    blob INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL, mtime INTEGER NOT NULL,
    PRIMARY KEY(upload_id, number)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS parts_blob ON parts(blob);
CREATE TABLE IF NOT EXISTS access_keys(id TEXT PRIMARY KEY, principal TEXT NOT NULL,
    grants BLOB NOT NULL, created INTEGER NOT NULL, key_gen INTEGER NOT NULL,
    sealed_secret BLOB NOT NULL);
INSERT OR IGNORE INTO meta(k, v) VALUES('schema', '1');
)";

// Schema 2 (releases): holds, and find_by_sha256's index. Every statement is IF NOT EXISTS,
// so a store made by schema 1 gains them on its next open (building the index once).
// Holds are keyed by name, not row: a PUT that replaces the "null" version of a key keeps the
// hold on the new null version (the variants bucket is unversioned and content-addressed).
constexpr const char* kSchemaV2 = R"(
CREATE TABLE IF NOT EXISTS holds(bucket TEXT NOT NULL, key TEXT NOT NULL,
    version_id TEXT NOT NULL, holder TEXT NOT NULL,
    PRIMARY KEY(bucket, key, version_id, holder)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS holds_holder ON holds(holder);
CREATE INDEX IF NOT EXISTS versions_sha256 ON versions(sha256, id) WHERE marker = 0;
UPDATE meta SET v = '2' WHERE k = 'schema' AND v = '1';
)";

}  // namespace

Result<std::unique_ptr<Store>> Store::open(const StoreSettings& settings) {
    auto s = LocalStore::open_local(settings);
    if (!s) return s.error();
    return std::unique_ptr<Store>(std::move(*s));
}

Result<std::unique_ptr<LocalStore>> LocalStore::open_local(const StoreSettings& settings) {
    if (settings.dir.empty()) return make_error(Errc::kInvalidArgument, "store: dir is empty");
    MOAT_TRY(internal::make_dirs(settings.dir));
    MOAT_TRY(internal::make_dirs(settings.dir + "/tmp"));
    MOAT_TRY(internal::make_dirs(settings.dir + "/blobs"));  // its 256 subfolders come on demand
    MOAT_TRY(internal::fsync_dir(settings.dir));
    std::string key_file =
        settings.master_key_file.empty() ? settings.dir + "/master.key" : settings.master_key_file;
    auto keys = internal::Keyring::load_or_create(key_file);
    if (!keys) return keys.error();
    std::unique_ptr<LocalStore> s(new LocalStore(settings, std::move(*keys)));
    // Owner-only like the rest of the folder (SQLite would use 0644; its -wal and -shm files
    // copy the database's mode).
    int db_fd = ::open(s->db_path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (db_fd < 0) return internal::errno_error(errno, "create " + s->db_path_);
    ::close(db_fd);
    std::string lock = settings.dir + "/lock";
    s->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lock_fd_ < 0) return internal::errno_error(errno, "open " + lock);
    if (::flock(s->lock_fd_, LOCK_SH | LOCK_NB) != 0)
        return make_error(Errc::kConflict,
                          "store " + settings.dir + " is locked (rotate-key running?)");
    auto clock = internal::SharedClock::open(settings.dir + "/writes");
    if (!clock) return clock.error();
    s->shared_clock_ = std::move(*clock);
    s->pool_.clock().shared = &s->shared_clock_->mine();
    {
        // Processes opening a new store at the same moment race on its first schema and on the
        // switch to WAL, where SQLite's rollback-journal locking answers SQLITE_BUSY without
        // waiting when waiting could deadlock (seen with two servers started together): one
        // process initialises at a time. Held for milliseconds; bounded all the same.
        std::string init = settings.dir + "/init.lock";
        int fd = ::open(init.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) return internal::errno_error(errno, "open " + init);
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (std::chrono::steady_clock::now() > deadline) {
                ::close(fd);
                return make_error(Errc::kUnavailable,
                                  "store " + settings.dir + ": another process is initialising it");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        Result<void> r = s->init_schema();
        if (r && settings.default_buckets) r = s->create_default_buckets();
        ::close(fd);  // releases the lock
        if (!r) return r.error();
    }
    return s;
}

LocalStore::~LocalStore() {
    if (lock_fd_ >= 0) ::close(lock_fd_);
}

Result<void> LocalStore::init_schema() {
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY((*c)->exec(kSchema));
    return (*c)->exec(kSchemaV2);
}

// Once only (a meta flag), so an operator who deletes a default bucket does not see it return.
Result<void> LocalStore::create_default_buckets() {
    auto c = pool_.lease();
    if (!c) return c.error();
    {
        auto s = (*c)->prepare("SELECT v FROM meta WHERE k = 'default_buckets'");
        auto row = s.step();
        if (!row) return row.error();
        if (*row) return {};
    }
    auto have = [&](const char* name) -> Result<bool> {
        auto s = (*c)->prepare("SELECT 1 FROM buckets WHERE name = ?");
        s.bind(1, std::string_view(name));
        return s.step();
    };
    // DESIGN.md / reference §seed: content keeps noncurrent versions 7 days; logs keep current
    // ones 365 days and noncurrent ones 7.
    auto h = have("content");
    if (!h) return h.error();
    if (!*h) {
        MOAT_TRY(create_bucket("content"));
        MOAT_TRY(set_versioning("content", Versioning::kEnabled));
        LifecycleRule r;
        r.id = "noncurrent-7d";
        r.noncurrent_days = 7;
        MOAT_TRY(set_lifecycle("content", {r}));
    }
    h = have("logs");
    if (!h) return h.error();
    if (!*h) {
        MOAT_TRY(create_bucket("logs"));
        MOAT_TRY(set_versioning("logs", Versioning::kEnabled));
        LifecycleRule r;
        r.id = "logs-365d";
        r.expiration_days = 365;
        r.noncurrent_days = 7;
        MOAT_TRY(set_lifecycle("logs", {r}));
    }
    return (*c)->exec("INSERT OR REPLACE INTO meta(k, v) VALUES('default_buckets', '1')");
}

std::string LocalStore::blob_path(std::string_view hash_hex) const {
    return settings_.dir + "/blobs/" + std::string(hash_hex.substr(0, 2)) + "/" +
           std::string(hash_hex);
}

// ---- buckets ---------------------------------------------------------------------------------

Result<void> LocalStore::create_bucket(std::string_view name) {
    MOAT_TRY(internal::check_bucket_name(name));
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s =
        (*c)->prepare("INSERT OR IGNORE INTO buckets(name, created, versioning) VALUES(?, ?, 0)");
    s.bind(1, name).bind(2, internal::now_ns());
    MOAT_TRY(s.run());
    if ((*c)->changes() == 0)
        return store_error(Errc::kConflict, Reason::kBucketExists,
                           "bucket \"" + std::string(name) + "\" already exists");
    return {};
}

Result<void> LocalStore::delete_bucket(std::string_view name) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    MOAT_TRY(versioning_of(**c, name));
    {
        // S3: a bucket with any version (markers included) or upload in progress is not empty.
        auto s = (*c)->prepare(
            "SELECT 1 FROM versions WHERE bucket = ?1 UNION ALL "
            "SELECT 1 FROM uploads WHERE bucket = ?1 LIMIT 1");
        s.bind(1, name);
        auto row = s.step();
        if (!row) return row.error();
        if (*row)
            return store_error(Errc::kConflict, Reason::kBucketNotEmpty,
                               "bucket \"" + std::string(name) + "\" is not empty");
    }
    auto d = (*c)->prepare("DELETE FROM buckets WHERE name = ?");
    MOAT_TRY(d.bind(1, name).run());
    auto r = (*c)->prepare("DELETE FROM rules WHERE bucket = ?");
    MOAT_TRY(r.bind(1, name).run());
    return t.commit();
}

Result<BucketInfo> LocalStore::bucket(std::string_view name) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT name, created, versioning FROM buckets WHERE name = ?");
    s.bind(1, name);
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) return internal::no_bucket(name);
    return BucketInfo{s.text(0), internal::from_ns(s.i64(1)), static_cast<Versioning>(s.i64(2))};
}

Result<std::vector<BucketInfo>> LocalStore::buckets() {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT name, created, versioning FROM buckets ORDER BY name");
    std::vector<BucketInfo> out;
    for (;;) {
        auto row = s.step();
        if (!row) return row.error();
        if (!*row) break;
        out.push_back(
            BucketInfo{s.text(0), internal::from_ns(s.i64(1)), static_cast<Versioning>(s.i64(2))});
    }
    return out;
}

Result<void> LocalStore::set_versioning(std::string_view bucket, Versioning v) {
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    auto cur = versioning_of(**c, bucket);
    if (!cur) return cur.error();
    // S3: once enabled, a bucket can only be suspended, never unversioned again.
    if (v == Versioning::kUnversioned && *cur != Versioning::kUnversioned)
        return make_error(Errc::kInvalidArgument,
                          "versioning cannot be turned off once enabled; suspend it instead");
    auto s = (*c)->prepare("UPDATE buckets SET versioning = ? WHERE name = ?");
    MOAT_TRY(s.bind(1, static_cast<std::int64_t>(v)).bind(2, bucket).run());
    return t.commit();
}

Result<void> LocalStore::set_lifecycle(std::string_view bucket, std::vector<LifecycleRule> rules) {
    if (rules.size() > 1000)
        return make_error(Errc::kInvalidArgument, "at most 1000 lifecycle rules");
    for (const auto& r : rules) {
        auto neg = [](const std::optional<int>& d) { return d && *d < 0; };
        if (neg(r.expiration_days) || neg(r.noncurrent_days) || neg(r.newer_noncurrent_versions) ||
            neg(r.abort_multipart_days))
            return make_error(Errc::kInvalidArgument,
                              "lifecycle rule \"" + r.id + "\": days must not be negative");
        // S3 PutBucketLifecycleConfiguration: ExpiredObjectDeleteMarker excludes Days/Date.
        if (r.expired_object_delete_marker && r.expiration_days)
            return make_error(Errc::kInvalidArgument,
                              "lifecycle rule \"" + r.id +
                                  "\": ExpiredObjectDeleteMarker cannot be combined with Days");
    }
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    MOAT_TRY(versioning_of(**c, bucket));
    auto d = (*c)->prepare("DELETE FROM rules WHERE bucket = ?");
    MOAT_TRY(d.bind(1, bucket).run());
    int idx = 0;
    for (const auto& r : rules) {
        auto s = (*c)->prepare(
            "INSERT INTO rules(bucket, idx, rule_id, enabled, prefix, exp_days, eodm, nc_days, "
            "nc_newer, abort_days) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, bucket).bind(2, idx++).bind(3, r.id).bind(4, r.enabled ? 1 : 0).bind(5, r.prefix);
        auto opt = [&](int i, const std::optional<int>& v) {
            if (v)
                s.bind(i, *v);
            else
                s.bind_null(i);
        };
        opt(6, r.expiration_days);
        s.bind(7, r.expired_object_delete_marker ? 1 : 0);
        opt(8, r.noncurrent_days);
        opt(9, r.newer_noncurrent_versions);
        opt(10, r.abort_multipart_days);
        MOAT_TRY(s.run());
    }
    return t.commit();
}

Result<std::vector<LifecycleRule>> LocalStore::lifecycle(std::string_view bucket) {
    auto c = pool_.lease();
    if (!c) return c.error();
    MOAT_TRY(versioning_of(**c, bucket));
    auto s = (*c)->prepare(
        "SELECT rule_id, enabled, prefix, exp_days, eodm, nc_days, nc_newer, abort_days "
        "FROM rules WHERE bucket = ? ORDER BY idx");
    s.bind(1, bucket);
    std::vector<LifecycleRule> out;
    for (;;) {
        auto row = s.step();
        if (!row) return row.error();
        if (!*row) break;
        LifecycleRule r;
        r.id = s.text(0);
        r.enabled = s.i64(1) != 0;
        r.prefix = s.text(2);
        auto opt = [&](int i) -> std::optional<int> {
            if (s.is_null(i)) return std::nullopt;
            return static_cast<int>(s.i64(i));
        };
        r.expiration_days = opt(3);
        r.expired_object_delete_marker = s.i64(4) != 0;
        r.noncurrent_days = opt(5);
        r.newer_noncurrent_versions = opt(6);
        r.abort_multipart_days = opt(7);
        out.push_back(std::move(r));
    }
    if (out.empty())
        return store_error(Errc::kNotFound, Reason::kNoSuchLifecycle,
                           "bucket \"" + std::string(bucket) + "\" has no lifecycle rules");
    return out;
}

Result<Versioning> LocalStore::versioning_of(Conn& c, std::string_view bucket) {
    auto s = c.prepare("SELECT versioning FROM buckets WHERE name = ?");
    s.bind(1, bucket);
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) return internal::no_bucket(bucket);
    return static_cast<Versioning>(s.i64(0));
}

}  // namespace moat::store
