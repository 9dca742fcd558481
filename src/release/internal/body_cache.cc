#include "release/internal/body_cache.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

namespace moat::release::internal {

namespace {

constexpr std::size_t kChunk = 1 << 20;  // store reads of 1 MiB

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

std::string to_hex(const unsigned char* p, unsigned n) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(kHex[p[i] >> 4]);
        out.push_back(kHex[p[i] & 0xf]);
    }
    return out;
}

Error io_error(std::string what) {
    return make_error(Errc::kIo, what + ": " + std::strerror(errno));
}

std::string describe(const store::VersionRef& v) {
    return v.bucket + "/" + v.key + "?versionId=" + v.version_id;
}

Result<void> write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return io_error("write to the body cache");
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return {};
}

// An unlinked temporary file in `dir`, or -1 (errno set). O_TMPFILE: the file never has a
// name, so nothing is left behind by a crash, and the kernel frees it when the last response
// using it closes the descriptor. File systems without O_TMPFILE get a named file unlinked at
// once (a crash in between leaves one file in the cache folder).
int open_unlinked(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR)) return fd;
    std::string tmpl = dir + "/body-XXXXXX";
    fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd >= 0) ::unlink(tmpl.c_str());
    return fd;
}

}  // namespace

BodyCache::BodyCache(store::Store& store, BodyLimits limits)
    : store_(store), limits_(std::move(limits)) {}

BodyCache::~BodyCache() = default;

Result<void> BodyCache::ensure_dir() {
    if (dir_ready_) return {};
    if (limits_.cache_dir.empty())
        return make_error(Errc::kIo, "no cache folder for bodies larger than max_memory_file");
    std::error_code ec;
    std::filesystem::create_directories(limits_.cache_dir, ec);
    if (ec) return make_error(Errc::kIo, "cache folder " + limits_.cache_dir + ": " + ec.message());
    // Decrypted bodies of the store: nobody else may list or open them (they are unlinked, but
    // a folder readable by others would still show timing of activity via its mtime).
    if (::chmod(limits_.cache_dir.c_str(), 0700) != 0)
        return io_error("chmod " + limits_.cache_dir);
    dir_ready_ = true;
    return {};
}

void BodyCache::prune() {
    for (auto it = slots_.begin(); it != slots_.end();) {
        if (it->second.bytes.expired() && it->second.file.expired())
            it = slots_.erase(it);
        else
            ++it;
    }
}

Result<Body> BodyCache::get(std::string_view sha256, std::string_view encoding,
                            const store::VersionRef& from, std::uint64_t size, bool verify_sha256) {
    std::string key(sha256);
    key.append(":").append(encoding);
    {
        std::lock_guard lock(mu_);
        if (auto it = slots_.find(key); it != slots_.end()) {
            Body b{it->second.bytes.lock(), it->second.file.lock(), it->second.size};
            if (b.bytes || b.file) return b;
        }
    }
    auto body = load(sha256, from, size, verify_sha256);
    if (!body) return body.error();
    std::lock_guard lock(mu_);
    prune();
    slots_[key] = Slot{body->bytes, body->file, body->size};
    return body;
}

Result<Body> BodyCache::load(std::string_view sha256, const store::VersionRef& from,
                             std::uint64_t size, bool verify_sha256) {
    auto reader = store_.open_object(from.bucket, from.key, from.version_id);
    if (!reader) return reader.error();
    if ((*reader)->info().size != size)
        return make_error(Errc::kIo, describe(from) + ": size " +
                                         std::to_string((*reader)->info().size) +
                                         ", the manifest says " + std::to_string(size));

    const bool in_memory =
        size <= limits_.max_memory_file &&
        counters_->memory.load(std::memory_order_relaxed) + size <= limits_.memory_budget;
    std::string mem;
    int fd = -1;
    if (in_memory) {
        mem.resize(size);
    } else {
        {
            std::lock_guard lock(mu_);
            MOAT_TRY(ensure_dir());
        }
        fd = open_unlinked(limits_.cache_dir);
        if (fd < 0) return io_error("temporary file in " + limits_.cache_dir);
    }
    // Closes the descriptor on every error return; the body takes it over at the end.
    auto guard = fd >= 0 ? std::make_unique<edge::OpenFile>(fd) : nullptr;

    MdCtx md(EVP_MD_CTX_new());
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1)
        return make_error(Errc::kInternal, "sha256 init failed");
    std::vector<char> chunk(in_memory ? 0 : std::min<std::uint64_t>(kChunk, size));
    std::uint64_t at = 0;
    while (at < size) {
        const std::size_t want =
            static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size - at));
        char* buf = in_memory ? mem.data() + at : chunk.data();
        auto n = (*reader)->read_at(at, buf, want);
        if (!n) return n.error();
        if (*n == 0)
            return make_error(Errc::kIo, describe(from) + ": ends after " + std::to_string(at) +
                                             " of " + std::to_string(size) + " bytes");
        EVP_DigestUpdate(md.get(), buf, *n);
        if (!in_memory) MOAT_TRY(write_all(fd, buf, *n));
        at += *n;
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(md.get(), digest, &len);
    if (verify_sha256 && to_hex(digest, len) != sha256)
        return make_error(Errc::kIo, describe(from) + ": content does not match its SHA-256 " +
                                         std::string(sha256) + " (damaged)");

    Body out;
    out.size = size;
    auto counters = counters_;
    if (in_memory) {
        counters->memory.fetch_add(size, std::memory_order_relaxed);
        out.bytes = std::shared_ptr<const std::string>(
            new std::string(std::move(mem)), [counters, size](const std::string* s) {
                counters->memory.fetch_sub(size, std::memory_order_relaxed);
                delete s;
            });
    } else {
        counters->file.fetch_add(size, std::memory_order_relaxed);
        edge::OpenFile* raw = new edge::OpenFile(fd);
        guard->fd = -1;  // ownership moves to `raw`
        out.file =
            std::shared_ptr<const edge::OpenFile>(raw, [counters, size](const edge::OpenFile* f) {
                counters->file.fetch_sub(size, std::memory_order_relaxed);
                delete f;
            });
    }
    return out;
}

BodyCache::Stats BodyCache::stats() const {
    Stats s;
    {
        std::lock_guard lock(mu_);
        for (const auto& [k, slot] : slots_)
            if (!slot.bytes.expired() || !slot.file.expired()) ++s.bodies;
    }
    s.memory_bytes = counters_->memory.load(std::memory_order_relaxed);
    s.file_bytes = counters_->file.load(std::memory_order_relaxed);
    return s;
}

}  // namespace moat::release::internal
