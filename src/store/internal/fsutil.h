#pragma once
// POSIX file helpers for the store's durability rules (write temp, fsync, rename, fsync the
// folder). Private to store/.

#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::store::internal {

// The Error for a failed system call: ENOSPC/EDQUOT -> kNoSpace, else kIo.
Error errno_error(int err, std::string_view what);

Result<void> make_dirs(const std::string& path);  // mkdir -p, mode 0700
Result<void> fsync_dir(const std::string& path);
// Writes `data` to `path` atomically and durably with `mode`: temp file, fsync, rename, fsync
// the folder.
Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode);
Result<std::string> read_file(const std::string& path);
// write(2) until all is written; EINTR retried.
Result<void> write_all(int fd, const char* data, std::size_t n, std::string_view what);

}  // namespace moat::store::internal
