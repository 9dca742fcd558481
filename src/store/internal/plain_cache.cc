#include "store/internal/plain_cache.h"

#include <openssl/crypto.h>

#include <cstdlib>

namespace moat::store::internal {
namespace {

// Reads counted before every count is halved (and file ids at 0 forgotten): keeps the counts
// about recent popularity and the map bounded.
constexpr std::uint64_t kAgeEvery = 4096;

}  // namespace

PlainCache::Plain::Plain(std::size_t n)
    : data_(static_cast<char*>(std::malloc(n == 0 ? 1 : n))), size_(n) {
    if (!data_) std::abort();  // out of memory (STYLE.md §4)
}

PlainCache::Plain::~Plain() {
    OPENSSL_cleanse(data_, size_);
    std::free(data_);
}

std::shared_ptr<const PlainCache::Plain> PlainCache::get(const std::string& file_id) {
    if (budget_ == 0) return nullptr;
    std::lock_guard lock(mu_);
    ++reads_[file_id];
    if (++counted_ >= kAgeEvery) age_locked();
    auto it = index_.find(file_id);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->p;
}

bool PlainCache::admit(const std::string& file_id, std::uint64_t size) {
    if (size == 0 || size > max_object_ || size > budget_) return false;
    std::lock_guard lock(mu_);
    if (index_.count(file_id)) return false;  // another reader just put it
    auto r = reads_.find(file_id);
    std::uint32_t mine = r == reads_.end() ? 0 : r->second;
    if (mine < 2) return false;  // kept on its second read
    // The entries it would evict, least recently used first: each must be less popular.
    std::size_t free = budget_ - bytes_;
    for (auto it = lru_.rbegin(); free < size && it != lru_.rend(); ++it) {
        auto v = reads_.find(it->file_id);
        if (v != reads_.end() && v->second >= mine) return false;
        free += it->p->size();
    }
    return true;
}

void PlainCache::put(const std::string& file_id, std::shared_ptr<const Plain> p) {
    std::size_t size = p->size();
    std::lock_guard lock(mu_);
    if (index_.count(file_id) || size > budget_) return;
    while (!lru_.empty() && bytes_ + size > budget_) {
        bytes_ -= lru_.back().p->size();
        index_.erase(lru_.back().file_id);
        lru_.pop_back();
    }
    lru_.push_front(Entry{file_id, std::move(p)});
    index_.emplace(file_id, lru_.begin());
    bytes_ += size;
}

void PlainCache::erase(const std::string& file_id) {
    std::lock_guard lock(mu_);
    reads_.erase(file_id);
    auto it = index_.find(file_id);
    if (it == index_.end()) return;
    bytes_ -= it->second->p->size();
    lru_.erase(it->second);
    index_.erase(it);
}

std::size_t PlainCache::bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
}

std::size_t PlainCache::size() const {
    std::lock_guard lock(mu_);
    return lru_.size();
}

void PlainCache::age_locked() {
    counted_ = 0;
    for (auto it = reads_.begin(); it != reads_.end();) {
        it->second /= 2;
        if (it->second == 0 && !index_.count(it->first))
            it = reads_.erase(it);
        else
            ++it;
    }
}

}  // namespace moat::store::internal
