#include "store/internal/plain_buffers.h"

#include <sys/mman.h>

#include <cstdlib>

namespace moat::store::internal {
namespace {

// Sizes round up to whole pages only: the cache's budget counts plaintext bytes, so a coarser
// rounding would let small entries (from 16 KiB, the inline limit) take several times their
// size. A kept buffer may be up to an eighth larger than asked for, so nearby sizes share.
constexpr std::size_t kPage = 4096;

std::size_t round_up(std::size_t n) { return (n == 0 ? 1 : n + kPage - 1) / kPage * kPage; }

}  // namespace

PlainBuffers::~PlainBuffers() {
    for (const auto& b : free_) unmap(b);
}

PlainBuffers::Buffer PlainBuffers::map(std::size_t n) {
    Buffer b;
    b.capacity = round_up(n);
    void* p = ::mmap(nullptr, b.capacity, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) std::abort();  // out of memory (STYLE.md §4)
    b.data = static_cast<char*>(p);
    return b;
}

void PlainBuffers::unmap(Buffer b) {
    if (b.data) ::munmap(b.data, b.capacity);
}

PlainBuffers::Buffer PlainBuffers::take(std::size_t n) {
    const std::size_t want = round_up(n);
    {
        std::lock_guard lock(mu_);
        // The smallest kept buffer that fits without wasting more than an eighth.
        auto best = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it) {
            if (it->capacity < want || it->capacity > want + want / 8 + kPage) continue;
            if (best == free_.end() || it->capacity < best->capacity) best = it;
        }
        if (best != free_.end()) {
            Buffer b = *best;
            free_.erase(best);
            free_bytes_ -= b.capacity;
            return b;
        }
    }
    return map(n);
}

void PlainBuffers::give(Buffer b) {
    if (!b.data) return;
    std::vector<Buffer> drop;
    {
        std::lock_guard lock(mu_);
        if (b.capacity > keep_) {
            drop.push_back(b);
        } else {
            while (free_bytes_ + b.capacity > keep_) {
                drop.push_back(free_.front());
                free_bytes_ -= free_.front().capacity;
                free_.erase(free_.begin());
            }
            free_.push_back(b);
            free_bytes_ += b.capacity;
        }
    }
    for (const auto& d : drop) unmap(d);  // outside the lock: munmap of 8 MiB is not free
}

std::size_t PlainBuffers::kept() const {
    std::lock_guard lock(mu_);
    return free_.size();
}

std::size_t PlainBuffers::kept_bytes() const {
    std::lock_guard lock(mu_);
    return free_bytes_;
}

}  // namespace moat::store::internal
