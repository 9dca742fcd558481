#pragma once
// Decrypted plaintext of hot large blobs, so a GET of a popular large object copies bytes from
// memory instead of decrypting them again: AES-256-GCM decrypts at about 3 GB/s per core here,
// several times slower than copying a file from the page cache, so no GET that decrypts can
// match reading a plain file (docs/benchmarks.md, Store).
//
// Blobs are content-addressed and immutable, and a file id is never reused (a blob written
// again gets a new one), so an entry keyed by file id never needs invalidation: it is dropped
// only to make room, or when garbage collection removes the blob. Its bytes were authenticated
// when they were decrypted; a GET served from it does not read the disk, so damage done to the
// file later shows at the next decryption (after eviction, or a restart) and in `scrub`.
//
// Why holding plaintext is acceptable: encryption at rest protects the disk (a stolen disk, a
// backup, a decommissioned drive), not this process's memory, which already holds the master
// key and every data key it used. The plaintext of served files is in memory anyway: the edge
// keeps release bodies in its body cache, and the page cache holds every file fs-get serves.
// Bounds keep the exposure small and the memory known: a byte budget (`[store]
// plain_cache_mb`, default 64 MiB) and a per-object limit (`plain_cache_object_mb`, default
// 8 MiB); an entry's bytes are wiped (OPENSSL_cleanse) when the last reader drops it. 0 turns
// the cache off.
//
// Admission: a blob is kept on its second read, and, once the budget is full, only if it was
// read more often (recently) than the entries it would evict: a cyclic pass over more blobs
// than fit then keeps a fixed subset instead of decrypting every blob twice over while
// evicting each one before its next read. Counts halve every so often, so popularity ages.
// Not on the first read: most large objects are read once (a download, the edge filling its
// own body cache), and filling fresh memory costs page faults the caller's reused buffer does
// not (8 MiB: first GET 2.7 ms decrypting into the caller's buffer, 6.3 ms into the cache,
// docs/benchmarks.md).
//
// Memory: entries take at most the budget; an evicted entry lives on while a reader holds it
// (a GET in flight); freed buffers up to twice the object limit are kept for the next fills
// (plain_buffers.h: a fresh buffer costs more in page faults than the decryption). Thread-safe.

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "store/internal/plain_buffers.h"

namespace moat::store::internal {

class PlainCache {
public:
    // One blob's plaintext (zero until written); its bytes are wiped when it dies and its
    // buffer goes back to the pool it came from (if any).
    class Plain {
    public:
        explicit Plain(std::size_t n) : Plain(nullptr, n) {}
        Plain(std::shared_ptr<PlainBuffers> pool, std::size_t n);
        ~Plain();
        Plain(const Plain&) = delete;
        char* data() { return buf_.data; }
        const char* data() const { return buf_.data; }
        std::size_t size() const { return size_; }
        // The bytes the buffer really has (size() and a zero tail): for tests.
        std::size_t capacity() const { return buf_.capacity; }

    private:
        std::shared_ptr<PlainBuffers> pool_;  // null: the buffer is unmapped at once
        PlainBuffers::Buffer buf_;
        std::size_t size_;
    };

    PlainCache(std::size_t budget, std::size_t max_object);
    PlainCache(const PlainCache&) = delete;

    // Counts a read of the blob (`size` plaintext bytes) and returns its plaintext if kept.
    std::shared_ptr<const Plain> get(const std::string& file_id);
    // After a get() miss: whether the reader should decrypt the whole blob into make_plain()
    // and put() it.
    bool admit(const std::string& file_id, std::uint64_t size);
    // A buffer for n bytes of plaintext, recycled when one was kept.
    std::shared_ptr<Plain> make_plain(std::size_t n);
    void put(const std::string& file_id, std::shared_ptr<const Plain> p);
    void erase(const std::string& file_id);  // the blob is gone (garbage collection)
    std::size_t bytes() const;
    std::size_t size() const;
    const PlainBuffers& buffers() const { return *buffers_; }

private:
    struct Entry {
        std::string file_id;
        std::shared_ptr<const Plain> p;
    };
    void age_locked();

    const std::size_t budget_, max_object_;
    const std::shared_ptr<PlainBuffers> buffers_;  // shared with every Plain it handed out
    mutable std::mutex mu_;
    std::size_t bytes_ = 0;
    std::list<Entry> lru_;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
    std::unordered_map<std::string, std::uint32_t> reads_;  // recent reads per file id
    std::uint64_t counted_ = 0;                             // reads since the last halving
};

}  // namespace moat::store::internal
