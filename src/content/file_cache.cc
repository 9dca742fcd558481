#include "content/file_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <span>

#include "content/internal/file_cache_impl.h"
#include "content/internal/watcher.h"
#include "core/assert.h"
#include "core/log.h"

// Design notes
//
// Two levels. Each worker has a first-level map (root -> rel -> weak_ptr<Node>) that only its
// own thread touches, so a hit takes no lock: one hash lookup, one weak_ptr lock and, for a
// watched file (see "Staleness"), a few atomic loads instead of a stat. The shared second level
// (mutex) maps root+rel to the Node that owns the entry; a worker's miss first looks there, so an
// entry (its hash, its compressed variants, its background job) is built once and shared by every
// worker.
//
// Memory bound: only the second level owns entries. First-level maps hold weak_ptrs, so an
// entry evicted from the second level is freed as soon as the responses using it finish,
// whether or not the workers ever ask for that path again. Eviction runs whenever the second
// level's byte count (bodies held in memory, plus variants) exceeds max_bytes or its entry
// count exceeds max_entries, with CLOCK (second chance): a hit sets the entry's `referenced`
// bit (a relaxed store, only when not already set, so hot entries cost no cache-line traffic),
// and the evictor gives referenced entries one more round. Each first-level map is capped at
// max_entries slots (expired slots are dropped first, then the whole map), which bounds the
// small control blocks the weak_ptrs keep alive.
//
// Roots are opened (O_PATH) and kept. Hits re-check, at most every kRootCheckNs per root, that
// the root's path still names the directory that was opened (a deploy may flip a symlink or
// rename folders); when it does not, the Root is retired with all its entries and reopened.
// Keys start with the Root's serial, so entries of the old root can never be found again.
//
// Staleness: an entry records its FileId (dev, ino, size, mtime, ctime) and the FileIds of the
// precompressed siblings it uses. A background job that read a file checks the FileId of its
// descriptor afterwards and publishes nothing when it changed.
//
// Watched entries: one inotify watch per directory from the root down to the file's folder
// (DirWatch, shared and reference-counted by the cached nodes below it). The watcher thread
// turns an event "name changed in directory D" into `events` increments on the nodes of
// D/name and, for name.br/.zst/.gz, of D/name's base. A hit trusts a watched node without a
// system call while its `events` and the cache-wide `generation` equal the values recorded when
// it was last validated. Otherwise it re-stats as unwatched nodes always do, and records the
// counters loaded before that stat, so an event racing the stat is never lost. `generation`
// moves when events may have been lost or may not mean what they say: queue overflow, unknown
// watch, a watched directory moved, deleted or unmounted (its DirWatch is then `dead` and nodes
// below it are rebuilt, which watches the directory now at that path).
// Builds: the directories are watched before the file is opened (re-opened if a watch is new),
// and `event_seq` counts every event; a node whose build saw it move starts unvalidated, since
// the event may have concerned its file before the node could be found.
// A node is watched only when inotify reports every change to it: path in canonical form, no
// symlink among its components, no mount point crossed, a single hard link, a local file
// system, and all watches added. Anything else falls back to a stat per hit.
// Two writes within one timestamp tick leave the same FileId: a watched node whose ctime is
// that close to its read is rebuilt on an event rather than trusted on a stat ("racy").

namespace moat::content {

namespace {

using internal::clock_ns;
using internal::dirs_alive;
using internal::DirWatch;
using internal::FileId;
using internal::kJobWanted;
using internal::new_sibling_appeared;
using internal::Node;
using internal::racy;
using internal::Root;
using internal::sibling_check_due;
using internal::watchable;
using internal::Worker;
using internal::WorkerRoot;

// Single writer: a plain load and store avoid a locked instruction on the hit path.
void bump(std::atomic<std::uint64_t>& c) {
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

bool stat_matches(int root_fd, const char* rel, const FileId& id) {
    struct stat st;
    // Follows symlinks: links inside the root are allowed. A link retargeted outside the root
    // yields another FileId, so the entry is rebuilt through openat2, which refuses it.
    return ::fstatat(root_fd, rel, &st, 0) == 0 && internal::file_id(st) == id;
}

bool siblings_fresh(int root_fd, const Node& n) {
    for (const auto& s : n.siblings)
        if (!stat_matches(root_fd, s.rel.c_str(), s.id)) return false;
    return true;
}

// The second level's key: one entry per root (serial), path and switches.
std::string entry_key(std::string_view prefix, std::string_view rel, bool pre, bool comp) {
    std::string key;
    key.reserve(prefix.size() + rel.size() + 2);
    key.append(prefix).append(rel).push_back('\0');
    key.push_back(static_cast<char>('0' + (pre ? 1 : 0) + (comp ? 2 : 0)));
    return key;
}

}  // namespace

FileCache::Impl::Impl(FileCacheSettings settings) : s(settings) {
    s.workers = std::max(1, s.workers);
    s.max_entries = std::max<std::uint64_t>(1, s.max_entries);
    workers = std::make_unique<Worker[]>(static_cast<std::size_t>(s.workers));
    int n = std::max(1, s.compress_threads);
    for (int i = 0; i < n; ++i) threads.emplace_back([this] { run_jobs(); });
    if (s.watch) {
        auto w = internal::DirWatcher::start(
            [this](std::span<const internal::WatchEvent> evs) { on_events(evs); });
        if (w)
            watcher = std::move(*w);
        else
            core::logger("content")->warn(
                "file cache: inotify unavailable, hits re-check files with stat err={}",
                w.error().detail);
    }
}

FileCache::Impl::~Impl() {
    {
        std::lock_guard l(jmu);
        stop = true;
        queue.clear();
    }
    jcv.notify_all();
    idle_cv.notify_all();
    for (auto& t : threads) t.join();
    watcher.reset();  // before the maps its thread reads; after the jobs, which unpin
}

Result<LookupResult> FileCache::Impl::miss(WorkerRoot& wr, std::string_view rel, bool pre,
                                           bool comp) {
    const Root& root = *wr.root;
    // Before anything is opened: an event handled from now on may concern what is read.
    std::uint64_t seq0 = 0, adds0 = 0;
    {
        std::lock_guard l(mu);
        seq0 = event_seq;
        adds0 = watch_adds;
    }
    std::uint64_t gen0 = generation.load(std::memory_order_acquire);

    std::string rel_z(rel);  // NUL-terminated for the kernel
    const char* path = rel_z.empty() ? "." : rel_z.c_str();
    auto r = internal::resolve_beneath(wr.fd, path);
    if (!r) return r.error();
    if (r->kind != Lookup::kFile) {
        if (auto it = wr.files.find(rel); it != wr.files.end()) wr.files.erase(it);
        return LookupResult{r->kind, nullptr};
    }

    // The switches are part of the key: sites sharing a root with different settings get an
    // entry each, instead of replacing each other's (and re-compressing) on every switch.
    std::string key = entry_key(root.prefix, rel, pre, comp);
    FileId id = internal::file_id(r->st);

    std::shared_ptr<Node> n;
    {
        std::lock_guard l(mu);
        if (auto it = entries.find(key); it != entries.end()) {
            const Node& c = *it->second;
            if (c.id == id && c.precompressed == pre && c.compress == comp && dirs_alive(c))
                n = it->second;
        }
    }
    if (n && siblings_fresh(wr.fd, *n) && !(pre && new_sibling_appeared(wr.fd, rel_z, *n))) {
        n->referenced.store(true, std::memory_order_relaxed);
    } else {
        // Watch the directories before reading, so that every later change is reported. A
        // watch added after the open above (by us, or by another worker just now) may have
        // missed a change made in between: open again.
        std::vector<std::shared_ptr<DirWatch>> pins;
        bool pinned = false, reopen = false;
        {
            std::lock_guard l(mu);
            pinned = pin_dirs_locked(root, rel, pins);
            for (const auto& d : pins) reopen |= d->added > adds0;
        }
        auto unpin = [&] {
            if (!pinned) return;
            pinned = false;
            std::lock_guard l(mu);
            unpin_locked(pins);
        };
        if (reopen) {
            r = internal::resolve_beneath(wr.fd, path);
            if (!r || r->kind != Lookup::kFile) {
                unpin();
                if (!r) return r.error();
                if (auto it = wr.files.find(rel); it != wr.files.end()) wr.files.erase(it);
                return LookupResult{r->kind, nullptr};
            }
        }
        std::int64_t read_at = clock_ns(CLOCK_REALTIME);
        auto built = build(wr.fd, rel, std::move(key), std::move(*r), pre, comp);
        if (!built) {
            unpin();
            return built.error();
        }
        Node& b = **built;
        b.build_seq = seq0;
        b.build_generation = gen0;
        b.read_at_ns = read_at;
        if (pinned && watchable(root, b)) {
            b.watched = true;
            b.dirs = pins;  // the node takes over the references
            b.pinned = true;
        } else {
            unpin();
        }
        n = insert(std::move(*built));
    }
    remember(wr, rel, n);
    return LookupResult{Lookup::kFile, std::move(n)};
}

// Whether a hit may serve `n`. A watched node is trusted on its counters alone; otherwise one
// stat() per file (and sibling) proves it unchanged.
bool FileCache::Impl::fresh(Worker& w, const WorkerRoot& wr, const std::string& rel, Node& n) {
    if (!n.watched) {
        bump(w.validations);
        return stat_matches(wr.fd, rel.c_str(), n.id) && siblings_fresh(wr.fd, n) &&
               !sibling_check_due(wr.fd, rel, n);
    }
    // Loaded before the stat below and recorded only when it succeeds: an event handled
    // meanwhile leaves them behind, so the next hit looks again.
    std::uint64_t ev = n.events.load(std::memory_order_acquire);
    std::uint64_t gen = generation.load(std::memory_order_acquire);
    if (ev == n.validated_events.load(std::memory_order_relaxed) &&
        gen == n.validated_generation.load(std::memory_order_relaxed))
        return true;
    bump(w.validations);
    // New siblings are looked for now, not once a second: their creation is one of the events.
    if (!stat_matches(wr.fd, rel.c_str(), n.id) || !siblings_fresh(wr.fd, n) ||
        (n.precompressed && new_sibling_appeared(wr.fd, rel, n)) || !dirs_alive(n))
        return false;
    if (racy(n)) {
        retire(n);  // the FileId cannot tell: read the file again
        return false;
    }
    n.validated_events.store(ev, std::memory_order_relaxed);
    n.validated_generation.store(gen, std::memory_order_relaxed);
    return true;
}

FileCache::FileCache(FileCacheSettings s) : impl_(std::make_unique<Impl>(s)) {}

FileCache::~FileCache() = default;

Result<LookupResult> FileCache::get(const std::string& root, std::string_view rel, int worker,
                                    bool precompressed, bool compress) {
    MOAT_CHECK(worker >= 0 && worker < impl_->s.workers, "FileCache::get: bad worker index");
    Worker& w = impl_->workers[static_cast<std::size_t>(worker)];
    auto rit = w.roots.find(root);
    if (rit != w.roots.end() && impl_->root_stale(rit->second.root)) {
        w.roots.erase(rit);  // its entries were read from the old directory
        rit = w.roots.end();
    }
    if (rit == w.roots.end()) {
        auto r = impl_->root_state(root);
        if (!r) {
            if (r.error().code == Errc::kNotFound) return LookupResult{};
            return r.error();
        }
        int fd = (*r)->fd.get();
        rit = w.roots.emplace(root, WorkerRoot{std::move(*r), fd, {}}).first;
    }
    WorkerRoot& wr = rit->second;

    // Hit path: no lock, no allocation; for a watched file no system call, else one fstatat()
    // (plus one per precompressed sibling).
    if (auto fit = wr.files.find(rel); fit != wr.files.end()) {
        std::shared_ptr<Node> n = fit->second.lock();
        if (n && !n->evicted.load(std::memory_order_acquire) && n->precompressed == precompressed &&
            n->compress == compress && impl_->fresh(w, wr, fit->first, *n)) {
            bump(w.hits);
            if (!n->referenced.load(std::memory_order_relaxed))
                n->referenced.store(true, std::memory_order_relaxed);
            if (n->job.load(std::memory_order_relaxed) == kJobWanted) impl_->schedule(n);
            return LookupResult{Lookup::kFile, std::move(n)};
        }
    }
    bump(w.misses);
    return impl_->miss(wr, rel, precompressed, compress);
}

FileCache::Stats FileCache::stats() const {
    Stats st;
    for (int i = 0; i < impl_->s.workers; ++i) {
        st.hits += impl_->workers[i].hits.load(std::memory_order_relaxed);
        st.misses += impl_->workers[i].misses.load(std::memory_order_relaxed);
        st.validations += impl_->workers[i].validations.load(std::memory_order_relaxed);
    }
    {
        std::lock_guard l(impl_->mu);
        st.bytes = impl_->bytes;
        st.watches = impl_->dirs.size();
    }
    st.compressions = impl_->compressions.load(std::memory_order_relaxed);
    return st;
}

void FileCache::sync_changes() {
    if (impl_->watcher) impl_->watcher->sync();
}

void FileCache::wait_idle() {
    std::unique_lock l(impl_->jmu);
    impl_->idle_cv.wait(
        l, [&] { return impl_->stop || (impl_->queue.empty() && impl_->active == 0); });
}

}  // namespace moat::content
