#pragma once
// DirWatcher: one inotify descriptor and the thread that reads it, for FileCache. Internal to
// content/. add() and remove() may be called from any thread (they are single syscalls); the
// handler runs on the watcher's own thread, one call per batch of events read, and may block
// briefly (FileCache takes its second-level mutex there).

#include <sys/inotify.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>

#include "content/internal/fs.h"
#include "core/result.h"

namespace moat::content::internal {

struct WatchEvent {
    int wd = -1;             // -1 with IN_Q_OVERFLOW
    std::uint32_t mask = 0;  // IN_* bits
    std::string_view name;   // entry in the watched directory; empty for the directory itself
};

class DirWatcher {
public:
    // Valid only during the call.
    using Handler = std::function<void(std::span<const WatchEvent>)>;

    // The events FileCache relies on: any change of an entry's content, identity or name, and
    // the directory itself going away.
    static constexpr std::uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE |
                                           IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

    // Creates the inotify descriptor (IN_CLOEXEC) and starts the thread.
    // Errors: kUnavailable when the kernel refuses (EMFILE: fs.inotify.max_user_instances).
    static Result<std::unique_ptr<DirWatcher>> start(Handler handler);
    ~DirWatcher();  // wakes and joins the thread; the handler is not called afterwards
    DirWatcher(const DirWatcher&) = delete;
    DirWatcher& operator=(const DirWatcher&) = delete;

    // Watches the directory at `path` (symlinks followed; IN_ONLYDIR). The same directory
    // always gets the same descriptor. Errors: kUnavailable when a watch limit is reached
    // (ENOSPC: fs.inotify.max_user_watches, ENOMEM), kNotFound, kIo otherwise.
    Result<int> add(const std::string& path);
    // Ends a watch; the kernel then queues IN_IGNORED for it.
    void remove(int wd);

    // Waits until the handler has returned for every event the kernel queued before the call.
    void sync();

private:
    DirWatcher(Fd inotify, Fd wake, Handler handler);
    void run();

    Fd inotify_, wake_;
    Handler handler_;
    std::mutex mu_;
    std::condition_variable idle_;
    bool busy_ = false;  // guarded by mu_: reading or handling events
    std::thread thread_;
};

}  // namespace moat::content::internal
