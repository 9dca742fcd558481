#pragma once
// Memory for PlainCache's plaintext (plain_cache.h): page-aligned anonymous mappings, and a
// few freed ones kept for the next fill.
//
// Why: filling an 8 MiB entry into fresh memory costs ~7.5 ms of CPU on this VM, of which
// decryption is ~3 ms; most of the rest is the kernel finding and zeroing 2048 fresh pages. A
// buffer kept from a dropped entry has its pages already: a refill measured ~4 ms, what a
// read that decrypts into a reused buffer costs (docs/benchmarks.md, "GET, third round").
// Fresh buffers are mapped with MAP_POPULATE (all pages in one call rather than one fault
// each): that measured only a few percent better than faulting them in, within the noise.
//
// Wiping: the owner wipes the bytes it wrote before it gives a buffer back, so every byte of a
// kept buffer is zero and a shorter blob put into a longer buffer cannot expose the tail of
// the blob that was there before. Thread-safe.

#include <cstddef>
#include <mutex>
#include <vector>

namespace moat::store::internal {

class PlainBuffers {
public:
    struct Buffer {
        char* data = nullptr;
        std::size_t capacity = 0;  // a multiple of the page size, at least the size asked for
    };

    // keep_bytes: the most memory kept in freed buffers (0: none kept).
    explicit PlainBuffers(std::size_t keep_bytes) : keep_(keep_bytes) {}
    ~PlainBuffers();
    PlainBuffers(const PlainBuffers&) = delete;

    // A buffer of at least n bytes, all zero: a kept one of about that size (at most 1/8
    // larger, plus a page), else a new mapping with its pages populated. Aborts when out of
    // memory (STYLE.md §4).
    Buffer take(std::size_t n);
    // Takes back a buffer whose every byte is zero again (the caller wiped what it wrote):
    // kept, the oldest kept ones unmapped to stay within keep_bytes, or unmapped at once.
    void give(Buffer b);

    // A new mapping of at least n bytes (all zero), and its release: for buffers without a pool.
    static Buffer map(std::size_t n);
    static void unmap(Buffer b);

    std::size_t kept() const;
    std::size_t kept_bytes() const;

private:
    const std::size_t keep_;
    mutable std::mutex mu_;
    std::vector<Buffer> free_;  // oldest first
    std::size_t free_bytes_ = 0;
};

}  // namespace moat::store::internal
