// LocalStore: holds on object versions (releases keep what they serve) and the lookup of a
// version by its content hash (deploys upload only what the store lacks).
#include <algorithm>

#include "store/local_store.h"

namespace moat::store {

using internal::Conn;
using internal::Txn;

namespace {

bool is_sha256_hex(std::string_view s) {
    return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

std::string describe(const VersionRef& v) {
    return v.bucket + "/" + v.key.substr(0, 200) + "@" + v.version_id.substr(0, 100);
}

}  // namespace

// All or nothing in one transaction: a release either holds every version its manifest names
// or none (a version removed meanwhile fails the whole call, so no release is published with
// a hole in it). Statements come from the connection's cache, so ~10,000 versions are 20,000
// steps of two prepared statements inside one write transaction.
Result<void> LocalStore::hold(std::string_view holder, const std::vector<VersionRef>& versions) {
    if (holder.empty()) return make_error(Errc::kInvalidArgument, "store: empty holder");
    auto c = pool_.lease();
    if (!c) return c.error();
    Txn t(**c);
    MOAT_TRY(t.begin());
    (*c)->no_names_changed();  // holds change no version (cached versions do not hold them)
    for (const auto& v : versions) {
        {
            auto s =
                (*c)->prepare("SELECT 1 FROM versions WHERE bucket = ? AND key = ? AND vid = ?");
            s.bind(1, v.bucket).bind(2, v.key).bind(3, v.version_id);
            auto row = s.step();
            if (!row) return row.error();
            if (!*row)
                return store_error(Errc::kNotFound, Reason::kNoSuchVersion,
                                   "cannot hold " + describe(v) + ": no such version");
        }
        auto s = (*c)->prepare(
            "INSERT OR IGNORE INTO holds(bucket, key, version_id, holder) VALUES(?, ?, ?, ?)");
        MOAT_TRY(s.bind(1, v.bucket).bind(2, v.key).bind(3, v.version_id).bind(4, holder).run());
    }
    return t.commit();
}

Result<void> LocalStore::release_holds(std::string_view holder) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("DELETE FROM holds WHERE holder = ?");
    (*c)->no_names_changed();
    return s.bind(1, holder).run();
}

Result<bool> LocalStore::is_held(const VersionRef& version) {
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare(
        "SELECT 1 FROM holds WHERE bucket = ? AND key = ? AND version_id = ? LIMIT 1");
    s.bind(1, version.bucket).bind(2, version.key).bind(3, version.version_id);
    auto row = s.step();
    if (!row) return row.error();
    return *row;
}

Result<void> LocalStore::check_not_held(Conn& c, std::string_view bucket, std::string_view key,
                                        std::string_view version_id) {
    auto s = c.prepare(
        "SELECT holder FROM holds WHERE bucket = ? AND key = ? AND version_id = ? LIMIT 1");
    s.bind(1, bucket).bind(2, key).bind(3, version_id);
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) return {};
    return store_error(Errc::kConflict, Reason::kHeld,
                       "version \"" + std::string(version_id.substr(0, 100)) + "\" of \"" +
                           std::string(key.substr(0, 200)) + "\" is held by " + s.text(0));
}

// One probe of the partial index versions_sha256 (sha256, id) WHERE marker = 0: the
// `marker = 0` term lets SQLite use it, and walking it backwards gives the newest id first.
// Multipart objects record no whole-object SHA-256 (multipart.cc), so they are never found.
Result<ObjectInfo> LocalStore::find_by_sha256(std::string_view sha256) {
    if (!is_sha256_hex(sha256))
        return make_error(Errc::kInvalidArgument, "store: sha256 must be 64 lower-case hex digits");
    auto c = pool_.lease();
    if (!c) return c.error();
    auto s = (*c)->prepare("SELECT " MOAT_VERSION_COLS
                           " FROM versions v WHERE v.sha256 = ? AND v.marker = 0 "
                           "ORDER BY v.id DESC LIMIT 1");
    s.bind(1, sha256);
    auto row = s.step();
    if (!row) return row.error();
    if (!*row)
        return store_error(Errc::kNotFound, Reason::kNoSuchKey,
                           "no version has sha256 " + std::string(sha256));
    return internal::version_from(s);
}

}  // namespace moat::store
