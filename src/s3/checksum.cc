#include "s3/checksum.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <array>

namespace moat::s3 {
namespace {

// Slicing-by-8 tables for a reflected CRC: table[0] is the classic byte table, table[k][b] is
// the CRC of byte b followed by k zero bytes, so 8 input bytes take 8 lookups.
template <class T>
struct SliceTables {
    std::array<std::array<T, 256>, 8> t{};
    explicit SliceTables(T poly) {
        for (unsigned b = 0; b < 256; ++b) {
            T c = b;
            for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
            t[0][b] = c;
        }
        for (unsigned b = 0; b < 256; ++b)
            for (int k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
    }
};

template <class T>
T crc_reflected(const SliceTables<T>& tab, T crc, const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    while (n >= 8) {
        std::uint64_t w = 0;
        for (int i = 0; i < 8; ++i) w |= static_cast<std::uint64_t>(p[i]) << (8 * i);
        w ^= static_cast<std::uint64_t>(crc);  // little-endian view of the next 8 bytes
        crc = tab.t[7][w & 0xFF] ^ tab.t[6][(w >> 8) & 0xFF] ^ tab.t[5][(w >> 16) & 0xFF] ^
              tab.t[4][(w >> 24) & 0xFF] ^ tab.t[3][(w >> 32) & 0xFF] ^ tab.t[2][(w >> 40) & 0xFF] ^
              tab.t[1][(w >> 48) & 0xFF] ^ tab.t[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ tab.t[0][(crc ^ *p++) & 0xFF];
    return ~crc;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

template <class T>
std::string big_endian(T v) {
    std::string s(sizeof(T), '\0');
    for (std::size_t i = 0; i < sizeof(T); ++i)
        s[i] = static_cast<char>((v >> (8 * (sizeof(T) - 1 - i))) & 0xFF);
    return s;
}

}  // namespace

std::uint32_t crc32(std::uint32_t crc, const void* data, std::size_t n) {
    const auto* p = static_cast<const Bytef*>(data);
    uLong c = crc;
    while (n > 0) {  // zlib takes uInt lengths
        uInt k = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
        c = ::crc32(c, p, k);
        p += k;
        n -= k;
    }
    return static_cast<std::uint32_t>(c);
}

std::uint32_t crc32c(std::uint32_t crc, const void* data, std::size_t n) {
    static const SliceTables<std::uint32_t> tab(0x82F63B78u);  // Castagnoli, reflected
    return crc_reflected(tab, crc, data, n);
}

std::uint64_t crc64nvme(std::uint64_t crc, const void* data, std::size_t n) {
    static const SliceTables<std::uint64_t> tab(0x9A6C9329AC4BC9B5ull);
    return crc_reflected(tab, crc, data, n);
}

std::string to_hex(std::string_view bytes) {
    static const char kHex[] = "0123456789abcdef";
    std::string s;
    s.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        s.push_back(kHex[c >> 4]);
        s.push_back(kHex[c & 15]);
    }
    return s;
}

std::string base64_encode(std::string_view b) {
    std::string out;
    out.reserve((b.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= b.size(); i += 3) {
        std::uint32_t v = (std::uint32_t(std::uint8_t(b[i])) << 16) |
                          (std::uint32_t(std::uint8_t(b[i + 1])) << 8) | std::uint8_t(b[i + 2]);
        out.push_back(kB64[v >> 18]);
        out.push_back(kB64[(v >> 12) & 63]);
        out.push_back(kB64[(v >> 6) & 63]);
        out.push_back(kB64[v & 63]);
    }
    if (b.size() - i == 1) {
        std::uint32_t v = std::uint32_t(std::uint8_t(b[i])) << 16;
        out.push_back(kB64[v >> 18]);
        out.push_back(kB64[(v >> 12) & 63]);
        out.append("==");
    } else if (b.size() - i == 2) {
        std::uint32_t v = (std::uint32_t(std::uint8_t(b[i])) << 16) |
                          (std::uint32_t(std::uint8_t(b[i + 1])) << 8);
        out.push_back(kB64[v >> 18]);
        out.push_back(kB64[(v >> 12) & 63]);
        out.push_back(kB64[(v >> 6) & 63]);
        out.push_back('=');
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view t) {
    if (t.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(t.size() / 4 * 3);
    for (std::size_t i = 0; i < t.size(); i += 4) {
        const bool last = i + 4 == t.size();
        int pad = 0;
        if (last && t[i + 3] == '=') pad = (t[i + 2] == '=') ? 2 : 1;
        int v[4];
        for (int k = 0; k < 4 - pad; ++k)
            if ((v[k] = b64_value(t[i + k])) < 0) return std::nullopt;
        for (int k = 4 - pad; k < 4; ++k) v[k] = 0;
        std::uint32_t w = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                          (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
        // Canonical encodings only: the bits a padded group drops must be zero.
        if ((pad == 1 && (w & 0xFF)) || (pad == 2 && (w & 0xFFFF))) return std::nullopt;
        out.push_back(static_cast<char>(w >> 16));
        if (pad < 2) out.push_back(static_cast<char>((w >> 8) & 0xFF));
        if (pad < 1) out.push_back(static_cast<char>(w & 0xFF));
    }
    return out;
}

std::string sha256(std::string_view bytes) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

std::string sha256_hex(std::string_view bytes) { return to_hex(sha256(bytes)); }

std::optional<ChecksumAlgorithm> checksum_algorithm(std::string_view n) {
    if (n == "crc32") return ChecksumAlgorithm::kCrc32;
    if (n == "crc32c") return ChecksumAlgorithm::kCrc32c;
    if (n == "crc64nvme") return ChecksumAlgorithm::kCrc64Nvme;
    if (n == "sha1") return ChecksumAlgorithm::kSha1;
    if (n == "sha256") return ChecksumAlgorithm::kSha256;
    return std::nullopt;
}

const char* checksum_name(ChecksumAlgorithm a) {
    switch (a) {
        case ChecksumAlgorithm::kCrc32:
            return "crc32";
        case ChecksumAlgorithm::kCrc32c:
            return "crc32c";
        case ChecksumAlgorithm::kCrc64Nvme:
            return "crc64nvme";
        case ChecksumAlgorithm::kSha1:
            return "sha1";
        case ChecksumAlgorithm::kSha256:
            return "sha256";
        case ChecksumAlgorithm::kMd5:
            return "md5";
    }
    return "";
}

struct Checksum::Md {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Md() { EVP_MD_CTX_free(ctx); }
};

Checksum::Checksum(ChecksumAlgorithm a) : algo_(a) {
    const EVP_MD* md = nullptr;
    if (a == ChecksumAlgorithm::kSha1) md = EVP_sha1();
    if (a == ChecksumAlgorithm::kSha256) md = EVP_sha256();
    if (a == ChecksumAlgorithm::kMd5) md = EVP_md5();
    if (md) {
        md_ = std::make_unique<Md>();
        EVP_DigestInit_ex(md_->ctx, md, nullptr);
    }
}

Checksum::~Checksum() = default;

void Checksum::update(const char* data, std::size_t n) {
    switch (algo_) {
        case ChecksumAlgorithm::kCrc32:
            crc_ = crc32(static_cast<std::uint32_t>(crc_), data, n);
            break;
        case ChecksumAlgorithm::kCrc32c:
            crc_ = crc32c(static_cast<std::uint32_t>(crc_), data, n);
            break;
        case ChecksumAlgorithm::kCrc64Nvme:
            crc_ = crc64nvme(crc_, data, n);
            break;
        default:
            EVP_DigestUpdate(md_->ctx, data, n);
            break;
    }
}

std::string Checksum::finish() {
    switch (algo_) {
        case ChecksumAlgorithm::kCrc32:
        case ChecksumAlgorithm::kCrc32c:
            return big_endian(static_cast<std::uint32_t>(crc_));
        case ChecksumAlgorithm::kCrc64Nvme:
            return big_endian(crc_);
        default: {
            unsigned char out[EVP_MAX_MD_SIZE];
            unsigned int len = 0;
            EVP_DigestFinal_ex(md_->ctx, out, &len);
            return std::string(reinterpret_cast<char*>(out), len);
        }
    }
}

}  // namespace moat::s3
