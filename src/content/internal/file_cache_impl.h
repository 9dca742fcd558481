#pragma once
// FileCache's internals, shared by the files that implement it: the cache's node and watch
// types, the helpers more than one of those files calls, and FileCache::Impl itself. Internal
// to content/. See file_cache.cc ("Design notes") for how the pieces fit together.
//
//   file_cache.cc                  the public API, the hit path (fresh()) and misses (miss())
//   internal/file_cache_build.cc   building entries: reads, hashes, precompressed siblings
//   internal/file_cache_lru.cc     the second level: insert, publish, CLOCK eviction
//   internal/file_cache_jobs.cc    the background job queue: hashing and compression
//   internal/file_cache_watch.cc   roots and their identity checks, inotify watch bookkeeping

#include <time.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "content/encoding.h"
#include "content/file_cache.h"
#include "content/internal/fs.h"
#include "content/internal/watcher.h"
#include "core/result.h"

namespace moat::content::internal {

constexpr Encoding kCodings[] = {Encoding::kBrotli, Encoding::kZstd, Encoding::kGzip};
constexpr EncodingSet kAllCodings =
    encoding_bit(Encoding::kBrotli) | encoding_bit(Encoding::kZstd) | encoding_bit(Encoding::kGzip);

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

// Defined in file_cache_build.cc.
std::string_view tag_suffix(Encoding e);
bool new_sibling_appeared(int root_fd, const std::string& rel, const Node& n);
bool sibling_check_due(int root_fd, const std::string& rel, Node& n);
bool fd_matches(int fd, const FileId& id);

// Defined in file_cache_watch.cc.
std::int64_t clock_ns(clockid_t clock);
bool racy(const Node& n);
bool watchable(const Root& root, const Node& n);
bool dirs_alive(const Node& n);

}  // namespace moat::content::internal

namespace moat::content {

struct FileCache::Impl {
    FileCacheSettings s;
    std::unique_ptr<internal::Worker[]> workers;

    std::mutex roots_mu;
    // Current ones; workers keep theirs alive.
    internal::StringMap<std::shared_ptr<internal::Root>> roots;
    std::uint64_t root_serial = 0;

    std::mutex mu;  // the second level, and the watch table
    internal::StringMap<std::shared_ptr<internal::Node>> entries;
    std::list<internal::Node*> lru;  // front: newest or given a second chance
    std::uint64_t bytes = 0;
    std::atomic<std::uint64_t> compressions{0};

    // inotify; null when unavailable or disabled (then every hit stats).
    std::unique_ptr<internal::DirWatcher> watcher;
    std::atomic<std::uint64_t> generation{0};  // moves when events may have been lost
    // Guarded by mu.
    std::uint64_t event_seq = 0;   // every event the watcher handled
    std::uint64_t watch_adds = 0;  // every DirWatch added
    internal::StringMap<std::shared_ptr<internal::DirWatch>> dirs;    // DirWatch::key -> watch
    std::unordered_map<int, std::vector<internal::DirWatch*>> by_wd;  // one wd per directory inode
    std::unordered_set<int> removed_wds;  // removed by us: their IN_IGNORED is expected
    bool warned_watches = false;

    std::mutex jmu;  // background jobs
    std::condition_variable jcv, idle_cv;
    std::deque<std::shared_ptr<internal::Node>> queue;
    int active = 0;
    bool stop = false;
    std::vector<std::thread> threads;

    explicit Impl(FileCacheSettings settings);
    ~Impl();

    Result<std::shared_ptr<internal::Root>> root_state(const std::string& path);
    bool root_stale(const std::shared_ptr<internal::Root>& r);
    void retire_root(const std::shared_ptr<internal::Root>& r);
    bool fresh(internal::Worker& w, const internal::WorkerRoot& wr, const std::string& rel,
               internal::Node& n);
    void retire(internal::Node& n);

    bool pin_dirs_locked(const internal::Root& root, std::string_view rel,
                         std::vector<std::shared_ptr<internal::DirWatch>>& out);
    void unpin_locked(const std::vector<std::shared_ptr<internal::DirWatch>>& ds);
    void drop_watch_locked(internal::DirWatch& d);
    void unlist_locked(internal::DirWatch& d);
    void forget_wd_locked(int wd);
    void on_events(std::span<const internal::WatchEvent> evs);
    void note_change_locked(const internal::DirWatch& d, std::string_view name);
    void lost_events() { generation.fetch_add(1, std::memory_order_release); }

    Result<LookupResult> miss(internal::WorkerRoot& wr, std::string_view rel, bool pre, bool comp);
    Result<std::shared_ptr<internal::Node>> build(int root_fd, std::string_view rel,
                                                  std::string key, internal::Resolved r, bool pre,
                                                  bool comp);
    std::shared_ptr<internal::Node> insert(std::shared_ptr<internal::Node> n);
    void remember(internal::WorkerRoot& wr, std::string_view rel,
                  const std::shared_ptr<internal::Node>& n);
    void unlink_locked(internal::Node* n);
    void evict_locked();
    bool publish(internal::Node& n, Encoding e, std::shared_ptr<const Representation> rep,
                 std::uint64_t mem);
    void schedule(const std::shared_ptr<internal::Node>& n);
    void run_jobs();
    void run_job(internal::Node& n);
};

}  // namespace moat::content
