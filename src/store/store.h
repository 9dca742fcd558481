#pragma once
// The versioned object store: buckets, objects with versions and delete markers, multipart
// uploads, lifecycle rules, encryption at rest. S3's data model without HTTP (the s3 part maps
// requests onto these calls; the release part reads objects from here).
//
// Durability contract: a call that returned success survives kill -9 and power loss (blob
// written to a temp file, fsync, rename, fsync of the folder, then the SQLite commit in WAL
// mode); a call that failed or was interrupted leaves nothing visible. Thread-safe: any thread
// may call any method; methods block on disk I/O, never call them on an edge worker.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/settings.h"

namespace moat::store {

// Error::reason values of store errors (Error::code keeps the general class).
enum class Reason : int {
    kNone = 0,
    kNoSuchBucket,        // kNotFound
    kNoSuchKey,           // kNotFound
    kNoSuchVersion,       // kNotFound
    kNoSuchUpload,        // kNotFound
    kNoSuchLifecycle,     // kNotFound
    kBucketNotEmpty,      // kConflict
    kBucketExists,        // kConflict (already owned: moat has one owner)
    kInvalidBucketName,   // kInvalidArgument
    kInvalidKey,          // kInvalidArgument: empty, not UTF-8, over 1024 bytes
    kPreconditionFailed,  // kConflict: If-None-Match: * and the key exists
    kInvalidPart,         // kInvalidArgument: unknown part or ETag mismatch on Complete
    kInvalidPartOrder,    // kInvalidArgument
    kEntityTooSmall,      // kInvalidArgument: a non-last part under 5 MiB
    kEntityTooLarge,      // kTooLarge
    kBodyRejected,        // the BodySource failed (digest mismatch, truncation): its error wins
    kDeleteMarker,        // kNotFound: the latest version (or the one asked for) is a marker
    kNoSpace,             // kUnavailable: ENOSPC/EDQUOT
    kHeld,                // kConflict: remove() of a version a release holds
};
inline Error store_error(Errc code, Reason reason, std::string detail) {
    Error e{code, std::move(detail)};
    e.reason = static_cast<int>(reason);
    return e;
}
inline Reason reason_of(const Error& e) { return static_cast<Reason>(e.reason); }

enum class Versioning : std::uint8_t { kUnversioned, kEnabled, kSuspended };

using Clock = std::chrono::system_clock;
using Headers = std::vector<std::pair<std::string, std::string>>;

struct BucketInfo {
    std::string name;
    Clock::time_point created;
    Versioning versioning = Versioning::kUnversioned;
};

// What PutObject / CreateMultipartUpload / CopyObject(REPLACE) record with the object, kept
// exactly as sent and returned as is.
struct ObjectAttributes {
    std::string content_type;  // empty: none was sent (GET answers binary/octet-stream)
    Headers user_meta;         // x-amz-meta-* with the prefix removed, names lower-cased
    Headers system_meta;       // cache-control, content-disposition, content-encoding,
                               // content-language, expires: as sent
    Headers checksums;         // "crc32" | "crc32c" | "crc64nvme" | "sha1" | "sha256" -> base64
                               // value of the whole object, as the client sent and the body
                               // reader verified it (a copy keeps them: the bytes are the same)
};

struct ObjectInfo {
    std::string bucket;
    std::string key;
    std::string version_id;  // "null" for the null version
    bool is_latest = false;
    bool delete_marker = false;
    std::uint64_t size = 0;
    Clock::time_point last_modified;
    std::string etag;    // without quotes: hex MD5, or "<hex md5 of md5s>-<parts>"
    std::string sha256;  // hex SHA-256 of the whole plaintext (empty for a delete marker)
    int parts = 0;       // number of parts of a multipart object, 0 otherwise
    ObjectAttributes attrs;
};

// A request body as the store pulls it. The s3 part decodes aws-chunked framing and checks
// Content-MD5 / x-amz-checksum-* inside read(): a mismatch or a truncated body is reported as
// an error from the last read, and the store then discards everything it wrote.
class BodySource {
public:
    virtual ~BodySource() = default;
    // Up to n bytes into buf; 0 at the end of the body.
    virtual Result<std::size_t> read(char* buf, std::size_t n) = 0;
    // The x-amz-checksum-* values the source verified over the whole body ("crc32" -> base64),
    // asked once read() returned 0: a checksum sent as an aws-chunked trailer is known only
    // then. put() records them with the version (ObjectAttributes::checksums, one per
    // algorithm, replacing a value of the same algorithm in PutOptions::attrs).
    virtual Headers verified_checksums() const { return {}; }
};

// Plaintext bytes of an object lent without a copy: `bytes` stays valid, unchanged, for as long
// as any copy of `owner` lives (the store dropping or evicting the entry meanwhile included).
struct Slice {
    std::string_view bytes;
    std::shared_ptr<const void> owner;
};

// Reads one version's plaintext, decrypting only the chunks a range needs.
class ObjectReader {
public:
    virtual ~ObjectReader() = default;
    virtual const ObjectInfo& info() const = 0;
    // Up to n bytes starting at offset; 0 at or past the end.
    virtual Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n) = 0;
    // Zero-copy read: up to n bytes at offset (at least one; it ends early at a segment's end)
    // when they are already in memory as plaintext, or have just been decrypted into memory
    // that the store keeps (a hot large blob). nullopt: use read_at (also at or past the end,
    // and when the bytes are not kept; an error shows there too). Errors are never returned
    // here, so a caller can try view() first on every piece.
    virtual std::optional<Slice> view(std::uint64_t offset, std::size_t n) {
        (void)offset;
        (void)n;
        return std::nullopt;
    }
};

struct PutOptions {
    ObjectAttributes attrs;
    bool if_none_match_any = false;  // If-None-Match: *  -> kPreconditionFailed if a current
                                     // (non-marker) version exists
    // If-Match: the write happens only if the current version's ETag (hex MD5, no quotes) is
    // this one, checked inside the commit, so two writers racing on one key cannot both win
    // (the compare-and-swap a lease lock in the store is built on). kPreconditionFailed when
    // it differs; kNoSuchKey when there is no current version.
    std::optional<std::string> if_match_etag;
    std::optional<std::uint64_t> expected_size;  // when the length is known up front
};

// ListObjects (v1 and v2 both map onto this).
struct ListQuery {
    std::string prefix;
    std::string delimiter;  // empty: none
    std::string after;      // keys strictly greater (marker / start-after / continuation)
    int max_keys = 1000;    // 0..1000
};
struct ListPage {
    std::vector<ObjectInfo> objects;           // latest non-marker versions, key order
    std::vector<std::string> common_prefixes;  // in key order, each once
    bool truncated = false;
    std::string next_after;  // last key or common prefix returned, when truncated
};

struct VersionQuery {
    std::string prefix;
    std::string delimiter;
    std::string key_marker;
    std::string version_id_marker;
    int max_keys = 1000;
};
struct VersionPage {
    std::vector<ObjectInfo> versions;  // key order, newest first per key; markers included
    std::vector<std::string> common_prefixes;
    bool truncated = false;
    std::string next_key_marker;
    std::string next_version_id_marker;
};

struct DeleteOutcome {
    bool delete_marker = false;  // a marker was created, or the version removed was one
    std::string version_id;      // of the marker created or the version removed
};

struct LifecycleRule {
    std::string id;
    bool enabled = true;
    std::string prefix;                  // filter; empty: whole bucket
    std::optional<int> expiration_days;  // current versions
    bool expired_object_delete_marker = false;
    std::optional<int> noncurrent_days;            // NoncurrentVersionExpiration
    std::optional<int> newer_noncurrent_versions;  // keep this many newest noncurrent ones
    std::optional<int> abort_multipart_days;       // AbortIncompleteMultipartUpload
};

struct MultipartUpload {
    std::string bucket;
    std::string key;
    std::string upload_id;
    Clock::time_point initiated;
};
struct PartInfo {
    int number = 0;
    std::uint64_t size = 0;
    std::string etag;  // hex MD5, no quotes
    Clock::time_point last_modified;
};

// One object version, as releases refer to it.
struct VersionRef {
    std::string bucket;
    std::string key;
    std::string version_id;
};

struct BackupReport {
    std::uint64_t objects = 0;  // versions (and markers) in the snapshot
    std::uint64_t blobs = 0;    // blob files copied
    std::uint64_t bytes = 0;    // bytes of blob files copied
};

struct ScrubReport {
    std::uint64_t blobs = 0;
    std::uint64_t bytes = 0;
    std::vector<std::string> damaged;  // one line each: blob id and what is wrong
    std::vector<std::string> missing;  // referenced blobs that are gone
};

// Access for S3 principals: a principal may read, write and/or list objects of a bucket under a
// key prefix (empty prefix: the whole bucket; bucket "*": every bucket).
struct Grant {
    std::string bucket;
    std::string prefix;
    bool read = false;
    bool write = false;
    bool list = false;
};
struct KeyRecord {
    std::string access_key_id;  // 20 upper-case letters/digits, "MOAT..."
    std::string secret;         // 40 chars; sealed by the master key on disk; empty in keys()
    std::string principal;
    std::vector<Grant> grants;
    Clock::time_point created;
};

class Store {
public:
    // Opens (creating on first use) the store in settings.dir: SQLite metadata, blob folder,
    // master key; creates the default buckets when settings.default_buckets.
    static Result<std::unique_ptr<Store>> open(const StoreSettings& settings);
    // Brings a backup folder (made by backup()) back into settings.dir, which must not hold a
    // store (kConflict otherwise; the caller moves the old one away first). Verifies every
    // blob the metadata refers to exists before it commits the result (a rename of the
    // restored folder into place), so a failed restore leaves nothing half-done.
    static Result<BackupReport> restore(const std::string& src, const StoreSettings& settings);
    virtual ~Store() = default;

    // Buckets.
    virtual Result<void> create_bucket(std::string_view name) = 0;
    virtual Result<void> delete_bucket(std::string_view name) = 0;  // must be empty
    virtual Result<BucketInfo> bucket(std::string_view name) = 0;
    virtual Result<std::vector<BucketInfo>> buckets() = 0;
    virtual Result<void> set_versioning(std::string_view bucket, Versioning v) = 0;
    virtual Result<void> set_lifecycle(std::string_view bucket,
                                       std::vector<LifecycleRule> rules) = 0;  // empty: delete
    virtual Result<std::vector<LifecycleRule>> lifecycle(std::string_view bucket) = 0;

    // Objects. version_id empty: the latest.
    virtual Result<ObjectInfo> put(std::string_view bucket, std::string_view key, BodySource& body,
                                   const PutOptions& opts) = 0;
    virtual Result<ObjectInfo> head(std::string_view bucket, std::string_view key,
                                    std::string_view version_id = {}) = 0;
    virtual Result<std::unique_ptr<ObjectReader>> open_object(std::string_view bucket,
                                                              std::string_view key,
                                                              std::string_view version_id = {}) = 0;
    virtual Result<DeleteOutcome> remove(std::string_view bucket, std::string_view key,
                                         std::string_view version_id = {}) = 0;
    // Copies without copying data (blobs are shared). attrs: replace the metadata (REPLACE),
    // or nullopt to keep the source's (COPY).
    virtual Result<ObjectInfo> copy(std::string_view src_bucket, std::string_view src_key,
                                    std::string_view src_version, std::string_view dst_bucket,
                                    std::string_view dst_key,
                                    const std::optional<ObjectAttributes>& attrs) = 0;
    virtual Result<ListPage> list(std::string_view bucket, const ListQuery& q) = 0;
    virtual Result<VersionPage> list_versions(std::string_view bucket, const VersionQuery& q) = 0;

    // Multipart uploads (parts 1..10000; every part but the last at least 5 MiB).
    virtual Result<std::string> create_upload(std::string_view bucket, std::string_view key,
                                              const ObjectAttributes& attrs) = 0;
    virtual Result<PartInfo> put_part(std::string_view bucket, std::string_view key,
                                      std::string_view upload_id, int number, BodySource& body) = 0;
    // parts: (number, etag without quotes) in the client's order.
    virtual Result<ObjectInfo> complete_upload(
        std::string_view bucket, std::string_view key, std::string_view upload_id,
        const std::vector<std::pair<int, std::string>>& parts) = 0;
    // complete_upload with PutObject's conditions (if_none_match_any, if_match_etag; the rest
    // of `conditions` is not used) checked inside the commit, as put() does (store.md §1.5:
    // CompleteMultipartUpload takes If-None-Match and If-Match). A failed condition leaves the
    // upload and its parts as they were.
    virtual Result<ObjectInfo> complete_upload_if(
        std::string_view bucket, std::string_view key, std::string_view upload_id,
        const std::vector<std::pair<int, std::string>>& parts, const PutOptions& conditions) = 0;
    virtual Result<void> abort_upload(std::string_view bucket, std::string_view key,
                                      std::string_view upload_id) = 0;
    virtual Result<std::vector<PartInfo>> list_parts(std::string_view bucket, std::string_view key,
                                                     std::string_view upload_id) = 0;
    virtual Result<std::vector<MultipartUpload>> list_uploads(std::string_view bucket,
                                                              std::string_view prefix) = 0;

    // Access keys (secrets are stored sealed by the master key, never in plain text).
    virtual Result<KeyRecord> create_key(std::string_view principal, std::vector<Grant> grants) = 0;
    virtual Result<KeyRecord> find_key(std::string_view access_key_id) = 0;  // kNotFound
    virtual Result<std::vector<KeyRecord>> keys() = 0;                       // secrets empty
    virtual Result<void> delete_key(std::string_view access_key_id) = 0;

    // Holds (S3 Object Lock's legal hold, counted per holder): a version held by any holder is
    // never removed by lifecycle rules (apply_lifecycle skips it, and the rule applies again
    // on a later run once the hold is gone), and remove() of that exact version fails with
    // kHeld (Errc::kConflict). Releases hold the versions their manifests name, holder
    // "release:<site>:<id>". hold() adds to the holder's set (idempotent; unknown versions:
    // kNoSuchVersion and nothing is held); release_holds() drops all of the holder's holds.
    virtual Result<void> hold(std::string_view holder, const std::vector<VersionRef>& versions) = 0;
    virtual Result<void> release_holds(std::string_view holder) = 0;
    virtual Result<bool> is_held(const VersionRef& version) = 0;

    // A version (not a delete marker) whose plaintext has this SHA-256 (lower-case hex), in
    // any bucket; the newest such one. kNotFound when no version has it. Lets a deploy upload
    // only what the store lacks and make new versions of known content with copy() (blobs
    // shared, no data copied). Indexed: one lookup, not a scan.
    virtual Result<ObjectInfo> find_by_sha256(std::string_view sha256) = 0;

    // A consistent snapshot into the folder `dest` (created; must not exist or be empty):
    // the SQLite metadata by SQLite's online backup API, every blob file the snapshot refers
    // to (copied, still encrypted), and the master key file (0600). Writes keep working during
    // the backup; garbage collection waits for it, so no referenced blob vanishes mid-copy.
    // Every file is fsynced before success. Restore with Store::restore.
    virtual Result<BackupReport> backup(const std::string& dest) = 0;

    // Maintenance (the background job calls these; tests and the CLI may too).
    virtual Result<void> apply_lifecycle(Clock::time_point now) = 0;
    virtual Result<std::uint64_t> collect_garbage() = 0;  // blobs removed
    virtual Result<ScrubReport> scrub() = 0;
    virtual Result<std::uint64_t> rotate_master_key() = 0;  // data keys re-sealed
};

}  // namespace moat::store
