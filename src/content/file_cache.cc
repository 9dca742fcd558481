#include "content/file_cache.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <span>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "content/http_date.h"
#include "content/internal/compress.h"
#include "content/internal/fs.h"
#include "content/internal/watcher.h"
#include "content/mime.h"
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

EncodingSet FileEntry::available() const {
    EncodingSet set = 0;
    for (int i = 0; i < kEncodingCount; ++i)
        if (reps[i].load(std::memory_order_acquire)) set |= encoding_bit(static_cast<Encoding>(i));
    return set;
}

namespace {

using internal::FileId;

constexpr Encoding kCodings[] = {Encoding::kBrotli, Encoding::kZstd, Encoding::kGzip};
constexpr EncodingSet kAllCodings =
    encoding_bit(Encoding::kBrotli) | encoding_bit(Encoding::kZstd) | encoding_bit(Encoding::kGzip);

// The ETag suffix of a variant: "\"<hash>-br\"", "\"<hash>-zstd\"", "\"<hash>-gz\"".
std::string_view tag_suffix(Encoding e) {
    switch (e) {
        case Encoding::kBrotli:
            return "br";
        case Encoding::kZstd:
            return "zstd";
        case Encoding::kGzip:
            return "gz";
        case Encoding::kIdentity:
            break;
    }
    return "";
}

struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Sibling {
    Encoding encoding;
    std::string rel;  // rel + ".br" ...
    FileId id;
    bool operator==(const Sibling&) const = default;
};

enum JobState : int { kNoJob, kJobWanted, kJobQueued };  // kJobWanted: the queue was full

constexpr std::uint64_t kNeverValidated = ~0ull;
constexpr std::int64_t kRootCheckNs = 100'000'000;  // how often hits re-check a root's identity
// Files whose ctime is this close to the moment they were read may be rewritten without their
// FileId changing: the kernel's timestamps are coarse (one tick, 4 ms at HZ=250).
constexpr std::int64_t kRacyNs = 50'000'000;

// A root folder as opened by the cache: replaced, never changed, when its path starts to name
// another directory.
struct Root {
    std::string path;
    std::string prefix;  // path + '\0' + serial + '\0': the start of its entries' keys
    internal::Fd fd;     // O_PATH
    std::uint64_t dev = 0, ino = 0;
    bool local = false;  // a file system whose changes the local kernel sees (not NFS, FUSE...)
    std::atomic<std::int64_t> check_at{0};  // CLOCK_MONOTONIC_COARSE ns of the next check
    std::atomic<bool> replaced{false};
};

// A directory below a root, watched with inotify. Guarded by Impl::mu except `dead`.
struct DirWatch {
    std::string key;  // root prefix + rel of the directory ("" for the root itself)
    std::size_t prefix_size = 0;
    int wd = -1;
    std::uint64_t added = 0;        // Impl::watch_adds once it was added
    int refs = 0;                   // nodes, cached or being built, relying on it
    bool listed = true;             // in Impl::dirs: pins find it
    bool in_wd = true;              // in Impl::by_wd: the kernel watch is ours and reports to it
    std::atomic<bool> dead{false};  // moved, deleted or no longer watched: trust nothing below
};

struct Node : FileEntry {
    // Set by build(), immutable once the node is published.
    std::string key;  // entry_key(): root prefix + rel + '\0' + switches (precompressed, compress)
    FileId id;
    bool precompressed = false, compress = false;
    std::vector<Sibling> siblings;
    EncodingSet sibling_set = 0;
    bool need_hash = false;      // identity is a descriptor whose hash is not known yet
    bool need_compress = false;  // make br/zstd/gzip variants in the background
    std::shared_ptr<const Representation> unhashed[kEncodingCount];  // large siblings to hash
    std::uint64_t initial_mem = 0;

    std::atomic<bool> referenced{false};  // CLOCK bit, set by hits
    std::atomic<bool> evicted{false};     // removed from the second level: hits treat as miss
    std::atomic<int> job{kNoJob};
    std::atomic<std::int64_t> sibling_check_at{0};  // steady seconds: next look for new siblings

    // Guarded by Impl::mu.
    std::uint64_t mem = 0;
    bool cached = false;
    std::list<Node*>::iterator lru;
    bool pinned = false;  // holds a reference on each of `dirs`

    // inotify (see "Watched entries"). Set before the node is published.
    bool watched = false;
    std::vector<std::shared_ptr<DirWatch>> dirs;        // the root down to the file's directory
    std::uint64_t build_seq = 0, build_generation = 0;  // Impl counters as the build began
    std::int64_t read_at_ns = 0;                        // CLOCK_REALTIME before the read
    std::atomic<std::uint64_t> events{0};  // events naming the file or one of its siblings
    std::atomic<std::uint64_t> validated_events{kNeverValidated};
    std::atomic<std::uint64_t> validated_generation{0};

    bool needs_job() const {
        if (need_hash || need_compress) return true;
        for (const auto& u : unhashed)
            if (u) return true;
        return false;
    }
    bool same_version(const Node& o) const {
        return id == o.id && precompressed == o.precompressed && compress == o.compress &&
               siblings == o.siblings;
    }
};

struct WorkerRoot {
    std::shared_ptr<Root> root;
    int fd = -1;  // root->fd
    StringMap<std::weak_ptr<Node>> files;
};

// One per worker thread, on its own cache lines; only that thread writes to it.
struct alignas(64) Worker {
    StringMap<WorkerRoot> roots;
    std::atomic<std::uint64_t> hits{0}, misses{0}, validations{0};
};

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

std::int64_t steady_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// Whether a usable precompressed sibling appeared since the entry was built. Deploy tools often
// write "app.js" first and "app.js.br" a moment later; without this the entry would lack the
// sibling until app.js itself changes. Runs at most once a second per entry, so the extra
// stat() calls stay off the common hit.
bool new_sibling_appeared(int root_fd, const std::string& rel, const Node& n) {
    char path[4096];
    for (Encoding e : kCodings) {
        if (n.sibling_set & encoding_bit(e)) continue;
        std::string_view suffix = encoding_suffix(e);
        if (rel.size() + suffix.size() + 1 > sizeof path) return false;
        std::memcpy(path, rel.data(), rel.size());
        std::memcpy(path + rel.size(), suffix.data(), suffix.size());
        path[rel.size() + suffix.size()] = '\0';
        struct stat st;
        if (::fstatat(root_fd, path, &st, 0) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            internal::file_id(st).mtime_ns >= n.id.mtime_ns)
            return true;
    }
    return false;
}

bool sibling_check_due(int root_fd, const std::string& rel, Node& n) {
    if (!n.precompressed || n.sibling_set == kAllCodings) return false;
    std::int64_t now = steady_seconds();
    if (now < n.sibling_check_at.load(std::memory_order_relaxed)) return false;
    n.sibling_check_at.store(now + 1, std::memory_order_relaxed);
    return new_sibling_appeared(root_fd, rel, n);
}

bool fd_matches(int fd, const FileId& id) {
    struct stat st;
    return ::fstat(fd, &st) == 0 && internal::file_id(st) == id;
}

// The second level's key: one entry per root (serial), path and switches.
std::string entry_key(std::string_view prefix, std::string_view rel, bool pre, bool comp) {
    std::string key;
    key.reserve(prefix.size() + rel.size() + 2);
    key.append(prefix).append(rel).push_back('\0');
    key.push_back(static_cast<char>('0' + (pre ? 1 : 0) + (comp ? 2 : 0)));
    return key;
}

std::int64_t clock_ns(clockid_t clock) {
    timespec ts;
    ::clock_gettime(clock, &ts);  // vDSO: no system call
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

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

}  // namespace

struct FileCache::Impl {
    FileCacheSettings s;
    std::unique_ptr<Worker[]> workers;

    std::mutex roots_mu;
    StringMap<std::shared_ptr<Root>> roots;  // current ones; workers keep theirs alive
    std::uint64_t root_serial = 0;

    std::mutex mu;  // the second level, and the watch table
    StringMap<std::shared_ptr<Node>> entries;
    std::list<Node*> lru;  // front: newest or given a second chance
    std::uint64_t bytes = 0;
    std::atomic<std::uint64_t> compressions{0};

    // inotify; null when unavailable or disabled (then every hit stats).
    std::unique_ptr<internal::DirWatcher> watcher;
    std::atomic<std::uint64_t> generation{0};  // moves when events may have been lost
    // Guarded by mu.
    std::uint64_t event_seq = 0;                            // every event the watcher handled
    std::uint64_t watch_adds = 0;                           // every DirWatch added
    StringMap<std::shared_ptr<DirWatch>> dirs;              // DirWatch::key -> watch
    std::unordered_map<int, std::vector<DirWatch*>> by_wd;  // one wd per directory inode
    std::unordered_set<int> removed_wds;  // removed by us: their IN_IGNORED is expected
    bool warned_watches = false;

    std::mutex jmu;  // background jobs
    std::condition_variable jcv, idle_cv;
    std::deque<std::shared_ptr<Node>> queue;
    int active = 0;
    bool stop = false;
    std::vector<std::thread> threads;

    explicit Impl(FileCacheSettings settings) : s(settings) {
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

    ~Impl() {
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

    Result<std::shared_ptr<Root>> root_state(const std::string& path);
    bool root_stale(const std::shared_ptr<Root>& r);
    void retire_root(const std::shared_ptr<Root>& r);
    bool fresh(Worker& w, const WorkerRoot& wr, const std::string& rel, Node& n);
    void retire(Node& n);

    bool pin_dirs_locked(const Root& root, std::string_view rel,
                         std::vector<std::shared_ptr<DirWatch>>& out);
    void unpin_locked(const std::vector<std::shared_ptr<DirWatch>>& ds);
    void drop_watch_locked(DirWatch& d);
    void unlist_locked(DirWatch& d);
    void forget_wd_locked(int wd);
    void on_events(std::span<const internal::WatchEvent> evs);
    void note_change_locked(const DirWatch& d, std::string_view name);
    void lost_events() { generation.fetch_add(1, std::memory_order_release); }

    Result<LookupResult> miss(WorkerRoot& wr, std::string_view rel, bool pre, bool comp);
    Result<std::shared_ptr<Node>> build(int root_fd, std::string_view rel, std::string key,
                                        internal::Resolved r, bool pre, bool comp);
    std::shared_ptr<Node> insert(std::shared_ptr<Node> n);
    void remember(WorkerRoot& wr, std::string_view rel, const std::shared_ptr<Node>& n);
    void unlink_locked(Node* n);
    void evict_locked();
    bool publish(Node& n, Encoding e, std::shared_ptr<const Representation> rep, std::uint64_t mem);
    void schedule(const std::shared_ptr<Node>& n);
    void run_jobs();
    void run_job(Node& n);
};

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

Result<std::shared_ptr<Node>> FileCache::Impl::build(int root_fd, std::string_view rel,
                                                     std::string key, internal::Resolved r,
                                                     bool pre, bool comp) {
    auto n = std::make_shared<Node>();
    auto ident = std::make_shared<Representation>();
    FileId id = internal::file_id(r.st);
    if (id.size <= s.max_memory_file) {
        // Read, then check that the descriptor still describes the same version: a writer may
        // be rewriting the file in place. Three tries, then report it.
        for (int attempt = 0;; ++attempt) {
            auto body = internal::read_exact(r.fd.get(), id.size);
            struct stat st;
            if (::fstat(r.fd.get(), &st) != 0)
                return make_error(Errc::kIo, "fstat failed after read");
            FileId now = internal::file_id(st);
            if (body && now == id) {
                ident->etag = internal::quoted_etag(internal::etag_token(internal::sha256(*body)));
                ident->bytes = std::make_shared<const std::string>(std::move(*body));
                break;
            }
            if (attempt == 2) {
                if (!body) return body.error();
                return make_error(Errc::kIo, "file keeps changing while being read");
            }
            id = now;
            r.st = st;
        }
        n->initial_mem += id.size;
    } else {
        // Too big to hold: serve from the descriptor, hash in the background.
        ident->file = std::make_shared<const edge::OpenFile>(r.fd.release());
        n->need_hash = true;
    }
    ident->encoding = Encoding::kIdentity;
    ident->size = id.size;

    n->path = std::string(rel);
    n->content_type = content_type_for(rel);
    n->compressible = is_compressible(n->content_type);
    n->mtime = r.st.st_mtim.tv_sec;
    n->last_modified = format_http_date(n->mtime);
    n->dev = id.dev;
    n->ino = id.ino;
    n->mtime_ns = id.mtime_ns;
    n->ctime_ns = id.ctime_ns;
    n->key = std::move(key);
    n->id = id;
    n->precompressed = pre;
    n->compress = comp;
    n->reps[0].store(std::move(ident), std::memory_order_release);

    if (pre) {
        for (Encoding e : kCodings) {
            std::string srel = n->path;
            srel.append(encoding_suffix(e));
            auto sr = internal::resolve_beneath(root_fd, srel.c_str());
            // An unreadable sibling is served as if absent: identity is always correct.
            if (!sr || sr->kind != Lookup::kFile) continue;
            FileId sid = internal::file_id(sr->st);
            // Older than the file: built from a previous version, so its content is stale.
            if (sid.mtime_ns < id.mtime_ns || sid.size == 0) continue;
            auto rep = std::make_shared<Representation>();
            rep->encoding = e;
            rep->size = sid.size;
            if (sid.size <= s.max_memory_file) {
                auto body = internal::read_exact(sr->fd.get(), sid.size);
                if (!body || !fd_matches(sr->fd.get(), sid)) continue;
                // Its own hash: the sibling is not necessarily the compression of this file's
                // bytes by moat's encoder, so it needs a validator of its own.
                rep->etag = internal::quoted_etag(internal::etag_token(internal::sha256(*body)),
                                                  tag_suffix(e));
                rep->bytes = std::make_shared<const std::string>(std::move(*body));
                n->initial_mem += sid.size;
                n->reps[static_cast<int>(e)].store(std::move(rep), std::memory_order_release);
            } else {
                rep->file = std::make_shared<const edge::OpenFile>(sr->fd.release());
                n->unhashed[static_cast<int>(e)] = std::move(rep);  // published once hashed
            }
            n->siblings.push_back(Sibling{e, std::move(srel), sid});
            n->sibling_set |= encoding_bit(e);
        }
    }
    n->need_compress = comp && n->compressible && id.size >= s.min_compress_size &&
                       id.size <= s.max_compress_file && n->sibling_set != kAllCodings;
    return n;
}

std::shared_ptr<Node> FileCache::Impl::insert(std::shared_ptr<Node> n) {
    {
        std::lock_guard l(mu);
        if (auto it = entries.find(n->key); it != entries.end()) {
            // Another worker built the same version meanwhile: share theirs, so the file is
            // compressed once.
            if (it->second->same_version(*n)) {
                it->second->referenced.store(true, std::memory_order_relaxed);
                if (n->pinned) unpin_locked(n->dirs);
                n->pinned = false;
                return it->second;
            }
            unlink_locked(it->second.get());
        }
        // Trusted from the start only if the watcher handled no event since the build began:
        // one may have been about this file, and found no node to count it on.
        n->validated_events.store(event_seq == n->build_seq ? 0 : kNeverValidated,
                                  std::memory_order_relaxed);
        n->validated_generation.store(n->build_generation, std::memory_order_relaxed);
        n->cached = true;
        n->mem = n->initial_mem;
        bytes += n->mem;
        lru.push_front(n.get());
        n->lru = lru.begin();
        entries.emplace(n->key, n);
        evict_locked();
    }
    if (n->needs_job()) schedule(n);
    return n;
}

void FileCache::Impl::remember(WorkerRoot& wr, std::string_view rel,
                               const std::shared_ptr<Node>& n) {
    if (auto it = wr.files.find(rel); it != wr.files.end()) {
        it->second = n;
        return;
    }
    if (wr.files.size() >= s.max_entries) {
        std::erase_if(wr.files, [](const auto& kv) { return kv.second.expired(); });
        if (wr.files.size() >= s.max_entries) wr.files.clear();
    }
    wr.files.emplace(std::string(rel), n);
}

void FileCache::Impl::unlink_locked(Node* n) {
    n->evicted.store(true, std::memory_order_release);
    n->cached = false;
    bytes -= n->mem;
    lru.erase(n->lru);
    if (n->pinned) unpin_locked(n->dirs);  // keeps `dirs` itself: hits may be reading it
    n->pinned = false;
    auto it = entries.find(n->key);
    MOAT_ASSERT(it != entries.end() && it->second.get() == n);
    entries.erase(it);  // may destroy *n: last
}

void FileCache::Impl::evict_locked() {
    std::size_t second_chances = lru.size();
    while ((bytes > s.max_bytes || entries.size() > s.max_entries) && !lru.empty()) {
        Node* victim = lru.back();
        if (second_chances > 0 && victim->referenced.exchange(false, std::memory_order_relaxed)) {
            --second_chances;
            lru.splice(lru.begin(), lru, std::prev(lru.end()));
            victim->lru = lru.begin();
            continue;
        }
        unlink_locked(victim);
    }
}

bool FileCache::Impl::publish(Node& n, Encoding e, std::shared_ptr<const Representation> rep,
                              std::uint64_t mem) {
    std::lock_guard l(mu);
    if (!n.cached) return false;  // evicted meanwhile: nobody new will see it
    n.reps[static_cast<int>(e)].store(std::move(rep), std::memory_order_release);
    n.mem += mem;
    bytes += mem;
    if (mem > 0) evict_locked();
    return true;
}

void FileCache::Impl::schedule(const std::shared_ptr<Node>& n) {
    int state = n->job.load(std::memory_order_relaxed);
    if (state == kJobQueued || !n->job.compare_exchange_strong(state, kJobQueued)) return;
    {
        std::lock_guard l(jmu);
        if (stop) return;
        if (queue.size() >= s.max_queued_jobs) {
            // Bounded: leave it for a later hit to queue again (see get()).
            n->job.store(kJobWanted, std::memory_order_relaxed);
            return;
        }
        queue.push_back(n);
    }
    jcv.notify_one();
}

void FileCache::Impl::run_jobs() {
    for (;;) {
        std::shared_ptr<Node> n;
        {
            std::unique_lock l(jmu);
            jcv.wait(l, [&] { return stop || !queue.empty(); });
            if (stop) return;
            n = std::move(queue.front());
            queue.pop_front();
            ++active;
        }
        if (!n->evicted.load(std::memory_order_acquire)) run_job(*n);
        n.reset();
        {
            std::lock_guard l(jmu);
            --active;
            if (queue.empty() && active == 0) idle_cv.notify_all();
        }
    }
}

void FileCache::Impl::run_job(Node& n) {
    auto ident = n.rep(Encoding::kIdentity);
    std::string data;  // the identity body when it is not in memory and compression needs it
    std::string token;
    if (n.need_hash) {
        int fd = ident->file->fd;
        bool keep = n.need_compress;
        if (keep) data.reserve(ident->size);
        auto h = internal::sha256_fd(fd, ident->size, keep ? &data : nullptr);
        // A read error or an in-place rewrite: publish nothing; the next get() sees the new
        // FileId and rebuilds the entry.
        if (!h || !fd_matches(fd, n.id)) return;
        token = internal::etag_token(*h);
        auto rep = std::make_shared<Representation>(*ident);
        rep->etag = internal::quoted_etag(token);
        publish(n, Encoding::kIdentity, std::move(rep), 0);
    } else if (ident->etag.size() > 2) {
        token = ident->etag.substr(1, ident->etag.size() - 2);
    }

    for (const Sibling& sib : n.siblings) {
        const auto& u = n.unhashed[static_cast<int>(sib.encoding)];
        if (!u) continue;
        auto h = internal::sha256_fd(u->file->fd, u->size, nullptr);
        if (!h || !fd_matches(u->file->fd, sib.id)) continue;
        auto rep = std::make_shared<Representation>(*u);
        rep->etag = internal::quoted_etag(internal::etag_token(*h), tag_suffix(sib.encoding));
        publish(n, sib.encoding, std::move(rep), 0);
    }

    if (!n.need_compress || token.empty()) return;
    std::string_view src = ident->bytes ? std::string_view(*ident->bytes) : data;
    if (src.size() != ident->size) return;
    for (Encoding e : kCodings) {
        if (n.sibling_set & encoding_bit(e)) continue;  // the site's own file takes precedence
        if (n.evicted.load(std::memory_order_relaxed)) return;
        int level = e == Encoding::kBrotli ? s.brotli_level
                    : e == Encoding::kZstd ? s.zstd_level
                                           : s.gzip_level;
        auto out = internal::compress(e, src, level);
        // Keep a variant only when it saves bytes; an incompressible file stays identity-only.
        if (!out || out->size() >= src.size()) continue;
        auto rep = std::make_shared<Representation>();
        rep->encoding = e;
        rep->size = out->size();
        rep->etag = internal::quoted_etag(token, tag_suffix(e));
        rep->bytes = std::make_shared<const std::string>(std::move(*out));
        std::uint64_t size = rep->size;
        if (publish(n, e, std::move(rep), size))
            compressions.fetch_add(1, std::memory_order_relaxed);
    }
}

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

// Removes `n` from the second level, so that the next miss builds it anew.
void FileCache::Impl::retire(Node& n) {
    std::lock_guard l(mu);
    if (n.cached) unlink_locked(&n);
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
