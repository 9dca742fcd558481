#pragma once
// BodyCache: the bytes of released objects, shared by every release and path that serves the
// same content. Keyed by (identity SHA-256, encoding); holds only weak references, so a body
// lives exactly as long as some Representation (of a live release, or of a response still
// being written) uses it, and is freed with the last of them.
//
// Small bodies are read into memory; larger ones (or any once the memory budget is spent) are
// decrypted into an unlinked temporary file (O_TMPFILE) in the cache folder and served from
// its descriptor. Owned by release::Catalog; get() blocks on the store (control plane only);
// thread-safe (one mutex, never taken on the request path).

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "edge/handler.h"
#include "store/store.h"

namespace moat::release::internal {

struct Body {
    std::shared_ptr<const std::string> bytes;    // in memory, or null
    std::shared_ptr<const edge::OpenFile> file;  // else an unlinked temporary file
    std::uint64_t size = 0;
};

struct BodyLimits {
    std::uint64_t max_memory_file = 1ull << 20;
    std::uint64_t memory_budget = 256ull << 20;
    std::string cache_dir;  // created 0700 on first use
};

class BodyCache {
public:
    // `store` must outlive the cache.
    BodyCache(store::Store& store, BodyLimits limits);
    ~BodyCache();
    BodyCache(const BodyCache&) = delete;
    BodyCache& operator=(const BodyCache&) = delete;

    // The body known as (sha256, encoding), read from `from` when no live one exists.
    // `size` is the expected length. `verify_sha256`: check the bytes' SHA-256 equals
    // `sha256` (the identity encoding; variants are only checked by size).
    // Errors: those of the store (version gone: kNotFound), kIo for a damaged body (wrong
    // length or hash) or a failure of the cache folder.
    Result<Body> get(std::string_view sha256, std::string_view encoding,
                     const store::VersionRef& from, std::uint64_t size, bool verify_sha256);

    struct Stats {
        std::uint64_t bodies = 0;
        std::uint64_t memory_bytes = 0;
        std::uint64_t file_bytes = 0;
    };
    Stats stats() const;

private:
    struct Slot {
        std::weak_ptr<const std::string> bytes;
        std::weak_ptr<const edge::OpenFile> file;
        std::uint64_t size = 0;
    };
    // Counters decremented by the bodies' deleters, which may run on any thread after the
    // cache is gone (a response still writing): shared, not members.
    struct Counters {
        std::atomic<std::uint64_t> memory{0};
        std::atomic<std::uint64_t> file{0};
    };

    Result<Body> load(std::string_view sha256, const store::VersionRef& from, std::uint64_t size,
                      bool verify_sha256);
    Result<void> ensure_dir();
    void prune();  // drops slots whose body is gone; mu_ held

    store::Store& store_;
    BodyLimits limits_;
    std::shared_ptr<Counters> counters_ = std::make_shared<Counters>();
    mutable std::mutex mu_;
    std::unordered_map<std::string, Slot> slots_;
    bool dir_ready_ = false;
};

}  // namespace moat::release::internal
