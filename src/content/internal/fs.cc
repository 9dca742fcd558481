#include "content/internal/fs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/assert.h"

namespace moat::content::internal {
namespace {

std::int64_t to_ns(const timespec& ts) {
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

Error os_error(const char* what, int err) {
    return make_error(Errc::kIo, std::string(what) + ": " + std::strerror(err));
}

// errno values of openat2/open that mean "there is nothing (for you) here".
bool is_absent(int err) {
    switch (err) {
        case ENOENT:
        case ENOTDIR:
        case EXDEV:   // RESOLVE_BENEATH: the path tried to leave the root
        case ELOOP:   // too many symlinks, or a magic link (/proc/self/fd/...)
        case EACCES:  // unreadable: do not reveal that it exists
        case EPERM:
        case ENAMETOOLONG:
        case ENXIO:  // a FIFO or socket opened in a race with the fstat below
            return true;
        default:
            return false;
    }
}

Result<int> openat2_fd(int dirfd, const char* path, std::uint64_t flags) {
    open_how how{};
    how.flags = flags;
    // RESOLVE_BENEATH confines "..", absolute paths and symlink targets to the root.
    // RESOLVE_NO_MAGICLINKS forbids /proc-style links, which jump anywhere.
    // Not RESOLVE_NO_XDEV: a site may legitimately contain bind mounts, and crossing a mount
    // below the root does not leave the root. Not RESOLVE_NO_SYMLINKS: links that stay
    // inside the root are allowed.
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    for (;;) {
        long fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0) return static_cast<int>(fd);
        int err = errno;
        if (err == EINTR || err == EAGAIN) continue;  // EAGAIN: a rename raced the lookup
        if (err == ENOSYS)
            return make_error(Errc::kInternal,
                              "openat2 is not available (Linux 5.6 or later "
                              "is required to confine paths to the root)");
        if (is_absent(err)) return make_error(Errc::kNotFound, "");
        return os_error("openat2", err);
    }
}

}  // namespace

Fd& Fd::operator=(Fd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

Fd::~Fd() {
    if (fd_ >= 0) ::close(fd_);
}

FileId file_id(const struct stat& st) {
    return FileId{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino),
                  static_cast<std::uint64_t>(st.st_size), to_ns(st.st_mtim), to_ns(st.st_ctim)};
}

Result<Resolved> resolve_beneath(int root_fd, const char* rel) {
    Resolved r;
    // Look first with O_PATH: opening a FIFO for reading would block, and opening a device
    // can have side effects, so only regular files are ever opened for real.
    auto probe = openat2_fd(root_fd, rel, O_PATH | O_CLOEXEC);
    if (!probe) {
        if (probe.error().code == Errc::kNotFound) return r;
        return probe.error();
    }
    Fd pfd(*probe);
    if (::fstat(pfd.get(), &r.st) != 0) return os_error("fstat", errno);
    if (S_ISDIR(r.st.st_mode)) {
        r.kind = Lookup::kDirectory;
        return r;
    }
    if (!S_ISREG(r.st.st_mode)) return r;

    // O_NONBLOCK: should the path turn into a FIFO between the two opens, do not hang.
    auto fd = openat2_fd(root_fd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (!fd) {
        if (fd.error().code == Errc::kNotFound) return r;
        return fd.error();
    }
    r.fd = Fd(*fd);
    if (::fstat(r.fd.get(), &r.st) != 0) return os_error("fstat", errno);
    if (!S_ISREG(r.st.st_mode)) {
        r.fd = Fd();
        return r;
    }
    r.kind = Lookup::kFile;
    return r;
}

Result<Fd> open_root(const std::string& root) {
    int fd = ::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        if (err == ENOENT || err == ENOTDIR) return make_error(Errc::kNotFound, root);
        return os_error("open root", err);
    }
    return Fd(fd);
}

Result<std::string> read_exact(int fd, std::uint64_t size) {
    std::string out(size, '\0');
    std::uint64_t off = 0;
    while (off < size) {
        ssize_t n = ::pread(fd, out.data() + off, size - off, static_cast<off_t>(off));
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error("pread", errno);
        }
        if (n == 0) return make_error(Errc::kIo, "file shrank while being read");
        off += static_cast<std::uint64_t>(n);
    }
    return out;
}

Sha256 sha256(std::string_view data) {
    Sha256 h{};
    unsigned int n = 0;
    MOAT_CHECK(EVP_Digest(data.data(), data.size(), h.data(), &n, EVP_sha256(), nullptr) == 1,
               "EVP_Digest(SHA-256) failed");
    return h;
}

Result<Sha256> sha256_fd(int fd, std::uint64_t size, std::string* keep) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    MOAT_CHECK(ctx != nullptr && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1,
               "SHA-256 init failed");
    constexpr std::size_t kChunk = 256 * 1024;
    std::string buf(kChunk, '\0');
    std::uint64_t off = 0;
    while (off < size) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - off));
        ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            EVP_MD_CTX_free(ctx);
            if (n == 0) return make_error(Errc::kIo, "file shrank while being hashed");
            return os_error("pread", err);
        }
        EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(n));
        if (keep != nullptr) keep->append(buf.data(), static_cast<std::size_t>(n));
        off += static_cast<std::uint64_t>(n);
    }
    Sha256 h{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx, h.data(), &len);
    EVP_MD_CTX_free(ctx);
    return h;
}

std::string etag_token(const Sha256& h) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve(22);
    std::uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 16; ++i) {
        acc = (acc << 8) | h[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(kAlphabet[(acc >> bits) & 63]);
        }
    }
    if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
    return out;
}

std::string quoted_etag(std::string_view token, std::string_view suffix) {
    std::string out;
    out.reserve(token.size() + suffix.size() + 3);
    out.push_back('"');
    out.append(token);
    if (!suffix.empty()) out.append("-").append(suffix);
    out.push_back('"');
    return out;
}

}  // namespace moat::content::internal
