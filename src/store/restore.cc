// Store::restore: brings a backup folder (backup.cc) back as a store folder, all or nothing.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "store/internal/crypto.h"
#include "store/internal/fsutil.h"
#include "store/internal/snapshot.h"
#include "store/sqlite_backup.h"
#include "store/store.h"

namespace moat::store {

namespace {

// Everything into the fresh folder `tmp`; the caller renames it into place or removes it.
Result<BackupReport> restore_into(const std::string& src, const std::string& tmp,
                                  const std::string& key, bool key_in_dir) {
    // SQLite's backup API rather than a byte copy: should the backup's database have been
    // opened since (a -wal file beside it), the copy still holds every commit.
    MOAT_TRY(sqlite_backup(src + "/meta.db", tmp + "/meta.db"));
    auto snap = internal::read_snapshot(tmp + "/meta.db");
    if (!snap) return snap.error();
    // Every blob is checked before any is copied: a backup with a hole fails fast.
    for (const auto& h : snap->blobs) {
        std::string path = internal::blob_file(src, h);
        if (::access(path.c_str(), F_OK) != 0)
            return make_error(Errc::kNotFound,
                              "restore: the backup lacks blob " + h + " (" + path + ")");
    }
    auto bytes = internal::copy_blobs(src, tmp, snap->blobs);
    if (!bytes) return bytes.error();
    if (key_in_dir) MOAT_TRY(internal::write_file_atomic(tmp + "/master.key", key, 0600));
    MOAT_TRY(internal::fsync_dir(tmp));
    BackupReport rep;
    rep.objects = snap->versions;
    rep.blobs = snap->blobs.size();
    rep.bytes = *bytes;
    return rep;
}

}  // namespace

Result<BackupReport> Store::restore(const std::string& src, const StoreSettings& settings) {
    if (settings.dir.empty()) return make_error(Errc::kInvalidArgument, "restore: dir is empty");
    std::string dir = settings.dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    MOAT_TRY(internal::check_absent_or_empty(dir));
    auto key = internal::read_file(src + "/master.key");
    if (!key) return key.error();
    const bool key_in_dir = settings.master_key_file.empty();
    if (!key_in_dir) {
        // Never overwrite a different key: it may be the only key of the store the operator
        // moved away, and without it that store's data cannot be decrypted.
        auto have = internal::read_file(settings.master_key_file);
        if (have && *have != *key)
            return make_error(Errc::kConflict, "restore: " + settings.master_key_file +
                                                   " holds a different master key");
        if (!have && have.error().code != Errc::kNotFound) return have.error();
    }
    auto slash = dir.rfind('/');
    std::string parent =
        slash == std::string::npos ? "." : (slash == 0 ? "/" : dir.substr(0, slash));
    std::string base = slash == std::string::npos ? dir : dir.substr(slash + 1);
    MOAT_TRY(internal::make_dirs(parent));
    // A sibling, so the final rename stays inside one file system.
    std::string tmp =
        parent + "/." + base + ".restore-" + internal::to_hex(internal::random_bytes(6));
    MOAT_TRY(internal::make_dirs(tmp));
    auto discard = [&](Error e) -> Error {
        std::error_code ec;
        std::filesystem::remove_all(tmp, ec);
        return e;
    };
    auto rep = restore_into(src, tmp, *key, key_in_dir);
    if (!rep) return discard(rep.error());
    if (!key_in_dir) {
        if (auto w = internal::write_file_atomic(settings.master_key_file, *key, 0600); !w)
            return discard(w.error());
    }
    // rename(2) replaces an empty folder `dir` atomically, or creates `dir`.
    if (std::rename(tmp.c_str(), dir.c_str()) != 0)
        return discard(internal::errno_error(errno, "rename " + tmp + " to " + dir));
    MOAT_TRY(internal::fsync_dir(parent));
    return rep;
}

}  // namespace moat::store
