#include "store/internal/keyring.h"

#include <unistd.h>

#include <cerrno>
#include <sstream>

#include "store/internal/crypto.h"
#include "store/internal/fsutil.h"

namespace moat::store::internal {
namespace {
constexpr const char* kMagic = "moat-master-key v1";
}

Result<Keyring> Keyring::load_or_create(const std::string& path) {
    Keyring k;
    k.path_ = path;
    auto text = read_file(path);
    if (!text && text.error().code == Errc::kNotFound) {
        // First start. Two processes starting at once must not each create (and one replace)
        // a key: the file appears with link(2), which never overwrites; the loser reads it.
        k.keys_[1] = random_bytes(kKeyBytes);
        std::string tmp = path + ".new-" + to_hex(random_bytes(6));
        MOAT_TRY(write_file_atomic(tmp, k.text_locked(), 0600));
        int rc = ::link(tmp.c_str(), path.c_str());
        int err = errno;
        ::unlink(tmp.c_str());
        if (rc == 0) {
            auto slash = path.rfind('/');
            MOAT_TRY(fsync_dir(slash == std::string::npos ? "." : path.substr(0, slash)));
            return k;
        }
        if (err != EEXIST) return errno_error(err, "create " + path);
        text = read_file(path);
    }
    if (!text) return text.error();
    std::istringstream in(*text);
    std::string line;
    if (!std::getline(in, line) || line != kMagic)
        return make_error(Errc::kInvalidArgument, path + ": not a moat master key file");
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        auto sp = line.find(' ');
        std::string key = sp == std::string::npos ? "" : from_hex(line.substr(sp + 1));
        std::int64_t gen = 0;
        try {
            gen = std::stoll(line.substr(0, sp));
        } catch (...) {
            gen = 0;
        }
        if (gen <= 0 || key.size() != kKeyBytes)
            return make_error(Errc::kInvalidArgument, path + ": malformed key line");
        k.keys_[gen] = key;
    }
    if (k.keys_.empty()) return make_error(Errc::kInvalidArgument, path + ": no key");
    return k;
}

std::int64_t Keyring::current() const {
    std::lock_guard lock(mu_);
    return keys_.rbegin()->first;
}

std::optional<std::string> Keyring::key(std::int64_t gen) const {
    std::lock_guard lock(mu_);
    auto it = keys_.find(gen);
    if (it == keys_.end()) return std::nullopt;
    return it->second;
}

Result<std::int64_t> Keyring::add_key() {
    std::lock_guard lock(mu_);
    std::int64_t gen = keys_.rbegin()->first + 1;
    keys_[gen] = random_bytes(kKeyBytes);
    if (auto r = save_locked(); !r) {
        keys_.erase(gen);
        return r.error();
    }
    return gen;
}

Result<void> Keyring::drop_old_keys() {
    std::lock_guard lock(mu_);
    auto last = *keys_.rbegin();
    auto old = keys_;
    keys_.clear();
    keys_.insert(last);
    if (auto r = save_locked(); !r) {
        keys_ = old;
        return r;
    }
    return {};
}

std::string Keyring::text_locked() const {
    std::string text = std::string(kMagic) + "\n";
    for (const auto& [gen, key] : keys_) text += std::to_string(gen) + " " + to_hex(key) + "\n";
    return text;
}

Result<void> Keyring::save_locked() const { return write_file_atomic(path_, text_locked(), 0600); }

}  // namespace moat::store::internal
