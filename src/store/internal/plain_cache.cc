#include "store/internal/plain_cache.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <vector>

namespace moat::store::internal {
namespace {

// Reads counted before every count is halved (and file ids at 0 forgotten): keeps the counts
// about recent popularity and the map bounded.
constexpr std::uint64_t kAgeEvery = 4096;

}  // namespace

PlainCache::Plain::Plain(std::shared_ptr<PlainBuffers> pool, std::size_t n)
    : pool_(std::move(pool)), buf_(pool_ ? pool_->take(n) : PlainBuffers::map(n)), size_(n) {}

PlainCache::Plain::~Plain() {
    // Only [0, size) was ever written: the tail is still zero (plain_buffers.h).
    OPENSSL_cleanse(buf_.data, size_);
    if (pool_)
        pool_->give(buf_);
    else
        PlainBuffers::unmap(buf_);
}

// Two objects' worth of kept buffers: an admission evicts about as many bytes as it adds, so
// the next fill finds a buffer of the size it needs.
PlainCache::PlainCache(std::size_t budget, std::size_t max_object)
    : budget_(budget),
      max_object_(max_object),
      buffers_(std::make_shared<PlainBuffers>(std::min(budget, 2 * max_object))) {}

std::shared_ptr<PlainCache::Plain> PlainCache::make_plain(std::size_t n) {
    return std::make_shared<Plain>(buffers_, n);
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

// Evicted and erased entries are released after the lock: the last reference wipes up to
// 8 MiB and hands the buffer back, which need not stall every other reader.
void PlainCache::put(const std::string& file_id, std::shared_ptr<const Plain> p) {
    std::size_t size = p->size();
    std::vector<std::shared_ptr<const Plain>> evicted;
    std::lock_guard lock(mu_);
    if (index_.count(file_id) || size > budget_) return;
    while (!lru_.empty() && bytes_ + size > budget_) {
        bytes_ -= lru_.back().p->size();
        index_.erase(lru_.back().file_id);
        evicted.push_back(std::move(lru_.back().p));
        lru_.pop_back();
    }
    lru_.push_front(Entry{file_id, std::move(p)});
    index_.emplace(file_id, lru_.begin());
    bytes_ += size;
}

void PlainCache::erase(const std::string& file_id) {
    std::shared_ptr<const Plain> gone;
    std::lock_guard lock(mu_);
    reads_.erase(file_id);
    auto it = index_.find(file_id);
    if (it == index_.end()) return;
    bytes_ -= it->second->p->size();
    gone = std::move(it->second->p);
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
