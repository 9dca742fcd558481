#include "store/internal/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <set>

#include "store/internal/db.h"
#include "store/internal/fsutil.h"

namespace moat::store::internal {

Result<SnapshotContents> read_snapshot(const std::string& db_path) {
    auto c = Conn::open(db_path, 10000);
    if (!c) return c.error();
    SnapshotContents out;
    {
        auto s = (*c)->prepare("SELECT count(*) FROM versions");
        auto row = s.step();
        if (!row) return row.error();
        if (*row) out.versions = static_cast<std::uint64_t>(s.i64(0));
    }
    // Every file blob the metadata has a row for: versions' and multipart parts' blobs, and
    // unreferenced ones garbage collection has not reached yet (a row always has its file:
    // blobs are renamed into place before their row commits, and GC deletes rows first).
    auto s = (*c)->prepare("SELECT hash FROM blobs WHERE data IS NULL ORDER BY hash");
    for (;;) {
        auto row = s.step();
        if (!row) return row.error();
        if (!*row) break;
        out.blobs.push_back(s.text(0));
    }
    return out;
}

std::string blob_file(const std::string& root, const std::string& hash_hex) {
    return root + "/blobs/" + hash_hex.substr(0, 2) + "/" + hash_hex;
}

Result<std::uint64_t> copy_file(const std::string& src, const std::string& dst) {
    int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        if (errno == ENOENT) return make_error(Errc::kNotFound, src + ": no such file");
        return errno_error(errno, "open " + src);
    }
    int out = ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int err = errno;
        ::close(in);
        return errno_error(err, "create " + dst);
    }
    std::uint64_t total = 0;
    Result<void> r;
    std::string buf(1 << 20, '\0');
    for (;;) {
        ssize_t n = ::read(in, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            r = errno_error(errno, "read " + src);
            break;
        }
        if (n == 0) break;
        r = write_all(out, buf.data(), static_cast<std::size_t>(n), "write " + dst);
        if (!r) break;
        total += static_cast<std::uint64_t>(n);
    }
    if (r && ::fsync(out) != 0) r = errno_error(errno, "fsync " + dst);
    ::close(in);
    ::close(out);
    if (!r) {
        ::unlink(dst.c_str());
        return r.error();
    }
    return total;
}

Result<std::uint64_t> copy_blobs(const std::string& from, const std::string& to,
                                 const std::vector<std::string>& hashes) {
    MOAT_TRY(make_dirs(to + "/blobs"));
    std::set<std::string> subs;
    std::uint64_t bytes = 0;
    for (const auto& h : hashes) {
        std::string sub = to + "/blobs/" + h.substr(0, 2);
        if (subs.insert(sub).second) MOAT_TRY(make_dirs(sub));
        auto n = copy_file(blob_file(from, h), blob_file(to, h));
        if (!n) return n.error();
        bytes += *n;
    }
    for (const auto& sub : subs) MOAT_TRY(fsync_dir(sub));
    MOAT_TRY(fsync_dir(to + "/blobs"));
    return bytes;
}

Result<void> check_absent_or_empty(const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0) {
        if (errno == ENOENT) return {};
        return errno_error(errno, "stat " + dir);
    }
    if (!S_ISDIR(st.st_mode)) return make_error(Errc::kConflict, dir + " exists and is no folder");
    DIR* d = ::opendir(dir.c_str());
    if (!d) return errno_error(errno, "open " + dir);
    bool empty = true;
    while (auto* e = ::readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") {
            empty = false;
            break;
        }
    }
    ::closedir(d);
    if (!empty) return make_error(Errc::kConflict, dir + " is not empty");
    return {};
}

Result<void> make_empty_dir(const std::string& dir) {
    MOAT_TRY(check_absent_or_empty(dir));
    MOAT_TRY(make_dirs(dir));
    auto slash = dir.rfind('/');
    if (slash != std::string::npos && slash > 0) MOAT_TRY(fsync_dir(dir.substr(0, slash)));
    return {};
}

void clear_dir(const std::string& dir) {
    std::error_code ec;
    std::vector<std::filesystem::path> entries;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
        entries.push_back(it->path());
    for (const auto& p : entries) std::filesystem::remove_all(p, ec);
}

}  // namespace moat::store::internal
