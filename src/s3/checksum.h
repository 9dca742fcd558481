#pragma once
// Body checksums S3 clients send (Content-MD5, x-amz-checksum-*: CRC32, CRC32C, CRC64NVME,
// SHA-1, SHA-256) and the encodings they travel in (hex, base64). CRC32 is zlib's; CRC32C and
// CRC64NVME are table-driven here; the digests are OpenSSL EVP.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace moat::s3 {

// CRC-32 (ISO-HDLC, zlib's crc32): init and final xor 0xFFFFFFFF, reflected 0xEDB88320.
std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n);
// CRC-32C (Castagnoli, RFC 3720 §12.1 / iSCSI): reflected polynomial 0x82F63B78.
// crc32c(0, "123456789") == 0xE3069283.
std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n);
// CRC-64/NVME (NVM Express NVM Command Set §5.2.1.3.4): reflected 0x9A6C9329AC4BC9B5.
// crc64nvme(0, "123456789") == 0xAE8B14860A799888.
std::uint64_t crc64nvme(std::uint64_t crc, const void* data, std::size_t n);

std::string to_hex(std::string_view bytes);  // lower case
std::string base64_encode(std::string_view bytes);
// Strict RFC 4648 §4 with padding; nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text);
std::string sha256(std::string_view bytes);  // raw 32 bytes
std::string sha256_hex(std::string_view bytes);

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256, kMd5 };

// "crc32", "crc32c", "crc64nvme", "sha1", "sha256" (as in x-amz-checksum-<name>); not md5.
std::optional<ChecksumAlgorithm> checksum_algorithm(std::string_view lower_name);
const char* checksum_name(ChecksumAlgorithm a);

// An incremental checksum. Not thread-safe; one per body.
class Checksum {
public:
    explicit Checksum(ChecksumAlgorithm a);
    ~Checksum();
    Checksum(const Checksum&) = delete;
    Checksum& operator=(const Checksum&) = delete;

    ChecksumAlgorithm algorithm() const { return algo_; }
    void update(const char* data, std::size_t n);
    // The raw digest (CRCs big-endian, as S3 encodes them). Call once, at the end.
    std::string finish();

private:
    ChecksumAlgorithm algo_;
    std::uint64_t crc_ = 0;
    struct Md;  // OpenSSL EVP_MD_CTX holder
    std::unique_ptr<Md> md_;
};

}  // namespace moat::s3
