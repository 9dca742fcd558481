#pragma once
// A consistent copy of a live SQLite database, for backups: the store's metadata, and any other
// SQLite file the app keeps (releases, principals, audit log). Blocks on disk I/O; any thread.

#include <string>

#include "core/result.h"

namespace moat::store {

// Copies `src_db` into the new file `dest_db` (0600; kConflict when it exists, kNotFound when
// `src_db` does not) with SQLite's online backup API: one read transaction on the source, so
// the copy is the database as of one commit, and writers in WAL mode go on meanwhile. The copy
// and its folder are fsynced before success; on failure no `dest_db` is left behind.
Result<void> sqlite_backup(const std::string& src_db, const std::string& dest_db);

}  // namespace moat::store
