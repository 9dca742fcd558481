#include "content/file_cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "content/http_date.h"
#include "content/internal/compress.h"
#include "content/internal/fs.h"
#include "content/mime.h"
#include "core/assert.h"

// Design notes
//
// Two levels. Each worker has a first-level map (root -> rel -> weak_ptr<Node>) that only its
// own thread touches, so a hit takes no lock: one hash lookup, one weak_ptr lock, one fstatat()
// to prove the file is unchanged. The shared second level (mutex) maps root+rel to the Node that
// owns the entry; a worker's miss first looks there, so an entry (its hash, its compressed
// variants, its background job) is built once and shared by every worker.
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
// Roots are opened (O_PATH) once and kept for the cache's life: replacing the root directory
// itself, e.g. by swapping a symlink, is not seen; deploy inside the root instead.
//
// Staleness: an entry records its FileId (dev, ino, size, mtime, ctime) and the FileIds of the
// precompressed siblings it uses; a hit re-stats them all. A background job that read a file
// checks the FileId of its descriptor afterwards and publishes nothing when it changed. A
// sibling that appears after the entry was built is noticed within a second (see
// new_sibling_appeared()).

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

struct Node : FileEntry {
    // Set by build(), immutable once the node is published.
    std::string key;  // root + '\0' + rel
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
    int fd = -1;  // owned by Impl::roots
    StringMap<std::weak_ptr<Node>> files;
};

// One per worker thread, on its own cache lines; only that thread writes to it.
struct alignas(64) Worker {
    StringMap<WorkerRoot> roots;
    std::atomic<std::uint64_t> hits{0}, misses{0};
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

}  // namespace

struct FileCache::Impl {
    FileCacheSettings s;
    std::unique_ptr<Worker[]> workers;

    std::mutex roots_mu;
    StringMap<internal::Fd> roots;  // kept until the cache dies: workers hold the raw fds

    std::mutex mu;  // the second level
    StringMap<std::shared_ptr<Node>> entries;
    std::list<Node*> lru;  // front: newest or given a second chance
    std::uint64_t bytes = 0;
    std::atomic<std::uint64_t> compressions{0};

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
    }

    Result<int> root_fd(const std::string& root) {
        std::lock_guard l(roots_mu);
        if (auto it = roots.find(root); it != roots.end()) return it->second.get();
        auto fd = internal::open_root(root);
        if (!fd) return fd.error();
        int raw = fd->get();
        roots.emplace(root, std::move(*fd));
        return raw;
    }

    Result<LookupResult> miss(WorkerRoot& wr, const std::string& root, std::string_view rel,
                              bool pre, bool comp);
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

Result<LookupResult> FileCache::Impl::miss(WorkerRoot& wr, const std::string& root,
                                           std::string_view rel, bool pre, bool comp) {
    std::string rel_z(rel);  // NUL-terminated for the kernel
    auto r = internal::resolve_beneath(wr.fd, rel_z.empty() ? "." : rel_z.c_str());
    if (!r) return r.error();
    if (r->kind != Lookup::kFile) {
        if (auto it = wr.files.find(rel); it != wr.files.end()) wr.files.erase(it);
        return LookupResult{r->kind, nullptr};
    }

    std::string key;
    key.reserve(root.size() + 1 + rel.size());
    key.append(root).push_back('\0');
    key.append(rel);
    FileId id = internal::file_id(r->st);

    std::shared_ptr<Node> n;
    {
        std::lock_guard l(mu);
        if (auto it = entries.find(key); it != entries.end()) {
            const Node& c = *it->second;
            if (c.id == id && c.precompressed == pre && c.compress == comp) n = it->second;
        }
    }
    if (n && siblings_fresh(wr.fd, *n) && !(pre && new_sibling_appeared(wr.fd, rel_z, *n))) {
        n->referenced.store(true, std::memory_order_relaxed);
    } else {
        auto built = build(wr.fd, rel, std::move(key), std::move(*r), pre, comp);
        if (!built) return built.error();
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
                return it->second;
            }
            unlink_locked(it->second.get());
        }
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

FileCache::FileCache(FileCacheSettings s) : impl_(std::make_unique<Impl>(s)) {}

FileCache::~FileCache() = default;

Result<LookupResult> FileCache::get(const std::string& root, std::string_view rel, int worker,
                                    bool precompressed, bool compress) {
    MOAT_CHECK(worker >= 0 && worker < impl_->s.workers, "FileCache::get: bad worker index");
    Worker& w = impl_->workers[static_cast<std::size_t>(worker)];
    auto rit = w.roots.find(root);
    if (rit == w.roots.end()) {
        auto fd = impl_->root_fd(root);
        if (!fd) {
            if (fd.error().code == Errc::kNotFound) return LookupResult{};
            return fd.error();
        }
        rit = w.roots.emplace(root, WorkerRoot{*fd, {}}).first;
    }
    WorkerRoot& wr = rit->second;

    // Hit path: no lock, no allocation; one fstatat() (plus one per precompressed sibling).
    if (auto fit = wr.files.find(rel); fit != wr.files.end()) {
        std::shared_ptr<Node> n = fit->second.lock();
        if (n && !n->evicted.load(std::memory_order_acquire) && n->precompressed == precompressed &&
            n->compress == compress && stat_matches(wr.fd, fit->first.c_str(), n->id) &&
            siblings_fresh(wr.fd, *n) && !sibling_check_due(wr.fd, fit->first, *n)) {
            bump(w.hits);
            if (!n->referenced.load(std::memory_order_relaxed))
                n->referenced.store(true, std::memory_order_relaxed);
            if (n->job.load(std::memory_order_relaxed) == kJobWanted) impl_->schedule(n);
            return LookupResult{Lookup::kFile, std::move(n)};
        }
    }
    bump(w.misses);
    return impl_->miss(wr, root, rel, precompressed, compress);
}

FileCache::Stats FileCache::stats() const {
    Stats st;
    for (int i = 0; i < impl_->s.workers; ++i) {
        st.hits += impl_->workers[i].hits.load(std::memory_order_relaxed);
        st.misses += impl_->workers[i].misses.load(std::memory_order_relaxed);
    }
    {
        std::lock_guard l(impl_->mu);
        st.bytes = impl_->bytes;
    }
    st.compressions = impl_->compressions.load(std::memory_order_relaxed);
    return st;
}

void FileCache::wait_idle() {
    std::unique_lock l(impl_->jmu);
    impl_->idle_cv.wait(
        l, [&] { return impl_->stop || (impl_->queue.empty() && impl_->active == 0); });
}

}  // namespace moat::content
