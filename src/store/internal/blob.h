#pragma once
// Encrypted blobs. A blob is the plaintext of one PUT or one part, named by its SHA-256 and
// stored either as a file <dir>/blobs/<2 hex>/<sha256 hex> or, when small, in its SQLite row.
//
// Format (both places): "MOATBLB1" || file_id (16 random bytes) || chunks. Each chunk is up to
// 64 KiB of plaintext sealed with AES-256-GCM under the blob's own random data key:
//   nonce = 0^32 || be64(index)          (unique: one key per blob, one index per chunk)
//   aad   = file_id || be64(index) || final-flag byte
// so chunks cannot be reordered, dropped from the end (the last one must carry final=1),
// extended, or moved between blobs, and a Range read decrypts only the chunks it touches. A
// blob of 0 bytes still has one (empty, final) chunk. The data key is sealed by the master key
// in the `blobs` row (rotation re-seals it; the data stays). Private to store/.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/internal/crypto.h"
#include "store/store.h"

namespace moat::store::internal {

inline constexpr std::size_t kChunkBytes = 64 * 1024;
inline constexpr std::size_t kHeaderBytes = 8 + 16;
inline constexpr std::string_view kBlobMagic = "MOATBLB1";

// Bytes a blob of `size` plaintext bytes takes in the format above.
std::uint64_t sealed_size(std::uint64_t size);

// Streams one body into a new encrypted blob: in memory while it is small, else a temp file in
// `tmp_dir`. Not thread-safe. Discards its temp file unless release_temp() was called.
class BlobWriter {
public:
    // Writes refuse (kNoSpace) when `tmp_dir`'s file system would keep less than `min_free`.
    BlobWriter(std::string tmp_dir, std::size_t inline_max, std::uint64_t min_free);
    ~BlobWriter();
    BlobWriter(const BlobWriter&) = delete;

    // Pulls `body` to its end (checking expected_size when given). Body errors come back as
    // they are (store.h: "its error wins"); disk errors as kIo/kNoSpace. Writes and fsyncs.
    Result<void> consume(BodySource& body, std::optional<std::uint64_t> expected_size,
                         std::uint64_t max_size);

    std::uint64_t size() const { return size_; }
    const std::string& sha256() const { return sha_; }  // binary, after consume
    const std::string& md5() const { return md5_; }     // binary, after consume
    const std::string& file_id() const { return file_id_; }
    const std::string& data_key() const { return key_; }
    bool is_inline() const { return !spilled_; }
    const std::string& inline_bytes() const { return out_; }
    const std::string& temp_path() const { return tmp_path_; }
    void release_temp() { tmp_path_.clear(); }  // the temp file was renamed away

private:
    Result<void> add(const char* data, std::size_t n);
    Result<void> seal_chunk(bool final);
    Result<void> flush();
    Result<void> check_space(std::uint64_t more) const;

    std::string tmp_dir_;
    std::size_t inline_max_;
    std::uint64_t min_free_;
    std::string key_, file_id_;
    Gcm gcm_;
    Digest sha_d_, md5_d_;
    std::string plain_;  // the pending chunk
    std::string out_;    // sealed bytes not yet written (all of them while inline)
    std::uint64_t index_ = 0, size_ = 0;
    std::string sha_, md5_;
    int fd_ = -1;
    bool spilled_ = false;  // data went to a temp file
    std::string tmp_path_;
};

// What a blob row holds, with the data key already unsealed (wiped when the BlobRef dies).
struct BlobRef {
    BlobRef() = default;
    BlobRef(const BlobRef&) = default;
    BlobRef(BlobRef&&) = default;
    BlobRef& operator=(const BlobRef&) = default;
    BlobRef& operator=(BlobRef&&) = default;
    ~BlobRef();

    std::string hash_hex;
    std::uint64_t size = 0;
    std::string file_id;
    std::string data_key;
    std::string inline_bytes;  // set for inline blobs
    std::string path;          // set for file blobs
};

// Random-access decryption of one blob. Whole chunks a read covers are decrypted straight into
// the caller's buffer, several per pread; a chunk read in part is decrypted into a buffer kept
// for the next read. Not thread-safe.
class BlobReader {
public:
    // `ref` must outlive the reader (an ObjectReader's version record keeps it).
    static Result<std::unique_ptr<BlobReader>> open(const BlobRef& ref);
    ~BlobReader();
    // Up to n plaintext bytes at `offset` (0 at the end). Damage (bad tag, short file): kIo
    // naming the blob and chunk; nothing unauthenticated is left in `buf`.
    Result<std::size_t> read_at(std::uint64_t offset, char* buf, std::size_t n);
    std::uint64_t size() const { return ref_.size; }

private:
    explicit BlobReader(const BlobRef& ref) : ref_(ref), gcm_(ref_.data_key) {}
    std::size_t plain_size(std::uint64_t index) const;
    // The sealed bytes of chunks [first, first + count), read with one pread for a file blob.
    Result<const char*> sealed_run(std::uint64_t first, std::uint64_t count);
    // Decrypts chunk `index` (sealed bytes at `src`) into out[0, plain_size(index)).
    Result<void> open_chunk(std::uint64_t index, const char* src, char* out);
    Result<void> load_chunk(std::uint64_t index);

    const BlobRef& ref_;
    Gcm gcm_;
    int fd_ = -1;
    std::string sealed_;  // sealed bytes of the chunks being read
    std::string chunk_;   // plaintext of chunk `cached_`
    std::uint64_t cached_ = UINT64_MAX;
};

}  // namespace moat::store::internal
