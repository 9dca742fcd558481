#include "store/internal/shared_clock.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/internal/fsutil.h"

namespace moat::store::internal {
namespace {

constexpr std::size_t kFileBytes = SharedClock::kSlots * 64;

// An OFD lock (per open file description, not per process: two stores open in one process
// exclude each other too) on slot i's bytes. F_WRLCK to claim, F_UNLCK to release.
bool lock_slot(int fd, std::size_t i, short type, bool wait) {
    struct flock l {};
    l.l_type = type;
    l.l_whence = SEEK_SET;
    l.l_start = static_cast<off_t>(i * 64);
    l.l_len = 64;
    return ::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &l) == 0;
}

}  // namespace

Result<std::unique_ptr<SharedClock>> SharedClock::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return errno_error(errno, "open " + path);
    struct stat st {};
    // A new file is grown to its size once; every process maps the same zeroed pages.
    if (::fstat(fd, &st) != 0 ||
        (static_cast<std::size_t>(st.st_size) < kFileBytes && ::ftruncate(fd, kFileBytes) != 0)) {
        int err = errno;
        ::close(fd);
        return errno_error(err, "size " + path);
    }
    void* p = ::mmap(nullptr, kFileBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        return errno_error(err, "map " + path);
    }
    std::unique_ptr<SharedClock> c(new SharedClock(fd, static_cast<Slot*>(p)));
    // Slot 0 is shared; a private slot is one nobody holds a lock on.
    for (std::size_t i = 1; i < kSlots; ++i) {
        if (!lock_slot(fd, i, F_WRLCK, false)) continue;
        c->own_ = i;
        std::uint64_t used = c->slots_[0].used.load();
        while (used < i + 1 && !c->slots_[0].used.compare_exchange_weak(used, i + 1)) {
        }
        break;
    }
    return c;
}

SharedClock::~SharedClock() {
    ::munmap(slots_, kFileBytes);
    ::close(fd_);  // drops the slot's lock
}

std::uint64_t SharedClock::others() const {
    std::uint64_t sum = slots_[0].count.load();
    std::size_t used = static_cast<std::size_t>(slots_[0].used.load());
    if (used > kSlots) used = kSlots;
    for (std::size_t i = 1; i < used; ++i)
        if (i != own_) sum += slots_[i].count.load();
    return sum;
}

}  // namespace moat::store::internal
