#include "store/internal/read_cache.h"

namespace moat::store::internal {
namespace {

// Lengths first: keys may hold any UTF-8 (NUL included) and version ids come from requests.
std::string cache_name(std::string_view bucket, std::string_view key, std::string_view vid) {
    std::string n = std::to_string(bucket.size()) + ':' + std::to_string(key.size()) + ':';
    n.append(bucket).append(key).append(vid);
    return n;
}

}  // namespace

std::size_t ResolvedVersion::bytes() const {
    std::size_t n = sizeof(*this) + info.key.size() + info.bucket.size() + 256;
    for (const auto& [k, v] : info.attrs.user_meta) n += k.size() + v.size() + 64;
    for (const auto& [k, v] : info.attrs.system_meta) n += k.size() + v.size() + 64;
    for (const auto& r : refs) n += sizeof(r) + r.inline_bytes.size() + r.path.size() + 128;
    return n + blobs.size() * sizeof(std::int64_t);
}

std::shared_ptr<const ResolvedVersion> ReadCache::get(std::string_view bucket, std::string_view key,
                                                      std::string_view version_id,
                                                      std::uint64_t writes) {
    std::string name = cache_name(bucket, key, version_id);
    std::lock_guard lock(mu_);
    if (writes != writes_) {
        if (writes > writes_) {  // everything here predates a write
            clear_locked();
            writes_ = writes;
        }
        return nullptr;
    }
    auto it = index_.find(name);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second->v;
}

void ReadCache::put(std::string_view bucket, std::string_view key, std::string_view version_id,
                    std::uint64_t writes, std::shared_ptr<const ResolvedVersion> v) {
    std::size_t bytes = v->bytes();
    if (max_entries_ == 0 || bytes > max_bytes_ / 8) return;  // a few huge ones would churn it
    std::string name = cache_name(bucket, key, version_id);
    std::size_t h = std::hash<std::string>()(name);
    std::lock_guard lock(mu_);
    if (writes < writes_) return;
    if (writes > writes_) {
        clear_locked();
        writes_ = writes;
    }
    // First offer: remember the name only. (A hash collision merely admits a name early.)
    if (seen_.erase(h) == 0) {
        if (seen_.size() >= 4 * max_entries_) seen_.clear();
        seen_.insert(h);
        return;
    }
    if (auto it = index_.find(name); it != index_.end()) {
        auto node = it->second;
        index_.erase(it);  // before the node its key views dies
        bytes_ -= node->bytes;
        lru_.erase(node);
    }
    while (!lru_.empty() && (lru_.size() >= max_entries_ || bytes_ + bytes > max_bytes_)) {
        bytes_ -= lru_.back().bytes;
        index_.erase(lru_.back().name);
        lru_.pop_back();
    }
    lru_.push_front(Entry{std::move(name), std::move(v), bytes});
    index_.emplace(lru_.front().name, lru_.begin());
    bytes_ += bytes;
}

std::size_t ReadCache::size() const {
    std::lock_guard lock(mu_);
    return lru_.size();
}

void ReadCache::clear_locked() {
    index_.clear();
    lru_.clear();
    seen_.clear();
    bytes_ = 0;
}

}  // namespace moat::store::internal
