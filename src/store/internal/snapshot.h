#pragma once
// Helpers shared by backup and restore: what a metadata snapshot refers to, durable file
// copies, and "empty or absent" destination folders. Private to store/.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace moat::store::internal {

// What a metadata database (a backup's meta.db) refers to on disk.
struct SnapshotContents {
    std::uint64_t versions = 0;      // version rows, delete markers included
    std::vector<std::string> blobs;  // hex hashes of the blobs stored as files
};
Result<SnapshotContents> read_snapshot(const std::string& db_path);

// "<root>/blobs/<2 hex>/<hash>": the layout of a store folder, and of a backup.
std::string blob_file(const std::string& root, const std::string& hash_hex);

// Copies `src` to the new file `dst` (mode 0600, must not exist) and fsyncs it; returns the
// bytes copied. The caller fsyncs the folder.
Result<std::uint64_t> copy_file(const std::string& src, const std::string& dst);

// Copies every blob file in `hashes` from the store or backup folder `from` into `to`, same
// layout, fsyncing files and folders. Returns the bytes copied.
Result<std::uint64_t> copy_blobs(const std::string& from, const std::string& to,
                                 const std::vector<std::string>& hashes);

// Creates `dir` (0700) unless it exists; kConflict when it exists and is not an empty folder.
Result<void> make_empty_dir(const std::string& dir);
// kConflict when `dir` exists and is not an empty folder.
Result<void> check_absent_or_empty(const std::string& dir);
// Removes everything inside `dir` (not `dir` itself); best effort, for cleaning up a failure.
void clear_dir(const std::string& dir);

}  // namespace moat::store::internal
