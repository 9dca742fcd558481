#pragma once
// LocalStore: the embedded Store (store.h) on one machine. Blob data in encrypted files (or
// inline in SQLite when small), metadata in SQLite WAL, master key in a 0600 file.
//
// Concurrency: any thread may call any method. Each call leases its own SQLite connection; a
// metadata change is one short BEGIN IMMEDIATE transaction after the blob data is durable. Two
// in-process locks guard blob lifetimes: a striped mutex per blob hash (two PUTs of the same
// bytes never rename over each other between the existence check and the commit), and
// maint_mu_ (shared by PUT/copy/open/backup, exclusive for garbage collection and key rotation).
// Object writes from two processes at once are not supported (the server is the writer; the
// CLI's scrub reads, `keys` touches only key rows); rotate-key takes the store's flock
// exclusively and refuses while a server holds it. The read caches stay correct across
// processes all the same: every write transaction counts in the shared clock (<dir>/writes,
// internal/shared_clock.h), and a change of other processes' counts retires cached versions.
//
// Caches on the GET path: read_cache_ (version records with unsealed data keys, per name,
// retired by writes of that name; a PUT installs its own), key_cache_ (unsealed data keys) and
// plain_cache_ (decrypted plaintext of hot large blobs, immutable so never stale).

#include <array>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "store/internal/blob.h"
#include "store/internal/db.h"
#include "store/internal/group_commit.h"
#include "store/internal/key_cache.h"
#include "store/internal/keyring.h"
#include "store/internal/plain_cache.h"
#include "store/internal/read_cache.h"
#include "store/internal/shared_clock.h"
#include "store/store.h"

namespace moat::store {

class LocalStore final : public Store {
public:
    static Result<std::unique_ptr<LocalStore>> open_local(const StoreSettings& settings);
    ~LocalStore() override;

    Result<void> create_bucket(std::string_view name) override;
    Result<void> delete_bucket(std::string_view name) override;
    Result<BucketInfo> bucket(std::string_view name) override;
    Result<std::vector<BucketInfo>> buckets() override;
    Result<void> set_versioning(std::string_view bucket, Versioning v) override;
    Result<void> set_lifecycle(std::string_view bucket, std::vector<LifecycleRule> rules) override;
    Result<std::vector<LifecycleRule>> lifecycle(std::string_view bucket) override;

    Result<ObjectInfo> put(std::string_view bucket, std::string_view key, BodySource& body,
                           const PutOptions& opts) override;
    Result<ObjectInfo> head(std::string_view bucket, std::string_view key,
                            std::string_view version_id = {}) override;
    Result<std::unique_ptr<ObjectReader>> open_object(std::string_view bucket, std::string_view key,
                                                      std::string_view version_id = {}) override;
    Result<DeleteOutcome> remove(std::string_view bucket, std::string_view key,
                                 std::string_view version_id = {}) override;
    Result<ObjectInfo> copy(std::string_view src_bucket, std::string_view src_key,
                            std::string_view src_version, std::string_view dst_bucket,
                            std::string_view dst_key,
                            const std::optional<ObjectAttributes>& attrs) override;
    Result<ListPage> list(std::string_view bucket, const ListQuery& q) override;
    Result<VersionPage> list_versions(std::string_view bucket, const VersionQuery& q) override;

    Result<std::string> create_upload(std::string_view bucket, std::string_view key,
                                      const ObjectAttributes& attrs) override;
    Result<PartInfo> put_part(std::string_view bucket, std::string_view key,
                              std::string_view upload_id, int number, BodySource& body) override;
    Result<ObjectInfo> complete_upload(
        std::string_view bucket, std::string_view key, std::string_view upload_id,
        const std::vector<std::pair<int, std::string>>& parts) override;
    Result<ObjectInfo> complete_upload_if(std::string_view bucket, std::string_view key,
                                          std::string_view upload_id,
                                          const std::vector<std::pair<int, std::string>>& parts,
                                          const PutOptions& conditions) override;
    Result<void> abort_upload(std::string_view bucket, std::string_view key,
                              std::string_view upload_id) override;
    Result<std::vector<PartInfo>> list_parts(std::string_view bucket, std::string_view key,
                                             std::string_view upload_id) override;
    Result<std::vector<MultipartUpload>> list_uploads(std::string_view bucket,
                                                      std::string_view prefix) override;

    Result<KeyRecord> create_key(std::string_view principal, std::vector<Grant> grants) override;
    Result<KeyRecord> find_key(std::string_view access_key_id) override;
    Result<std::vector<KeyRecord>> keys() override;
    Result<void> delete_key(std::string_view access_key_id) override;

    Result<void> hold(std::string_view holder, const std::vector<VersionRef>& versions) override;
    Result<void> release_holds(std::string_view holder) override;
    Result<bool> is_held(const VersionRef& version) override;
    Result<ObjectInfo> find_by_sha256(std::string_view sha256) override;
    Result<BackupReport> backup(const std::string& dest) override;

    Result<void> apply_lifecycle(Clock::time_point now) override;
    Result<std::uint64_t> collect_garbage() override;
    Result<ScrubReport> scrub() override;
    Result<std::uint64_t> rotate_master_key() override;

    // Test/diagnostic helpers.
    const std::string& db_path() const { return db_path_; }
    std::string blob_path(std::string_view hash_hex) const;
    std::size_t cached_data_keys() const { return key_cache_.size(); }
    std::size_t cached_versions() const { return read_cache_.size(); }
    std::uint64_t version_cache_hits() const { return read_cache_.hits(); }

    // Called by ObjectReader when it goes away.
    void unpin(const std::vector<std::int64_t>& blobs);
    // Used by ObjectReader (read.cc).
    internal::PlainCache& plain_cache() { return plain_cache_; }

    // A version about to be added (put, copy, complete, delete marker).
    struct NewVersion {
        bool marker = false;
        std::uint64_t size = 0;
        std::string etag, sha256, attrs;
        int parts = 0;
        std::vector<std::pair<std::int64_t, std::uint64_t>> segments;  // (blob row, size)
    };

private:
    LocalStore(StoreSettings s, internal::Keyring keys)
        : settings_(std::move(s)),
          plain_cache_(settings_.plain_cache_bytes, settings_.plain_cache_max_object),
          db_path_(settings_.dir + "/meta.db"),
          pool_(db_path_, settings_.busy_timeout_ms),
          group_(pool_),
          keys_(std::move(keys)) {}

    Result<void> init_schema();
    Result<void> create_default_buckets();

    // Inside a transaction on `c`.
    Result<Versioning> versioning_of(internal::Conn& c, std::string_view bucket);
    Result<std::pair<std::int64_t, std::string>> add_version(internal::Conn& c,
                                                             std::string_view bucket,
                                                             std::string_view key, Versioning v,
                                                             const NewVersion& nv,
                                                             std::int64_t now_ns);
    Result<void> remove_row(internal::Conn& c, std::int64_t row);
    Result<void> check_put_conditions(internal::Conn& c, std::string_view bucket,
                                      std::string_view key, const PutOptions& opts);
    // kHeld (naming a holder) when any holder holds (bucket, key, version_id).
    Result<void> check_not_held(internal::Conn& c, std::string_view bucket, std::string_view key,
                                std::string_view version_id);
    // The row of (bucket, key, version or latest); kNoSuchKey/kNoSuchVersion/kDeleteMarker.
    Result<ObjectInfo> find_version(internal::Conn& c, std::string_view bucket,
                                    std::string_view key, std::string_view version_id,
                                    std::int64_t* row, bool allow_marker);

    // Makes a written blob durable and referenced: rename into place (if new), then runs
    // `commit` (given the blob's row id) inside the one transaction that inserts the blob row.
    // *fresh (may be null): the blob row is the writer's own (not an existing blob of the same
    // bytes, whose file id and data key differ from the writer's).
    Result<void> commit_blob(
        internal::BlobWriter& w,
        const std::function<Result<void>(internal::Conn&, std::int64_t blob)>& commit,
        bool* fresh = nullptr);

    // The WriteClock counts of a name's stripe (internal::name_hash) now.
    internal::Stamp stamp_of(std::size_t name_hash);
    // After put() committed `o` as the latest version of its name: puts it in read_cache_ so the
    // next GET needs no lookup, if the counts show no other write of that stripe (and no
    // global one) ended between `before` (loaded before the commit) and now.
    void install_written(const ObjectInfo& o, std::size_t name_hash, internal::Stamp before,
                         const internal::BlobWriter& w, std::int64_t blob);

    std::string seal_data_key(std::string_view hash_hex, std::string_view key, std::int64_t* gen);
    Result<std::string> unseal(std::int64_t gen, std::string_view aad, std::string_view sealed);
    Result<std::string> data_key(const std::string& file_id, std::int64_t gen,
                                 std::string_view hash_hex, std::string_view sealed);
    // The version open_object and head serve, from read_cache_ or else from SQLite (then
    // cached). Not for delete markers (kDeleteMarker) or missing names.
    Result<std::shared_ptr<const internal::ResolvedVersion>> resolve(std::string_view bucket,
                                                                     std::string_view key,
                                                                     std::string_view version_id);
    Result<std::shared_ptr<const internal::ResolvedVersion>> resolve_from_db(
        std::string_view bucket, std::string_view key, std::string_view version_id);

    Result<void> lifecycle_bucket(internal::Conn& c, const std::string& bucket, Versioning v,
                                  const std::vector<LifecycleRule>& rules, std::int64_t now_ns);
    Result<void> sweep_orphans();
    std::string key_file() const;

    StoreSettings settings_;
    internal::PlainCache plain_cache_;
    std::string db_path_;
    internal::Pool pool_;
    internal::GroupCommit group_;  // PUT and UploadPart commits
    internal::Keyring keys_;
    int lock_fd_ = -1;
    std::unique_ptr<internal::SharedClock> shared_clock_;  // set by open_local before any write

    std::shared_mutex maint_mu_;
    std::array<std::mutex, 256> stripes_;
    internal::KeyCache key_cache_{16384};              // about 2 MiB when full
    internal::ReadCache read_cache_{8192, 32u << 20};  // entries, bytes
    std::mutex pin_mu_;
    std::unordered_map<std::int64_t, int> pinned_;  // blob row -> open readers
};

// Helpers shared by the store's .cc files.
namespace internal {
std::int64_t to_ns(Clock::time_point t);
Clock::time_point from_ns(std::int64_t ns);
std::int64_t now_ns();
std::string new_version_id();
Error no_bucket(std::string_view name);
// Rows of "SELECT " MOAT_VERSION_COLS " FROM versions v ..." to ObjectInfo. (A macro so the
// SQL stays a string literal: Conn::prepare keys its cache by the literal's address.)
#define MOAT_VERSION_COLS                                                                   \
    "v.id, v.bucket, v.key, v.vid, v.latest, v.marker, v.size, v.mtime, v.etag, v.sha256, " \
    "v.parts, v.attrs"
ObjectInfo version_from(const Stmt& s);
}  // namespace internal

}  // namespace moat::store
