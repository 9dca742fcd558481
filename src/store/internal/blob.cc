#include "store/internal/blob.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "store/internal/fsutil.h"

namespace moat::store::internal {
namespace {

std::string be64(std::uint64_t v) {
    std::string s(8, '\0');
    for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
    return s;
}
std::string chunk_nonce(std::uint64_t index) { return std::string(4, '\0') + be64(index); }
std::string chunk_aad(std::string_view file_id, std::uint64_t index, bool final) {
    std::string a(file_id);
    a += be64(index);
    a.push_back(final ? '\1' : '\0');
    return a;
}
std::uint64_t chunk_count(std::uint64_t size) {
    return size == 0 ? 1 : (size + kChunkBytes - 1) / kChunkBytes;
}

}  // namespace

std::uint64_t sealed_size(std::uint64_t size) {
    return kHeaderBytes + size + chunk_count(size) * kTagBytes;
}

BlobWriter::BlobWriter(std::string tmp_dir, std::size_t inline_max, std::uint64_t min_free)
    : tmp_dir_(std::move(tmp_dir)),
      inline_max_(inline_max),
      min_free_(min_free),
      key_(random_bytes(kKeyBytes)),
      file_id_(random_bytes(16)),
      gcm_(key_),
      sha_d_(Digest::sha256()),
      md5_d_(Digest::md5()) {
    out_.append(kBlobMagic);
    out_.append(file_id_);
    plain_.reserve(kChunkBytes);
}

BlobWriter::~BlobWriter() {
    if (fd_ >= 0) ::close(fd_);
    if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
    OPENSSL_cleanse(key_.data(), key_.size());
}

Result<void> BlobWriter::consume(BodySource& body, std::optional<std::uint64_t> expected_size,
                                 std::uint64_t max_size) {
    std::string buf(256 * 1024, '\0');
    for (;;) {
        auto n = body.read(buf.data(), buf.size());
        if (!n) return n.error();
        if (*n == 0) break;
        if (size_ + *n > max_size)
            return store_error(Errc::kTooLarge, Reason::kEntityTooLarge,
                               "body is larger than " + std::to_string(max_size) + " bytes");
        MOAT_TRY(add(buf.data(), *n));
    }
    if (expected_size && *expected_size != size_)
        return store_error(Errc::kInvalidArgument, Reason::kBodyRejected,
                           "body has " + std::to_string(size_) + " bytes, expected " +
                               std::to_string(*expected_size));
    MOAT_TRY(seal_chunk(true));
    MOAT_TRY(check_space(out_.size()));
    sha_ = sha_d_.finish();
    md5_ = md5_d_.finish();
    if (fd_ >= 0) {
        MOAT_TRY(flush());
        if (::fsync(fd_) != 0) return errno_error(errno, "fsync " + tmp_path_);
        ::close(fd_);
        fd_ = -1;
    }
    return {};
}

Result<void> BlobWriter::add(const char* data, std::size_t n) {
    sha_d_.update(data, n);
    md5_d_.update(data, n);
    size_ += n;
    while (n > 0) {
        if (plain_.size() == kChunkBytes) MOAT_TRY(seal_chunk(false));
        std::size_t take = std::min(n, kChunkBytes - plain_.size());
        plain_.append(data, take);
        data += take;
        n -= take;
    }
    return {};
}

Result<void> BlobWriter::seal_chunk(bool final) {
    gcm_.seal(chunk_nonce(index_), chunk_aad(file_id_, index_, final), plain_.data(), plain_.size(),
              out_);
    ++index_;
    plain_.clear();
    if (!spilled_ && size_ > inline_max_) {
        spilled_ = true;
        tmp_path_ = tmp_dir_ + "/" + to_hex(random_bytes(12)) + ".tmp";
        fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd_ < 0) {
            int err = errno;
            tmp_path_.clear();
            return errno_error(err, "create temp blob");
        }
    }
    if (fd_ >= 0 && out_.size() >= 1024 * 1024) return flush();
    return {};
}

Result<void> BlobWriter::check_space(std::uint64_t more) const {
    struct statvfs v {};
    if (min_free_ == 0 || ::statvfs(tmp_dir_.c_str(), &v) != 0) return {};
    std::uint64_t avail = static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
    if (avail < min_free_ + more)
        return store_error(Errc::kUnavailable, Reason::kNoSpace,
                           "disk nearly full: " + std::to_string(avail) + " bytes free, " +
                               std::to_string(min_free_) + " kept for metadata");
    return {};
}

Result<void> BlobWriter::flush() {
    MOAT_TRY(check_space(out_.size()));
    auto r = write_all(fd_, out_.data(), out_.size(), "write " + tmp_path_);
    out_.clear();
    return r;
}

BlobRef::~BlobRef() { OPENSSL_cleanse(data_key.data(), data_key.size()); }

Result<std::unique_ptr<BlobReader>> BlobReader::open(const BlobRef& ref) {
    std::unique_ptr<BlobReader> r(new BlobReader(ref));
    const std::string& id = ref.hash_hex;
    std::uint64_t want = sealed_size(ref.size);
    std::string_view header;
    char buf[kHeaderBytes];
    if (ref.path.empty()) {
        if (ref.inline_bytes.size() != want)
            return make_error(Errc::kIo, "blob " + id + ": stored size is wrong");
        header = std::string_view(ref.inline_bytes).substr(0, kHeaderBytes);
    } else {
        r->fd_ = ::open(ref.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (r->fd_ < 0) {
            if (errno == ENOENT) return make_error(Errc::kIo, "blob " + id + ": file is missing");
            return errno_error(errno, "open blob " + id);
        }
        struct stat st {};
        if (::fstat(r->fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != want)
            return make_error(Errc::kIo, "blob " + id + ": file size is wrong");
        if (::pread(r->fd_, buf, kHeaderBytes, 0) != static_cast<ssize_t>(kHeaderBytes))
            return make_error(Errc::kIo, "blob " + id + ": header unreadable");
        header = std::string_view(buf, kHeaderBytes);
    }
    if (header.substr(0, 8) != kBlobMagic || header.substr(8) != ref.file_id)
        return make_error(Errc::kIo, "blob " + id + ": header does not match its record");
    return r;
}

BlobReader::~BlobReader() {
    if (fd_ >= 0) ::close(fd_);
    OPENSSL_cleanse(chunk_.data(), chunk_.size());
}

std::size_t BlobReader::plain_size(std::uint64_t index) const {
    std::uint64_t count = chunk_count(ref_.size);
    return static_cast<std::size_t>(index + 1 < count ? kChunkBytes
                                                      : ref_.size - index * kChunkBytes);
}

Result<const char*> BlobReader::sealed_run(std::uint64_t first, std::uint64_t count) {
    std::uint64_t at = kHeaderBytes + first * (kChunkBytes + kTagBytes);
    if (fd_ < 0) return ref_.inline_bytes.data() + at;
    std::size_t n = 0;
    for (std::uint64_t i = first; i < first + count; ++i) n += plain_size(i) + kTagBytes;
    if (sealed_.size() < n) sealed_.resize(n);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::pread(fd_, sealed_.data() + got, n - got, static_cast<off_t>(at + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno_error(errno, "read blob " + ref_.hash_hex);
        if (r == 0) return make_error(Errc::kIo, "blob " + ref_.hash_hex + ": truncated");
        got += static_cast<std::size_t>(r);
    }
    return static_cast<const char*>(sealed_.data());
}

Result<void> BlobReader::open_chunk(std::uint64_t index, const char* src, char* out) {
    bool final = index + 1 == chunk_count(ref_.size);
    std::size_t plain = plain_size(index);
    if (gcm_.open_into(chunk_nonce(index), chunk_aad(ref_.file_id, index, final), src,
                       plain + kTagBytes, out))
        return {};
    std::memset(out, 0, plain);  // never hand out unauthenticated plaintext
    return make_error(Errc::kIo, "blob " + ref_.hash_hex + ": chunk " + std::to_string(index) +
                                     " fails authentication");
}

Result<void> BlobReader::load_chunk(std::uint64_t index) {
    auto src = sealed_run(index, 1);
    if (!src) return src.error();
    cached_ = UINT64_MAX;
    chunk_.resize(plain_size(index));
    MOAT_TRY(open_chunk(index, *src, chunk_.data()));
    cached_ = index;
    return {};
}

// Chunks per pread when whole chunks go straight to the caller: half the syscalls, and a reader
// holds no more buffer than before (128 KiB sealed, no plaintext chunk), which the kernel's
// copy leaves in the L2 cache for the decryption that reads it again.
constexpr std::uint64_t kRunChunks = 2;

Result<std::size_t> BlobReader::read_at(std::uint64_t offset, char* buf, std::size_t n) {
    std::size_t done = 0;
    std::uint64_t count = chunk_count(ref_.size);
    while (done < n && offset < ref_.size) {
        std::uint64_t index = offset / kChunkBytes;
        std::size_t in = static_cast<std::size_t>(offset - index * kChunkBytes);
        if (in == 0 && index != cached_ && plain_size(index) <= n - done) {
            // Whole chunks: decrypt into `buf` itself, no copy through chunk_.
            std::uint64_t run = 0;
            std::size_t bytes = 0;
            while (index + run < count && run < kRunChunks &&
                   bytes + plain_size(index + run) <= n - done)
                bytes += plain_size(index + run++);
            auto src = sealed_run(index, run);
            if (!src) return src.error();
            const char* p = *src;
            for (std::uint64_t i = index; i < index + run; ++i) {
                if (auto r = open_chunk(i, p, buf + done); !r) return r.error();
                p += plain_size(i) + kTagBytes;
                done += plain_size(i);
            }
            offset += bytes;
            continue;
        }
        if (index != cached_) MOAT_TRY(load_chunk(index));
        std::size_t take = std::min(n - done, chunk_.size() - in);
        std::memcpy(buf + done, chunk_.data() + in, take);
        done += take;
        offset += take;
    }
    return done;
}

}  // namespace moat::store::internal
