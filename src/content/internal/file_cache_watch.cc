// FileCache: roots and watches. Opens roots and re-checks their identity; keeps the table of
// inotify watches on the directories of cached files and turns events into per-node counts.
#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "content/internal/file_cache_impl.h"
#include "core/assert.h"
#include "core/log.h"

namespace moat::content {

namespace internal {

namespace {

// Whether the local kernel sees every change: not so on network file systems, where other
// machines write, nor on FUSE, where a daemon decides. inotify stays silent about those.
bool local_fs(int fd) {
    struct statfs sf;
    if (::fstatfs(fd, &sf) != 0) return false;
    switch (static_cast<std::uint32_t>(sf.f_type)) {
        case 0x6969:      // NFS
        case 0x517B:      // SMB
        case 0xFE534D42:  // SMB2
        case 0xFF534D42:  // CIFS
        case 0x65735546:  // FUSE
        case 0x00C36400:  // Ceph
        case 0x5346414F:  // AFS
        case 0x73757245:  // Coda
        case 0x01021997:  // 9p
            return false;
        default:
            return true;
    }
}

// The one spelling of a path the watcher rebuilds from events ("a/b.html"): no empty, "." or
// ".." segment.
bool canonical(std::string_view rel) {
    if (rel.empty()) return false;
    for (std::size_t start = 0;;) {
        std::size_t end = rel.find('/', start);
        std::string_view seg = rel.substr(start, end == std::string_view::npos ? end : end - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        if (end == std::string_view::npos) return true;
        start = end + 1;
    }
}

// Whether every change to the file `id` at `rel` is reported to the watches on the directories
// of `rel`: no component is a symlink (a change at a link's target is reported in the target's
// directory), no mount point is crossed, and the file has a single name (a write through
// another hard link is reported in that link's directory only). Like comparing
// realpath(root/rel) with realpath(root)/rel, on the descriptor. Blocks on the disk (misses).
bool plainly_reachable(int root_fd, std::uint64_t root_dev, std::string_view rel,
                       const FileId& id) {
    struct stat st;
    for (std::size_t end = rel.find('/');; end = rel.find('/', end + 1)) {
        std::string part(rel.substr(0, end));
        if (::fstatat(root_fd, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
        if (static_cast<std::uint64_t>(st.st_dev) != root_dev) return false;
        if (end == std::string_view::npos)
            return S_ISREG(st.st_mode) && st.st_nlink == 1 && internal::file_id(st).ino == id.ino;
        if (!S_ISDIR(st.st_mode)) return false;
    }
}

}  // namespace

std::int64_t clock_ns(clockid_t clock) {
    timespec ts;
    ::clock_gettime(clock, &ts);  // vDSO: no system call
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Two writes within one timestamp tick of the read may leave the FileId unchanged.
bool racy(const Node& n) {
    if (n.id.ctime_ns + kRacyNs >= n.read_at_ns) return true;
    for (const auto& s : n.siblings)
        if (s.id.ctime_ns + kRacyNs >= n.read_at_ns) return true;
    return false;
}

// Whether the watches on `n`'s directories (root to parent) report every change to it.
bool watchable(const Root& root, const Node& n) {
    if (!canonical(n.path) || n.id.dev != root.dev) return false;
    if (!plainly_reachable(root.fd.get(), root.dev, n.path, n.id)) return false;
    for (const auto& s : n.siblings)
        if (!plainly_reachable(root.fd.get(), root.dev, s.rel, s.id)) return false;
    return true;
}

// False when a directory of a watched node moved or went away: its path may now lead to
// another directory, which nobody watches on the node's behalf.
bool dirs_alive(const Node& n) {
    for (const auto& d : n.dirs)
        if (d->dead.load(std::memory_order_acquire)) return false;
    return true;
}

}  // namespace internal

namespace {

using internal::canonical;
using internal::clock_ns;
using internal::DirWatch;
using internal::kCodings;
using internal::kRootCheckNs;
using internal::local_fs;
using internal::Node;
using internal::Root;

}  // namespace

Result<std::shared_ptr<Root>> FileCache::Impl::root_state(const std::string& path) {
    std::lock_guard l(roots_mu);
    if (auto it = roots.find(path); it != roots.end()) return it->second;
    auto fd = internal::open_root(path);
    if (!fd) return fd.error();
    struct stat st;
    if (::fstat(fd->get(), &st) != 0)
        return make_error(Errc::kIo, std::string("fstat root: ") + std::strerror(errno));
    auto r = std::make_shared<Root>();
    r->path = path;
    r->prefix = path;
    r->prefix.push_back('\0');
    r->prefix.append(std::to_string(++root_serial)).push_back('\0');
    r->dev = static_cast<std::uint64_t>(st.st_dev);
    r->ino = static_cast<std::uint64_t>(st.st_ino);
    r->local = local_fs(fd->get());
    r->fd = std::move(*fd);
    r->check_at.store(clock_ns(CLOCK_MONOTONIC_COARSE) + kRootCheckNs, std::memory_order_relaxed);
    roots.emplace(path, r);
    return r;
}

// Whether `r` must no longer be used: retired, or its path now names another directory (a
// deploy flipped a symlink or renamed folders). Called by every get(); the check itself, one
// stat(), runs at most every kRootCheckNs per root, by whichever worker finds it due.
bool FileCache::Impl::root_stale(const std::shared_ptr<Root>& r) {
    if (r->replaced.load(std::memory_order_acquire)) return true;
    std::int64_t now = clock_ns(CLOCK_MONOTONIC_COARSE);
    std::int64_t due = r->check_at.load(std::memory_order_relaxed);
    if (now < due) return false;
    if (!r->check_at.compare_exchange_strong(due, now + kRootCheckNs, std::memory_order_relaxed))
        return false;  // another worker checks
    struct stat st;
    if (::stat(r->path.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_dev) == r->dev &&
        static_cast<std::uint64_t>(st.st_ino) == r->ino)
        return false;
    retire_root(r);
    return true;
}

// Drops `r` and every entry read through it; the next get() opens the path again.
void FileCache::Impl::retire_root(const std::shared_ptr<Root>& r) {
    {
        std::lock_guard l(roots_mu);
        if (auto it = roots.find(r->path); it != roots.end() && it->second == r) roots.erase(it);
    }
    r->replaced.store(true, std::memory_order_release);
    std::lock_guard l(mu);
    std::vector<Node*> old;
    for (const auto& [key, n] : entries)
        if (key.starts_with(r->prefix)) old.push_back(n.get());
    for (Node* n : old) unlink_locked(n);
}

// Pins the watches of the directories from the root down to rel's parent, adding missing
// ones. Returns false, with nothing pinned, when one cannot be watched.
bool FileCache::Impl::pin_dirs_locked(const Root& root, std::string_view rel,
                                      std::vector<std::shared_ptr<DirWatch>>& out) {
    out.clear();
    if (!watcher || !root.local || !canonical(rel)) return false;
    for (std::size_t end = 0;;) {  // rel[0, end) is the directory; canonical: no '/' at 0
        std::string key = root.prefix;
        key.append(rel.substr(0, end));
        std::shared_ptr<DirWatch> d;
        if (auto it = dirs.find(key); it != dirs.end()) {
            d = it->second;
        } else {
            Result<int> wd = make_error(Errc::kUnavailable, "watch limit (max_watches) reached");
            if (dirs.size() < s.max_watches && !s.simulate_watch_limit) {
                // Through the root's descriptor: the directory read below, whatever the root's
                // path names by now.
                std::string path = "/proc/self/fd/" + std::to_string(root.fd.get());
                if (end > 0) path.append("/").append(rel.substr(0, end));
                wd = watcher->add(path);
            }
            if (!wd) {
                if (wd.error().code == Errc::kUnavailable && !warned_watches) {
                    warned_watches = true;
                    core::logger("content")->warn(
                        "file cache: cannot add inotify watch, some hits re-check files "
                        "with stat err={}",
                        wd.error().detail);
                }
                unpin_locked(out);
                out.clear();
                return false;
            }
            d = std::make_shared<DirWatch>();
            d->key = std::move(key);
            d->prefix_size = root.prefix.size();
            d->wd = *wd;
            d->added = ++watch_adds;
            by_wd[d->wd].push_back(d.get());
            dirs.emplace(d->key, d);
        }
        ++d->refs;
        out.push_back(std::move(d));
        std::size_t next = rel.find('/', end == 0 ? 0 : end + 1);
        if (next == std::string_view::npos) return true;
        end = next;
    }
}

void FileCache::Impl::unpin_locked(const std::vector<std::shared_ptr<DirWatch>>& ds) {
    for (const auto& d : ds)
        if (--d->refs == 0) drop_watch_locked(*d);
}

// No cached node relies on `d` any more: stop watching (the caller keeps `d` alive).
void FileCache::Impl::drop_watch_locked(DirWatch& d) {
    unlist_locked(d);
    if (!d.in_wd) return;
    d.in_wd = false;
    auto it = by_wd.find(d.wd);
    MOAT_ASSERT(it != by_wd.end());
    std::erase(it->second, &d);
    if (!it->second.empty()) return;  // the same directory under another root
    by_wd.erase(it);
    if (watcher) watcher->remove(d.wd);
    if (removed_wds.size() > 2 * s.max_watches + 1024) removed_wds.clear();  // lost IN_IGNOREDs
    removed_wds.insert(d.wd);
}

// Marks `d` dead and makes pins add a new watch for its path. Its nodes keep it alive.
void FileCache::Impl::unlist_locked(DirWatch& d) {
    d.dead.store(true, std::memory_order_release);
    if (!d.listed) return;
    d.listed = false;
    std::string key = d.key;
    dirs.erase(key);
}

// The directory of `wd` moved, was deleted or unmounted: its DirWatches are dead, and so are
// those of the directories below it, whose paths now lead elsewhere too although their own
// watches reported nothing. Nodes below are rebuilt, which watches what is there now.
void FileCache::Impl::forget_wd_locked(int wd) {
    auto it = by_wd.find(wd);
    std::vector<DirWatch*> gone = std::move(it->second);
    by_wd.erase(it);
    std::vector<std::shared_ptr<DirWatch>> below;
    for (DirWatch* d : gone) {
        d->in_wd = false;
        for (const auto& [key, other] : dirs) {
            if (key.size() > d->key.size() && key.starts_with(d->key) &&
                (d->key.size() == d->prefix_size || key[d->key.size()] == '/'))
                below.push_back(other);
        }
        unlist_locked(*d);
    }
    for (const auto& d : below) unlist_locked(*d);  // still in by_wd until their nodes go
}

void FileCache::Impl::on_events(std::span<const internal::WatchEvent> evs) {
    std::lock_guard l(mu);
    for (const auto& ev : evs) {
        ++event_seq;
        if (ev.mask & IN_Q_OVERFLOW) {
            lost_events();
            continue;
        }
        auto it = by_wd.find(ev.wd);
        if (it == by_wd.end()) {
            // inotify_rm_watch() by drop_watch_locked() ends with this: expected.
            if ((ev.mask & IN_IGNORED) && removed_wds.erase(ev.wd) > 0) continue;
            lost_events();
            continue;
        }
        if (ev.mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT)) {
            forget_wd_locked(ev.wd);
            if (ev.mask & IN_MOVE_SELF) watcher->remove(ev.wd);      // it would follow the move
            if (!(ev.mask & IN_IGNORED)) removed_wds.insert(ev.wd);  // IN_IGNORED follows
            lost_events();
            continue;
        }
        if (ev.name.empty()) continue;  // IN_ATTRIB of the directory itself: no entry changed
        for (const DirWatch* d : it->second) note_change_locked(*d, ev.name);
    }
}

// `name` changed in directory `d`: count an event on the nodes of that path, and on those of
// its base path when it is a precompressed sibling ("app.js.br" -> "app.js").
void FileCache::Impl::note_change_locked(const DirWatch& d, std::string_view name) {
    std::string key = d.key;
    if (key.size() > d.prefix_size) key.push_back('/');
    key.append(name);
    std::size_t full = key.size();
    auto count = [&](std::size_t len) {
        key.resize(len);
        key.push_back('\0');
        key.push_back('0');
        for (char sw = '0'; sw <= '3'; ++sw) {  // every switch combination (entry_key())
            key.back() = sw;
            if (auto it = entries.find(key); it != entries.end())
                it->second->events.fetch_add(1, std::memory_order_release);
        }
    };
    count(full);
    for (Encoding e : kCodings) {
        std::string_view suffix = encoding_suffix(e);
        if (name.size() > suffix.size() && name.ends_with(suffix)) count(full - suffix.size());
    }
}

}  // namespace moat::content
