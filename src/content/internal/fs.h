#pragma once
// File-system helpers for FileCache: confined path resolution, whole-file reads and SHA-256
// validators. Internal to content/. All calls block on the disk.

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "content/file_cache.h"
#include "core/result.h"

namespace moat::content::internal {

// Owns a file descriptor.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& o) noexcept : fd_(o.release()) {}
    Fd& operator=(Fd&& o) noexcept;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd();
    int get() const { return fd_; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }

private:
    int fd_ = -1;
};

// What identifies one version of a file: a change of any field means new content may be there.
// ctime catches writes that restore the old mtime (touch -d, rsync -t, tar -x).
struct FileId {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0, ctime_ns = 0;
    bool operator==(const FileId&) const = default;
};
FileId file_id(const struct stat& st);

// A path resolved below a root directory.
struct Resolved {
    Lookup kind = Lookup::kNotFound;
    Fd fd;  // open O_RDONLY for kFile
    struct stat st {};
};

// Opens `rel` (NUL-terminated; "." for the root itself) below `root_fd` with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): "..", absolute paths and symlinks that
// leave the root fail with EXDEV and give kNotFound, as do missing files and anything that is
// neither a regular file nor a directory (FIFOs, devices, sockets).
// Errors: kInternal when the kernel lacks openat2 (there is no safe fallback), kIo otherwise.
Result<Resolved> resolve_beneath(int root_fd, const char* rel);

// Opens a root directory O_PATH, to resolve below. kNotFound when missing or not a directory.
Result<Fd> open_root(const std::string& root);

// Reads exactly `size` bytes from offset 0. kIo on error or when the file is shorter.
Result<std::string> read_exact(int fd, std::uint64_t size);

using Sha256 = std::array<std::uint8_t, 32>;
Sha256 sha256(std::string_view data);
// Hashes `size` bytes of fd from offset 0; appends them to *keep when not null.
Result<Sha256> sha256_fd(int fd, std::uint64_t size, std::string* keep);

// The opaque part of a strong ETag: base64url (RFC 4648 §5, no padding) of the first 16
// bytes of the SHA-256: 128 bits rule out collisions; the result is 22 etagc characters.
std::string etag_token(const Sha256& h);
// "\"<token>\"" or, with a suffix, "\"<token>-<suffix>\"".
std::string quoted_etag(std::string_view token, std::string_view suffix = {});

}  // namespace moat::content::internal
