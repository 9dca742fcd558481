#include "content/internal/watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace moat::content::internal {
namespace {

Error os_error(const char* what, int err) {
    Errc code = Errc::kIo;
    if (err == ENOSPC || err == ENOMEM || err == EMFILE || err == ENFILE) code = Errc::kUnavailable;
    if (err == ENOENT || err == ENOTDIR) code = Errc::kNotFound;
    return make_error(code, std::string(what) + ": " + std::strerror(err));
}

}  // namespace

Result<std::unique_ptr<DirWatcher>> DirWatcher::start(Handler handler) {
    // Non-blocking: run() drains the queue after poll() and must not sleep in read().
    int ifd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ifd < 0) return os_error("inotify_init1", errno);
    Fd inotify(ifd);
    int efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0) return os_error("eventfd", errno);
    std::unique_ptr<DirWatcher> w(new DirWatcher(std::move(inotify), Fd(efd), std::move(handler)));
    w->thread_ = std::thread([p = w.get()] { p->run(); });
    return w;
}

DirWatcher::DirWatcher(Fd inotify, Fd wake, Handler handler)
    : inotify_(std::move(inotify)), wake_(std::move(wake)), handler_(std::move(handler)) {}

DirWatcher::~DirWatcher() {
    std::uint64_t one = 1;
    // Closing the inotify descriptor would not wake a thread blocked on it: signal instead.
    while (::write(wake_.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
    if (thread_.joinable()) thread_.join();
}

Result<int> DirWatcher::add(const std::string& path) {
    int wd = ::inotify_add_watch(inotify_.get(), path.c_str(), kMask);
    if (wd < 0) return os_error("inotify_add_watch", errno);
    return wd;
}

void DirWatcher::remove(int wd) { ::inotify_rm_watch(inotify_.get(), wd); }

void DirWatcher::sync() {
    std::unique_lock l(mu_);
    for (;;) {
        // run() sets busy_ before it reads, so an event is always either still queued in the
        // kernel or counted by busy_.
        int queued = 0;
        if (!busy_ && (::ioctl(inotify_.get(), FIONREAD, &queued) != 0 || queued == 0)) return;
        idle_.wait_for(l, std::chrono::milliseconds(1));
    }
}

void DirWatcher::run() {
    // Room for many events per read(); each is a header plus a name of at most NAME_MAX + 1.
    alignas(inotify_event) char buf[64 * 1024];
    std::vector<WatchEvent> batch;
    pollfd fds[2] = {{inotify_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;  // cannot happen with valid descriptors
        }
        if (fds[1].revents != 0) return;
        {
            std::lock_guard l(mu_);
            busy_ = true;
        }
        for (;;) {
            ssize_t n = ::read(inotify_.get(), buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // EAGAIN: drained
            batch.clear();
            for (char* p = buf; p < buf + n;) {
                auto* ev = reinterpret_cast<inotify_event*>(p);
                // The kernel pads names with NULs up to `len`.
                std::string_view name = ev->len > 0 ? std::string_view(ev->name) : "";
                batch.push_back(WatchEvent{ev->wd, ev->mask, name});
                p += sizeof(inotify_event) + ev->len;
            }
            handler_(batch);
        }
        {
            std::lock_guard l(mu_);
            busy_ = false;
        }
        idle_.notify_all();
    }
}

}  // namespace moat::content::internal
