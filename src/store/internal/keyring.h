#pragma once
// The master keys: a small text file (0600) holding one or two numbered AES-256 keys. Sealed
// values in SQLite record the number of the key that sealed them. Two keys exist only while a
// rotation runs, so a crash in the middle leaves every sealed value readable. Thread-safe.

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/result.h"

namespace moat::store::internal {

class Keyring {
public:
    // Reads `path`, or creates it (0600, one fresh key) when it does not exist.
    static Result<Keyring> load_or_create(const std::string& path);

    std::int64_t current() const;
    std::optional<std::string> key(std::int64_t gen) const;

    // Rotation, step 1: adds a fresh key and makes it current, on disk first. Returns its number.
    Result<std::int64_t> add_key();
    // Rotation, step 3 (after every sealed value uses the current key): forgets the others.
    Result<void> drop_old_keys();

    Keyring(Keyring&& o) noexcept : path_(std::move(o.path_)), keys_(std::move(o.keys_)) {}

private:
    Keyring() = default;
    Result<void> save_locked() const;
    std::string text_locked() const;

    std::string path_;
    mutable std::mutex mu_;
    std::map<std::int64_t, std::string> keys_;  // number -> 32-byte key
};

}  // namespace moat::store::internal
