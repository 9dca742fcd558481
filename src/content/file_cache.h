#pragma once
// FileCache: the folder origin's view of files on disk, with their validators and compressed
// variants, cached so that a hit is a lookup and, for a watched file, no system call at all.
//
// Threading: get() is called concurrently by every worker thread and must not block on another
// worker (per-worker first-level maps; a shared second level is touched only on a miss).
// Compression and hashing of large files run on the cache's own background threads, never on
// the caller's; an inotify thread watches the directories of cached files.
//
// Never stale. An entry is rebuilt when its file's identity (dev, inode, size, mtime, ctime),
// or that of a precompressed sibling it uses, changed; a usable sibling that appeared, or one
// that vanished, also rebuilds it. How a hit learns of a change:
//  - Watched files (the default): the watcher thread counts inotify events per path on the
//    entry. A change is seen by every get() that starts after the kernel delivered its event
//    to the watcher thread and that thread counted it (microseconds after the write, rename,
//    unlink or close); until then an earlier version may still be served. A hit with no
//    counted event since the last check makes no system call. The first hit after an event
//    stats the file and its siblings (or re-reads it when two writes could share one
//    timestamp tick), exactly as an unwatched hit does.
//  - Everything else is checked with one stat() per file and sibling on every hit, as if no
//    watch existed: files reached through a symlink (the link or any directory above it),
//    files with more than one hard link, paths not in canonical form ("a//b"), files across a
//    mount point below the root, roots on NFS, SMB/CIFS, FUSE, Ceph, AFS, Coda or 9p (changes
//    made by other machines or daemons cause no inotify event), directories beyond
//    max_watches or the kernel's fs.inotify.max_user_watches (logged once), and the whole
//    cache when inotify is unavailable or `watch` is off. Siblings that did not exist when an
//    entry was built are looked for at most once a second for such files.
//  - After lost events (inotify queue overflow), or when a watched directory is moved, deleted
//    or unmounted, every entry is stat-checked once more (entries below that directory are
//    rebuilt and watched anew).
//  - The root itself: every get() re-checks, at most every 100 ms per root, that the root path
//    still names the directory opened (stat of the path vs the descriptor's dev and inode).
//    A root swapped by a symlink flip or a rename is seen within 100 ms of the swap; the old
//    root's entries are then dropped.
// Not seen: writes through a shared writable mmap() of a watched file (inotify reports none),
// and a file system mounted over a directory below the root after its files were cached.
// Safety: paths are resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) below the
// root, so neither "..", nor absolute paths, nor symlinks can leave the root.

#include <atomic>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include "content/encoding.h"
#include "core/result.h"
#include "edge/handler.h"

namespace moat::content {

struct FileCacheSettings {
    std::uint64_t max_bytes = 256ull << 20;         // memory for bodies and variants (LRU)
    std::uint64_t max_memory_file = 1ull << 20;     // files up to this are held in memory
    std::uint64_t max_compress_file = 16ull << 20;  // larger files are never compressed
    std::uint64_t min_compress_size = 256;          // smaller files are never compressed
    int compress_threads = 1;                       // background compression/hashing threads
    int brotli_level = 11, zstd_level = 19, gzip_level = 9;
    int workers = 1;  // number of worker threads that call get() (first-level maps)
    std::uint64_t max_entries = 16384;     // entries (open files) kept, and per-worker map size
    std::uint64_t max_queued_jobs = 4096;  // background jobs waiting; more wait for a later hit
    bool watch = true;                     // inotify: hits on unchanged files make no system call
    std::uint64_t max_watches = 4096;      // directories watched; files below others use stat()
    bool simulate_watch_limit = false;     // tests: every inotify watch fails as on ENOSPC
};

// One representation of a file: identity, a compressed variant made by moat, or a
// precompressed sibling file (.br/.zst/.gz) found on disk.
struct Representation {
    Encoding encoding = Encoding::kIdentity;
    std::uint64_t size = 0;
    std::string etag;  // strong, quoted; differs per encoding ("\"<hash>\"", "\"<hash>-br\"")
    std::shared_ptr<const std::string> bytes;    // whole body in memory, or null
    std::shared_ptr<const edge::OpenFile> file;  // else an open file (offset 0)
};

// An immutable snapshot of one file version. Shared by all workers; lives while referenced.
struct FileEntry {
    std::string path;               // relative path it was found at
    std::string_view content_type;  // from content_type_for(); static storage
    bool compressible = false;
    std::time_t mtime = 0;
    std::string last_modified;       // IMF-fixdate of mtime
    std::uint64_t dev = 0, ino = 0;  // identity, for the staleness check
    std::int64_t mtime_ns = 0, ctime_ns = 0;

    // Index by int(Encoding). identity() always exists once the entry does, except that its
    // etag may be empty for a large file whose hash is still being computed in the background
    // (then no ETag is sent and conditional requests fall back to Last-Modified).
    // Variants appear later, when background compression finishes; read them with load().
    std::atomic<std::shared_ptr<const Representation>> reps[kEncodingCount];
    // The encodings whose `reps` slot is set: one load instead of kEncodingCount atomic
    // shared_ptr loads (each takes a lock inside libstdc++). A slot is only ever set or replaced
    // by another representation, never cleared, so bits are only added: each store to `reps`
    // is followed by a release fetch_or of its bit. A reader that sees a bit (acquire) finds
    // that slot set; a slot may be set a moment before its bit is.
    std::atomic<EncodingSet> available_mask{0};

    std::shared_ptr<const Representation> rep(Encoding e) const {
        return reps[static_cast<int>(e)].load(std::memory_order_acquire);
    }
    EncodingSet available() const {  // encodings whose representation exists now
        return available_mask.load(std::memory_order_acquire);
    }
};

enum class Lookup { kFile, kDirectory, kNotFound };

struct LookupResult {
    Lookup kind = Lookup::kNotFound;
    std::shared_ptr<const FileEntry> entry;  // set for kFile
};

class FileCache {
public:
    explicit FileCache(FileCacheSettings s);
    ~FileCache();  // stops the background threads (pending jobs are dropped)
    FileCache(const FileCache&) = delete;
    FileCache& operator=(const FileCache&) = delete;

    // Looks up `rel` (already percent-decoded and normalised: no leading '/', no "." or ".."
    // segments, no NUL or backslash; the caller enforces that) below the folder `root`
    // (absolute path). `worker` is the calling worker's index in [0, settings.workers).
    // `precompressed`: use .br/.zst/.gz siblings when present and not older than the file.
    // `compress`: schedule br/zstd/gzip variants for compressible files (kept only when smaller).
    // Errors: only kIo for unexpected OS failures; a missing file is kind kNotFound.
    Result<LookupResult> get(const std::string& root, std::string_view rel, int worker,
                             bool precompressed, bool compress);

    struct Stats {
        std::uint64_t hits = 0, misses = 0, bytes = 0, compressions = 0;
        std::uint64_t validations = 0;  // hits that stat()ed the file (unwatched, or an event)
        std::uint64_t watches = 0;      // directories watched now
    };
    Stats stats() const;

    // Waits until no background job is pending (for tests and benchmarks).
    void wait_idle();

    // Waits until the watcher thread has counted the inotify events of every change completed
    // before the call: a get() after it sees those changes (for tests, and for tools that
    // write files and then read them back through the cache).
    void sync_changes();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace moat::content
