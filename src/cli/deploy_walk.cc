#include "cli/deploy_walk.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace moat::cli {
namespace fs = std::filesystem;
namespace {

constexpr std::size_t kMaxListed = 20;

struct Problems {
    std::vector<std::string> lines;
    std::size_t total = 0;
    void add(const std::string& path, const std::string& why) {
        if (lines.size() < kMaxListed) lines.push_back(path + ": " + why);
        ++total;
    }
};

// The path as printed: control characters shown as \xNN so the message itself stays readable.
std::string printable(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

bool has_control(const std::string& s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
    });
}

std::string errno_text(int e) { return std::strerror(e); }

// Opening is the real test of readability (access() would answer for the real uid, and root
// passes both anyway).
bool readable(const std::string& abs, bool dir, int& err) {
    int fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | (dir ? O_DIRECTORY : 0));
    if (fd < 0) {
        err = errno;
        return false;
    }
    ::close(fd);
    return true;
}

void walk(const std::string& root, const std::string& rel, std::vector<LocalFile>& out,
          Problems& bad) {
    std::string here = rel.empty() ? root : root + "/" + rel;
    std::error_code ec;
    fs::directory_iterator it(here, ec);
    if (ec) {
        bad.add(rel.empty() ? here : rel, "cannot list the folder: " + ec.message());
        return;
    }
    std::vector<std::string> names;
    for (; it != fs::directory_iterator(); it.increment(ec)) names.push_back(it->path().filename());
    if (ec) bad.add(rel.empty() ? here : rel, "cannot list the folder: " + ec.message());
    std::sort(names.begin(), names.end());
    for (const auto& name : names) {
        std::string path = rel.empty() ? name : rel + "/" + name;
        std::string abs = root + "/" + path;
        std::string shown = printable(path);
        struct stat st {};
        if (::lstat(abs.c_str(), &st) != 0) {
            bad.add(shown, errno_text(errno));
            continue;
        }
        if (has_control(path)) {
            bad.add(shown, "control characters in the path");
            continue;
        }
        if (path.size() > kMaxDeployPath) {
            bad.add(shown.substr(0, 80) + "...",
                    "path longer than " + std::to_string(kMaxDeployPath) + " bytes");
            continue;
        }
        int err = 0;
        if (S_ISLNK(st.st_mode)) {
            bad.add(shown, "symbolic link (copy the target into the folder instead)");
        } else if (S_ISDIR(st.st_mode)) {
            if (!readable(abs, true, err))
                bad.add(shown + "/", "unreadable folder: " + errno_text(err));
            else
                walk(root, path, out, bad);
        } else if (S_ISREG(st.st_mode)) {
            if (!readable(abs, false, err))
                bad.add(shown, "unreadable: " + errno_text(err));
            else
                out.push_back(LocalFile{path, abs, static_cast<std::uint64_t>(st.st_size), ""});
        } else {
            const char* kind = S_ISFIFO(st.st_mode)   ? "a FIFO"
                               : S_ISSOCK(st.st_mode) ? "a socket"
                               : S_ISCHR(st.st_mode)  ? "a character device"
                               : S_ISBLK(st.st_mode)  ? "a block device"
                                                      : "not a regular file";
            bad.add(shown, std::string("special file (") + kind + ")");
        }
    }
}

struct MdFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

Result<std::vector<LocalFile>> walk_folder(const std::string& dir) {
    std::string root = dir;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    struct stat st {};
    // The folder itself may be a symlink (public -> build/out): what lies below may not.
    if (::stat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        return make_error(Errc::kNotFound, dir + ": not a folder");
    std::vector<LocalFile> out;
    Problems bad;
    walk(root, "", out, bad);
    if (bad.total > 0) {
        std::string msg = dir + ": " + std::to_string(bad.total) +
                          (bad.total == 1 ? " path" : " paths") +
                          " cannot be published (nothing was sent):";
        for (const auto& l : bad.lines) msg += "\n  " + l;
        if (bad.total > bad.lines.size())
            msg += "\n  ... and " + std::to_string(bad.total - bad.lines.size()) + " more";
        return make_error(Errc::kInvalidArgument, msg);
    }
    if (out.empty()) return make_error(Errc::kInvalidArgument, dir + ": no files to publish");
    std::sort(out.begin(), out.end(),
              [](const LocalFile& a, const LocalFile& b) { return a.path < b.path; });
    return out;
}

Result<std::string> sha256_file(const std::string& abs, std::uint64_t size) {
    int fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return make_error(Errc::kIo, abs + ": " + errno_text(errno));
    std::unique_ptr<EVP_MD_CTX, MdFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
        ::close(fd);
        return make_error(Errc::kInternal, "EVP_DigestInit_ex failed");
    }
    std::vector<unsigned char> buf(1 << 16);
    std::uint64_t total = 0;
    for (;;) {
        ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            ::close(fd);
            return make_error(Errc::kIo, abs + ": " + errno_text(e));
        }
        if (n == 0) break;
        EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
        total += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    if (total != size)
        return make_error(Errc::kIo, abs + ": changed while being deployed (size " +
                                         std::to_string(size) + ", now " + std::to_string(total) +
                                         ")");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), md, &len);
    static const char* kHex = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        hex += kHex[md[i] >> 4];
        hex += kHex[md[i] & 15];
    }
    return hex;
}

Result<void> hash_files(std::vector<LocalFile>& files, int jobs) {
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    std::mutex mu;
    Error first;
    auto work = [&] {
        for (;;) {
            if (failed.load()) return;
            std::size_t i = next.fetch_add(1);
            if (i >= files.size()) return;
            auto h = sha256_file(files[i].abs, files[i].size);
            if (!h) {
                std::lock_guard lock(mu);
                if (!failed.exchange(true)) first = h.error();
                return;
            }
            files[i].sha256 = std::move(*h);
        }
    };
    std::size_t n = std::clamp<std::size_t>(static_cast<std::size_t>(std::max(jobs, 1)), 1,
                                            std::max<std::size_t>(files.size(), 1));
    std::vector<std::thread> threads;
    for (std::size_t t = 1; t < n; ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    if (failed) return first;
    return {};
}

}  // namespace moat::cli
