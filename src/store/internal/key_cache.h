#pragma once
// A bounded LRU of unsealed blob data keys, keyed by the blob's random file id (row ids can be
// reused after garbage collection; file ids never are). Unsealing a data key is an AES-GCM
// open under the master key plus a key schedule: on a small GET it cost as much as decrypting
// the object itself.
//
// Holding unsealed data keys in memory adds no exposure: the master key that unseals every one
// of them is in this process's memory for the store's whole life, so whoever can read the one
// can read the others. Keys still leave memory as soon as they are evicted, erased or the
// cache dies (OPENSSL_cleanse), so a core dump long after a GET holds few of them. Thread-safe.

#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace moat::store::internal {

class KeyCache {
public:
    explicit KeyCache(std::size_t capacity) : capacity_(capacity) {}
    ~KeyCache();
    KeyCache(const KeyCache&) = delete;

    std::optional<std::string> get(const std::string& file_id);
    void put(const std::string& file_id, std::string_view key);
    // Forgets (and zeroes) the key of a blob that is gone (garbage collection).
    void erase(const std::string& file_id);
    std::size_t size() const;

private:
    using Entry = std::pair<std::string, std::string>;  // file id, data key
    void drop(std::list<Entry>::iterator it);           // mu_ held

    std::size_t capacity_;
    mutable std::mutex mu_;
    std::list<Entry> lru_;  // most recently used first
    std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace moat::store::internal
