// FileCache: the second level, which owns the entries. Insertion, publication of
// representations made in the background, and CLOCK eviction within max_bytes/max_entries.
#include <iterator>
#include <mutex>

#include "content/internal/file_cache_impl.h"
#include "core/assert.h"

namespace moat::content {

namespace {

using internal::kNeverValidated;
using internal::Node;
using internal::WorkerRoot;

}  // namespace

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
    MOAT_ASSERT(rep);             // available_mask only gains bits: a slot is never cleared
    n.reps[static_cast<int>(e)].store(std::move(rep), std::memory_order_release);
    n.available_mask.fetch_or(encoding_bit(e), std::memory_order_release);
    n.mem += mem;
    bytes += mem;
    if (mem > 0) evict_locked();
    return true;
}

// Removes `n` from the second level, so that the next miss builds it anew.
void FileCache::Impl::retire(Node& n) {
    std::lock_guard l(mu);
    if (n.cached) unlink_locked(&n);
}

}  // namespace moat::content
