#include "store/internal/fsutil.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/internal/crypto.h"
#include "store/store.h"

namespace moat::store::internal {

Error errno_error(int err, std::string_view what) {
    std::string detail = std::string(what) + ": " + std::strerror(err);
    if (err == ENOSPC || err == EDQUOT)
        return store_error(Errc::kUnavailable, Reason::kNoSpace, std::move(detail));
    return make_error(Errc::kIo, std::move(detail));
}

Result<void> make_dirs(const std::string& path) {
    if (path.empty()) return {};
    std::string cur;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = path.find('/', pos + 1);
        cur = path.substr(0, pos);
        if (cur.empty()) continue;
        if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
            return errno_error(errno, "mkdir " + cur);
    }
    return {};
}

Result<void> fsync_dir(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error(errno, "open " + path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return errno_error(err, "fsync " + path);
    return {};
}

Result<void> write_all(int fd, const char* data, std::size_t n, std::string_view what) {
    while (n > 0) {
        ssize_t w = ::write(fd, data, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return errno_error(errno, what);
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, int mode) {
    auto slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    std::string tmp = path + ".tmp-" + to_hex(random_bytes(6));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return errno_error(errno, "create " + tmp);
    auto r = write_all(fd, data.data(), data.size(), "write " + tmp);
    if (r && ::fsync(fd) != 0) r = errno_error(errno, "fsync " + tmp);
    ::close(fd);
    if (r && ::rename(tmp.c_str(), path.c_str()) != 0) r = errno_error(errno, "rename " + tmp);
    if (!r) {
        ::unlink(tmp.c_str());
        return r;
    }
    return fsync_dir(dir);
}

Result<std::string> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return make_error(Errc::kNotFound, path + ": no such file");
        return errno_error(errno, "open " + path);
    }
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            ::close(fd);
            return errno_error(err, "read " + path);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

}  // namespace moat::store::internal
