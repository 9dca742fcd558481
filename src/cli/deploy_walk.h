#pragma once
// Step 1 of `moat deploy` (docs/admin-api.md): the folder to publish, walked and hashed before
// anything is sent. Nothing is skipped silently: anything that cannot be published as it is
// (a symlink, a FIFO or other special file, an unreadable file or folder, a path with control
// characters or longer than 1024 bytes) makes the walk fail, naming every such path.
// Blocking file I/O; hash_files uses its own threads.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace moat::cli {

struct LocalFile {
    std::string path;  // relative, '/'-separated: "docs/index.html"
    std::string abs;   // where to read it
    std::uint64_t size = 0;
    std::string sha256;  // lower-case hex, after hash_files
};

constexpr std::size_t kMaxDeployPath = 1024;  // bytes of the relative path

// Every regular file below `dir`, sorted by path. Errors: kInvalidArgument listing each
// refused path and why (at most 20, then a count), kNotFound when `dir` is not a folder,
// kInvalidArgument when it holds no file at all.
Result<std::vector<LocalFile>> walk_folder(const std::string& dir);

// SHA-256 of a file, lower-case hex; kIo when it cannot be read or its size is no longer
// `size` (changed during the deploy).
Result<std::string> sha256_file(const std::string& abs, std::uint64_t size);

// Fills each file's sha256, `jobs` files at a time. The first error wins.
Result<void> hash_files(std::vector<LocalFile>& files, int jobs);

}  // namespace moat::cli
