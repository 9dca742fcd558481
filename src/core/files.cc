#include "core/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace moat::core {
namespace {

Error errno_error(int err, const std::string& what) {
    return make_error(err == ENOENT ? Errc::kNotFound : Errc::kIo,
                      what + ": " + std::strerror(err));
}

// Writes `data` to a new temp file beside `path` (mode `mode`, fsynced) and returns its name:
// the pid and a per-process counter make it unique, O_EXCL makes sure of it.
Result<std::string> write_temp(const std::string& path, std::string_view data, unsigned mode) {
    static std::atomic<unsigned> counter{0};
    std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." +
                      std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) return errno_error(errno, "create " + tmp);
    auto fail = [&](const char* what) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        return errno_error(err, what + tmp);
    };
    if (::fchmod(fd, mode) != 0) return fail("chmod ");  // O_CREAT's mode is masked by the umask
    for (std::size_t off = 0; off < data.size();) {
        ssize_t n = ::write(fd, data.data() + off, data.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("write ");
        off += static_cast<std::size_t>(n);
    }
    // fsync before the rename: after a crash the name must not point at an empty file.
    if (::fsync(fd) != 0) return fail("fsync ");
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        return errno_error(err, "close " + tmp);
    }
    return tmp;
}

// Makes the new name durable (the rename or link is an entry in the folder).
Result<void> fsync_parent(const std::string& path) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error(errno, "open " + dir);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return errno_error(err, "fsync " + dir);
    return {};
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno_error(errno, path);
    std::string out;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return make_error(Errc::kIo, "read " + path + ": " + std::strerror(err));
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, unsigned mode) {
    auto tmp = write_temp(path, data, mode);
    if (!tmp) return tmp.error();
    if (::rename(tmp->c_str(), path.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp->c_str());
        return make_error(Errc::kIo, "rename to " + path + ": " + std::strerror(err));
    }
    return fsync_parent(path);
}

Result<bool> create_file_once(const std::string& path, std::string_view data, unsigned mode) {
    auto tmp = write_temp(path, data, mode);
    if (!tmp) return tmp.error();
    int rc = ::link(tmp->c_str(), path.c_str());
    int err = errno;
    ::unlink(tmp->c_str());
    if (rc != 0 && err == EEXIST) return false;
    if (rc != 0) return make_error(Errc::kIo, "link " + path + ": " + std::strerror(err));
    MOAT_TRY(fsync_parent(path));
    return true;
}

Result<void> make_dirs(const std::string& path, unsigned mode) {
    std::filesystem::path cur;
    for (const auto& part : std::filesystem::path(path)) {
        cur /= part;
        if (cur.string() == "/" || cur.empty()) continue;
        if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
            return make_error(Errc::kIo, "mkdir " + cur.string() + ": " + std::strerror(errno));
    }
    return {};
}

}  // namespace moat::core
