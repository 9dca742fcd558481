// LocalStore::backup: a consistent copy of the store (metadata snapshot, the blob files it
// refers to, the master key) into a folder that Store::restore (restore.cc) brings back.
#include "store/internal/fsutil.h"
#include "store/internal/snapshot.h"
#include "store/local_store.h"
#include "store/sqlite_backup.h"

namespace moat::store {

std::string LocalStore::key_file() const {
    return settings_.master_key_file.empty() ? settings_.dir + "/master.key"
                                             : settings_.master_key_file;
}

// Order matters: the metadata snapshot first, then the blob files it names. Blobs are
// immutable and content-addressed, so a blob file copied after the snapshot is the one the
// snapshot meant; PUTs that commit after the snapshot add files the backup simply does not
// name. Only garbage collection deletes blob files, and it takes maint_mu_ exclusively, so
// the shared hold below keeps every snapshot blob on disk until it is copied, while PUT, GET
// and copy (shared holders too) go on. Key rotation is exclusive as well: the key file copied
// is the one that sealed the snapshot's data keys.
Result<BackupReport> LocalStore::backup(const std::string& dest) {
    if (dest.empty()) return make_error(Errc::kInvalidArgument, "backup: empty destination");
    MOAT_TRY(internal::make_empty_dir(dest));
    std::shared_lock maint(maint_mu_);
    auto run = [&]() -> Result<BackupReport> {
        MOAT_TRY(sqlite_backup(db_path_, dest + "/meta.db"));
        auto snap = internal::read_snapshot(dest + "/meta.db");
        if (!snap) return snap.error();
        auto bytes = internal::copy_blobs(settings_.dir, dest, snap->blobs);
        if (!bytes) return bytes.error();
        auto key = internal::read_file(key_file());
        if (!key) return key.error();
        MOAT_TRY(internal::write_file_atomic(dest + "/master.key", *key, 0600));
        MOAT_TRY(internal::fsync_dir(dest));
        BackupReport rep;
        rep.objects = snap->versions;
        rep.blobs = snap->blobs.size();
        rep.bytes = *bytes;
        return rep;
    };
    auto rep = run();
    // A half-written backup must not pass for a whole one.
    if (!rep) internal::clear_dir(dest);
    return rep;
}

}  // namespace moat::store
