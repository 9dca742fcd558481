#pragma once
// Whole-file reads and writes with one durability rule for every part that keeps small files
// (keys, certificates, state): a new version is written to a temp file of its own, fsynced,
// then renamed (or linked) into place and the folder fsynced, so a reader or a crash sees the
// old file or the new one, never half of one. The store keeps its own variants
// (store/internal/fsutil.h), whose errors carry the store's out-of-space reason.

#include <string>
#include <string_view>

#include "core/result.h"

namespace moat::core {

// Whole file. kNotFound when it does not exist, kIo otherwise.
Result<std::string> read_file(const std::string& path);

// Replaces `path` with `data`, mode `mode` (exactly: the umask does not apply). Temp names are
// unique per call, so concurrent writers (threads or processes) never share one; the last
// rename wins.
Result<void> write_file_atomic(const std::string& path, std::string_view data, unsigned mode);

// Creates `path` holding `data` only if nothing is there yet: the temp file is link()ed into
// place, which fails where rename would replace. true when this call created it, false when
// the file already existed (left untouched). For files that must be created once by whichever
// of several starting processes comes first (a key others then use).
Result<bool> create_file_once(const std::string& path, std::string_view data, unsigned mode);

// mkdir -p; `mode` applies to the folders it creates.
Result<void> make_dirs(const std::string& path, unsigned mode);

}  // namespace moat::core
