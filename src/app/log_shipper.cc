#include "app/log_shipper.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <optional>

#include "core/log.h"

namespace moat::app {
namespace {

namespace fs = std::filesystem;

// "<dist-id>.YYYY-MM-DD-HH.<unique>.gz" -> the end of that hour, or nullopt for other names.
std::optional<std::chrono::system_clock::time_point> hour_end(const std::string& name) {
    if (name.size() < 4 || name.compare(name.size() - 3, 3, ".gz") != 0) return std::nullopt;
    auto first = name.find('.');
    if (first == std::string::npos) return std::nullopt;
    auto second = name.find('.', first + 1);
    if (second == std::string::npos || second - first - 1 != 13) return std::nullopt;
    std::string h = name.substr(first + 1, 13);
    std::tm tm{};
    const char* end = strptime(h.c_str(), "%Y-%m-%d-%H", &tm);
    if (!end || *end != '\0') return std::nullopt;
    std::time_t t = timegm(&tm);
    if (t == static_cast<std::time_t>(-1)) return std::nullopt;
    return std::chrono::system_clock::from_time_t(t) + std::chrono::hours(1);
}

// The file, read as the store pulls it, hashing as it goes so an identical object already in
// the store (a crash after put, before unlink) can be recognised.
class FileSource : public store::BodySource {
public:
    explicit FileSource(int fd) : fd_(fd) {}
    Result<std::size_t> read(char* buf, std::size_t n) override {
        for (;;) {
            ssize_t k = ::read(fd_, buf, n);
            if (k >= 0) return static_cast<std::size_t>(k);
            if (errno == EINTR) continue;
            return make_error(Errc::kIo, std::string("read: ") + std::strerror(errno));
        }
    }

private:
    int fd_;
};

Result<std::string> sha256_file(int fd) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) {
        EVP_MD_CTX_free(ctx);
        return make_error(Errc::kInternal, "sha256 init");
    }
    char buf[65536];
    off_t off = 0;
    for (;;) {
        ssize_t k = ::pread(fd, buf, sizeof buf, off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) {
            EVP_MD_CTX_free(ctx);
            return make_error(Errc::kIo, std::string("read: ") + std::strerror(errno));
        }
        if (k == 0) break;
        EVP_DigestUpdate(ctx, buf, static_cast<std::size_t>(k));
        off += k;
    }
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

}  // namespace

LogShipper::LogShipper(store::Store& store, LogShipperSettings settings)
    : store_(store), settings_(std::move(settings)) {}

LogShipper::~LogShipper() { stop(); }

Result<void> LogShipper::ship_file(const std::string& path, const std::string& key) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return make_error(Errc::kIo, "open " + path + ": " + std::strerror(errno));
    struct FdCloser {
        int fd;
        ~FdCloser() { ::close(fd); }
    } closer{fd};
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return make_error(Errc::kIo, path + ": not a regular file");
    auto digest = sha256_file(fd);
    if (!digest) return digest.error();
    if (auto have = store_.head(settings_.bucket, key);
        have && !have->delete_marker && have->sha256 == *digest) {
        return {};  // shipped before a crash took the unlink away
    }
    if (::lseek(fd, 0, SEEK_SET) != 0)
        return make_error(Errc::kIo, "seek " + path + ": " + std::strerror(errno));
    FileSource src(fd);
    store::PutOptions opts;
    opts.attrs.content_type = "application/gzip";
    opts.expected_size = static_cast<std::uint64_t>(st.st_size);
    auto put = store_.put(settings_.bucket, key, src, opts);
    if (!put) return put.error();
    if (put->sha256 != *digest)
        return make_error(Errc::kIo, path + " changed while it was shipped; will ship again");
    return {};
}

ShipReport LogShipper::ship_once(std::chrono::system_clock::time_point now) {
    ShipReport report;
    std::error_code ec;
    fs::path root = fs::path(settings_.log_dir) / "CloudFront";
    if (!fs::is_directory(root, ec)) return report;
    // CloudFront/<env>/<site>/<file>: exactly three levels; anything else is not ours.
    for (const auto& env : fs::directory_iterator(root, ec)) {
        if (!env.is_directory(ec)) continue;
        for (const auto& site : fs::directory_iterator(env.path(), ec)) {
            if (!site.is_directory(ec)) continue;
            for (const auto& file : fs::directory_iterator(site.path(), ec)) {
                if (!file.is_regular_file(ec)) continue;
                std::string name = file.path().filename().string();
                auto end = hour_end(name);
                if (!end || now < *end + settings_.grace) continue;
                auto mtime = fs::last_write_time(file.path(), ec);
                if (ec) continue;
                auto mtime_sys = std::chrono::file_clock::to_sys(mtime);
                if (now - std::chrono::time_point_cast<std::chrono::system_clock::duration>(
                              mtime_sys) <
                    settings_.grace)
                    continue;
                std::string key = "CloudFront/" + env.path().filename().string() + "/" +
                                  site.path().filename().string() + "/" + name;
                auto size = file.file_size(ec);
                if (auto r = ship_file(file.path().string(), key); !r) {
                    ++report.failed;
                    core::logger("app")->warn("log shipping: {} -> {}/{}: {}", file.path().string(),
                                              settings_.bucket, key, r.error().detail);
                    continue;
                }
                fs::remove(file.path(), ec);
                ++report.shipped;
                report.bytes += size;
            }
        }
    }
    return report;
}

void LogShipper::start() {
    std::lock_guard lock(mu_);
    if (thread_.joinable()) return;
    stopping_ = false;
    thread_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!stopping_) {
            lock.unlock();
            ship_once(std::chrono::system_clock::now());
            lock.lock();
            cv_.wait_for(lock, settings_.interval, [this] { return stopping_; });
        }
    });
}

void LogShipper::stop() {
    {
        std::lock_guard lock(mu_);
        if (!thread_.joinable()) return;
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

}  // namespace moat::app
