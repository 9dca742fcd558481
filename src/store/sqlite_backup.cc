#include "store/sqlite_backup.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>

#include "store/internal/fsutil.h"

namespace moat::store {

namespace {

Error sqlite_error(sqlite3* db, int rc, const std::string& what) {
    return make_error(Errc::kIo, "sqlite backup: " + what + ": " +
                                     (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

struct Db {
    sqlite3* db = nullptr;
    ~Db() { sqlite3_close_v2(db); }
};

Result<void> copy_db(const std::string& src_db, const std::string& dest_db) {
    Db src, dest;
    // Read-write without CREATE: a missing source fails instead of being made, and a WAL
    // source can be read without a writable -shm fallback.
    int rc = sqlite3_open_v2(src_db.c_str(), &src.db, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(src.db, rc, "open " + src_db);
    sqlite3_busy_timeout(src.db, 10000);
    rc = sqlite3_open_v2(dest_db.c_str(), &dest.db, SQLITE_OPEN_READWRITE, nullptr);
    if (rc != SQLITE_OK) return sqlite_error(dest.db, rc, "open " + dest_db);
    sqlite3_backup* b = sqlite3_backup_init(dest.db, "main", src.db, "main");
    if (!b) return sqlite_error(dest.db, SQLITE_ERROR, "backup_init " + dest_db);
    // All pages in one step (-1): the source's read transaction spans the whole copy, so the
    // result is one commit's state. (Stepping in pieces would restart on every source write
    // from another connection and might never finish under a steady write load.) BUSY/LOCKED
    // are transient: a checkpoint or a writer holding a lock for a moment.
    for (int tries = 0;; ++tries) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && tries < 100) {
            sqlite3_sleep(50);
            continue;
        }
        break;
    }
    int fin = sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) return sqlite_error(nullptr, rc, "backup_step " + src_db);
    if (fin != SQLITE_OK) return sqlite_error(dest.db, fin, "backup_finish " + dest_db);
    return {};
}

Result<void> fsync_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return internal::errno_error(errno, "open " + path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return internal::errno_error(err, "fsync " + path);
    return {};
}

}  // namespace

Result<void> sqlite_backup(const std::string& src_db, const std::string& dest_db) {
    if (::access(src_db.c_str(), F_OK) != 0)
        return make_error(Errc::kNotFound, "sqlite backup: " + src_db + ": no such file");
    // Owner-only, like the store's own files (SQLite would create 0644).
    int fd = ::open(dest_db.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST) return make_error(Errc::kConflict, dest_db + " already exists");
        return internal::errno_error(errno, "create " + dest_db);
    }
    ::close(fd);
    auto r = copy_db(src_db, dest_db);
    // The copy's connection is closed by now: the file is complete and (the destination
    // connection never committed in WAL mode) no -wal or -journal file is left beside it.
    if (r) r = fsync_file(dest_db);
    auto slash = dest_db.rfind('/');
    if (r) r = internal::fsync_dir(slash == std::string::npos ? "." : dest_db.substr(0, slash));
    if (!r) {
        ::unlink(dest_db.c_str());
        ::unlink((dest_db + "-journal").c_str());
        ::unlink((dest_db + "-wal").c_str());
        ::unlink((dest_db + "-shm").c_str());
    }
    return r;
}

}  // namespace moat::store
