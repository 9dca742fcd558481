#include "store/internal/read_cache.h"

#include <algorithm>

namespace moat::store::internal {
namespace {

// Lengths first: keys may hold any UTF-8 (NUL included) and version ids come from requests.
std::string cache_name(std::string_view bucket, std::string_view key, std::string_view vid) {
    std::string n = std::to_string(bucket.size()) + ':' + std::to_string(key.size()) + ':';
    n.append(bucket).append(key).append(vid);
    return n;
}

}  // namespace

std::size_t name_hash(std::string_view bucket, std::string_view key) {
    std::size_t h = std::hash<std::string_view>()(bucket);
    return h * 31 + std::hash<std::string_view>()(key);
}

std::size_t ResolvedVersion::bytes() const {
    std::size_t n = sizeof(*this) + info.key.size() + info.bucket.size() + 256;
    for (const auto& [k, v] : info.attrs.user_meta) n += k.size() + v.size() + 64;
    for (const auto& [k, v] : info.attrs.system_meta) n += k.size() + v.size() + 64;
    for (const auto& r : refs) n += sizeof(r) + r.inline_bytes.size() + r.path.size() + 128;
    return n + blobs.size() * sizeof(std::int64_t);
}

ReadCache::ReadCache(std::size_t max_entries, std::size_t max_bytes)
    : shards_(max_entries >= 64 * kMaxShards ? kMaxShards : 1),
      shard_entries_(max_entries / shards_),
      shard_bytes_(max_bytes / shards_),
      max_entry_bytes_(std::min(max_bytes / 8, shard_bytes_)),
      shard_(new Shard[shards_]) {}

ReadCache::Shard& ReadCache::shard_of(std::string_view bucket, std::string_view key) {
    return shard_[name_hash(bucket, key) % shards_];
}

void ReadCache::Shard::drop(std::list<Entry>::iterator it) {
    index.erase(it->name);  // before the node its key views dies
    bytes -= it->bytes;
    lru.erase(it);
}

std::shared_ptr<const ResolvedVersion> ReadCache::get(std::string_view bucket, std::string_view key,
                                                      std::string_view version_id, Stamp now) {
    std::string name = cache_name(bucket, key, version_id);
    Shard& s = shard_of(bucket, key);
    std::lock_guard lock(s.mu);
    auto it = s.index.find(name);
    if (it == s.index.end()) return nullptr;
    const Stamp& at = it->second->stamp;
    if (!(at == now)) {
        // A write of this name (or a global one) ended since: stale, dropped. (An entry with a
        // count above `now` was installed by a writer after this reader loaded its counts: it
        // is newer than what the reader may see, so it stays for later readers.)
        if (at.global <= now.global && at.name <= now.name && at.foreign <= now.foreign)
            s.drop(it->second);
        return nullptr;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    ++s.hits;
    return it->second->v;
}

void ReadCache::put(std::string_view bucket, std::string_view key, std::string_view version_id,
                    Stamp at, std::shared_ptr<const ResolvedVersion> v) {
    keep(bucket, key, version_id, at, std::move(v), false);
}

void ReadCache::install(std::string_view bucket, std::string_view key, std::string_view version_id,
                        Stamp at, std::shared_ptr<const ResolvedVersion> v) {
    keep(bucket, key, version_id, at, std::move(v), true);
}

void ReadCache::keep(std::string_view bucket, std::string_view key, std::string_view version_id,
                     Stamp at, std::shared_ptr<const ResolvedVersion> v, bool admit_now) {
    std::size_t bytes = v->bytes();
    // A few huge ones would churn it.
    if (shard_entries_ == 0 || bytes > max_entry_bytes_) return;
    std::string name = cache_name(bucket, key, version_id);
    Shard& s = shard_of(bucket, key);
    std::size_t h = std::hash<std::string>()(name);
    std::lock_guard lock(s.mu);
    // A reader's first offer: remember the name only. (A hash collision merely admits a name
    // early.)
    if (!admit_now && s.seen.erase(h) == 0) {
        if (s.seen.size() >= 4 * shard_entries_) s.seen.clear();
        s.seen.insert(h);
        return;
    }
    if (auto it = s.index.find(name); it != s.index.end()) {
        // A reader found no entry (or a stale one) before its lookup; one that appeared since
        // was installed by a writer, and is newer than what the reader read.
        if (!admit_now) return;
        s.drop(it->second);
    }
    while (!s.lru.empty() && (s.lru.size() >= shard_entries_ || s.bytes + bytes > shard_bytes_))
        s.drop(std::prev(s.lru.end()));
    s.lru.push_front(Entry{std::move(name), at, std::move(v), bytes});
    s.index.emplace(s.lru.front().name, s.lru.begin());
    s.bytes += bytes;
}

std::size_t ReadCache::size() const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < shards_; ++i) {
        std::lock_guard lock(shard_[i].mu);
        n += shard_[i].lru.size();
    }
    return n;
}

std::uint64_t ReadCache::hits() const {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < shards_; ++i) {
        std::lock_guard lock(shard_[i].mu);
        n += shard_[i].hits;
    }
    return n;
}

}  // namespace moat::store::internal
