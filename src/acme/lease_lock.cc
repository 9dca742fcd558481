#include "acme/lease_lock.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace moat::acme {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;

// Runs `fn(current_owner, current_expiry) -> optional new line` under flock.
template <class F>
Result<void> locked_update(const std::string& path, F fn) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return make_error(Errc::kIo, "open " + path + ": " + std::strerror(errno));
    if (::flock(fd, LOCK_EX) != 0) {
        std::string e = std::strerror(errno);
        ::close(fd);
        return make_error(Errc::kIo, "flock " + path + ": " + e);
    }
    char buf[512];
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string owner;
    long long expiry = 0;
    if (n > 0) {
        buf[n] = '\0';
        std::istringstream in(buf);
        in >> owner >> expiry;
        if (!in) owner.clear(), expiry = 0;
    }
    Result<std::string> next = fn(owner, expiry);
    Result<void> out;
    if (!next) {
        out = next.error();
    } else if (::ftruncate(fd, 0) != 0 ||
               ::pwrite(fd, next->data(), next->size(), 0) != static_cast<ssize_t>(next->size())) {
        out = make_error(Errc::kIo, "write " + path + ": " + std::strerror(errno));
    } else {
        ::fsync(fd);
    }
    ::flock(fd, LOCK_UN);
    ::close(fd);
    return out;
}

long long unix_seconds(system_clock::time_point t) {
    return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string LeaseLock::default_owner() {
    char host[128] = {0};
    ::gethostname(host, sizeof host - 1);
    unsigned char r[4] = {0};
    RAND_bytes(r, sizeof r);
    char tail[16];
    std::snprintf(tail, sizeof tail, "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
    return std::string(host) + ":" + std::to_string(::getpid()) + ":" + tail;
}

Result<LeaseLock> LeaseLock::acquire(const std::string& path, const std::string& owner, seconds ttl,
                                     TimePoint now) {
    LeaseLock lock(path, owner, ttl);
    auto r =
        locked_update(path, [&](const std::string& cur, long long expiry) -> Result<std::string> {
            long long t = unix_seconds(now);
            if (!cur.empty() && cur != owner && expiry > t)
                return make_error(Errc::kConflict, "ACME lock " + path + " held by " + cur +
                                                       " for another " +
                                                       std::to_string(expiry - t) + "s");
            return owner + " " + std::to_string(t + ttl.count()) + "\n";
        });
    if (!r) return r.error();
    lock.held_ = true;
    return lock;
}

LeaseLock::LeaseLock(LeaseLock&& o) noexcept
    : path_(std::move(o.path_)), owner_(std::move(o.owner_)), ttl_(o.ttl_), held_(o.held_) {
    o.held_ = false;
}

LeaseLock::~LeaseLock() { release(); }

Result<void> LeaseLock::refresh(TimePoint now) {
    return locked_update(path_,
                         [&](const std::string& cur, long long expiry) -> Result<std::string> {
                             long long t = unix_seconds(now);
                             if (cur != owner_ && !cur.empty() && expiry > t)
                                 return make_error(Errc::kConflict, "ACME lock lost to " + cur);
                             return owner_ + " " + std::to_string(t + ttl_.count()) + "\n";
                         });
}

void LeaseLock::release() {
    if (!held_) return;
    held_ = false;
    (void)locked_update(
        path_, [&](const std::string& cur, long long expiry) -> Result<std::string> {
            if (cur != owner_)
                return cur.empty() ? std::string() : cur + " " + std::to_string(expiry) + "\n";
            return std::string();
        });
}

}  // namespace moat::acme
