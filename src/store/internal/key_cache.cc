#include "store/internal/key_cache.h"

#include <openssl/crypto.h>

namespace moat::store::internal {

KeyCache::~KeyCache() {
    for (auto& e : lru_) OPENSSL_cleanse(e.second.data(), e.second.size());
}

std::optional<std::string> KeyCache::get(const std::string& file_id) {
    std::lock_guard lock(mu_);
    auto it = index_.find(file_id);
    if (it == index_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->second;
}

void KeyCache::put(const std::string& file_id, std::string_view key) {
    if (capacity_ == 0) return;
    std::lock_guard lock(mu_);
    if (index_.count(file_id)) return;  // data keys never change: the cached one is the same
    while (lru_.size() >= capacity_) drop(std::prev(lru_.end()));
    lru_.emplace_front(file_id, std::string(key));
    index_.emplace(file_id, lru_.begin());
}

void KeyCache::erase(const std::string& file_id) {
    std::lock_guard lock(mu_);
    auto it = index_.find(file_id);
    if (it != index_.end()) drop(it->second);
}

std::size_t KeyCache::size() const {
    std::lock_guard lock(mu_);
    return lru_.size();
}

void KeyCache::drop(std::list<Entry>::iterator it) {
    OPENSSL_cleanse(it->second.data(), it->second.size());
    index_.erase(it->first);
    lru_.erase(it);
}

}  // namespace moat::store::internal
