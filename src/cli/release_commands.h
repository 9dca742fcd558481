#pragma once
// Internal to cli/: the release commands are registered by add_release_commands
// (commands.h); the offline ones (restore, principals) live in offline_commands.cc.

#include <string>

#include "cli/commands.h"
#include "core/result.h"
#include "store/store.h"

namespace moat::cli {

// moat restore SRC --data-dir DIR; moat principals add|list|remove (no server needed).
void add_offline_commands(CLI::App& root, Commands& out);

// Restores the backup in `src` (SRC/store/ for the store; releases.db, admin.db, audit.db,
// admin.key, audit.db.head beside it) into the store folder `store_dir`, which must not exist
// (kConflict: the caller moves it away). Checks the backup's required files before anything
// is written; the database files are copied into store_dir, where the config puts them.
// Warnings (an optional file absent) go to stderr.
Result<store::BackupReport> restore_backup(const std::string& src, const std::string& store_dir);

}  // namespace moat::cli
