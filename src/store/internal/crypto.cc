#include "store/internal/crypto.h"

#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>

#include "core/assert.h"

namespace moat::store::internal {

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        std::abort();
    return out;
}

std::string to_hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 15]);
    }
    return out;
}

std::string from_hex(std::string_view hex) {
    auto val = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    if (hex.size() % 2 != 0) return {};
    std::string out;
    out.reserve(hex.size() / 2);
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        int hi = val(hex[i]), lo = val(hex[i + 1]);
        if (hi < 0 || lo < 0) return {};
        out.push_back(static_cast<char>(hi << 4 | lo));
    }
    return out;
}

Digest::Digest(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) std::abort();
}
Digest Digest::sha256() { return Digest(EVP_sha256()); }
Digest Digest::md5() { return Digest(EVP_md5()); }
Digest::~Digest() { EVP_MD_CTX_free(ctx_); }

void Digest::update(const void* data, std::size_t n) {
    if (n > 0) EVP_DigestUpdate(ctx_, data, n);
}

std::string Digest::finish() {
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, buf, &len);
    return std::string(reinterpret_cast<char*>(buf), len);
}

Gcm::Gcm(std::string_view key) : key_(key), ctx_(EVP_CIPHER_CTX_new()) {
    MOAT_CHECK(ctx_ && key_.size() == kKeyBytes, "AES-256-GCM needs a 32-byte key");
}
Gcm::~Gcm() {
    EVP_CIPHER_CTX_free(ctx_);
    OPENSSL_cleanse(key_.data(), key_.size());
}

// OpenSSL 3 fetches the cipher implementation and expands the key whenever EVP_*Init_ex is
// given a cipher; doing that per 64 KiB chunk cost several times the AES-GCM work itself. So the
// cipher is fetched once, the key set once per direction, and each chunk only sets its IV.
namespace {
const EVP_CIPHER* aes_gcm() {
    static EVP_CIPHER* c = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
    MOAT_CHECK(c, "AES-256-GCM is not available");
    return c;
}
}  // namespace

bool Gcm::prepare(int mode, const unsigned char* iv) {
    if (mode_ != mode) {
        auto* k = reinterpret_cast<const unsigned char*>(key_.data());
        int ok = mode == 1 ? EVP_EncryptInit_ex(ctx_, aes_gcm(), nullptr, k, nullptr)
                           : EVP_DecryptInit_ex(ctx_, aes_gcm(), nullptr, k, nullptr);
        if (ok != 1) return false;
        mode_ = mode;
    }
    return (mode == 1 ? EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, iv)
                      : EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, iv)) == 1;
}

void Gcm::seal(std::string_view nonce, std::string_view aad, const char* data, std::size_t n,
               std::string& out) {
    auto* iv = reinterpret_cast<const unsigned char*>(nonce.data());
    int len = 0;
    std::size_t at = out.size();
    out.resize(at + n + kTagBytes);
    auto* o = reinterpret_cast<unsigned char*>(out.data() + at);
    bool ok =
        prepare(1, iv) &&
        (aad.empty() ||
         EVP_EncryptUpdate(ctx_, nullptr, &len, reinterpret_cast<const unsigned char*>(aad.data()),
                           static_cast<int>(aad.size())) == 1) &&
        (n == 0 || EVP_EncryptUpdate(ctx_, o, &len, reinterpret_cast<const unsigned char*>(data),
                                     static_cast<int>(n)) == 1) &&
        EVP_EncryptFinal_ex(ctx_, o + n, &len) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kTagBytes, o + n) == 1;
    MOAT_CHECK(ok, "AES-GCM encryption failed");
}

bool Gcm::open(std::string_view nonce, std::string_view aad, const char* data, std::size_t n,
               std::string& out) {
    if (n < kTagBytes) return false;
    out.resize(n - kTagBytes);
    return open_into(nonce, aad, data, n, out.data());
}

bool Gcm::open_into(std::string_view nonce, std::string_view aad, const char* data, std::size_t n,
                    char* out) {
    if (n < kTagBytes) return false;
    std::size_t plain = n - kTagBytes;
    auto* iv = reinterpret_cast<const unsigned char*>(nonce.data());
    auto* o = reinterpret_cast<unsigned char*>(out);
    int len = 0;
    unsigned char tag[kTagBytes];
    std::memcpy(tag, data + plain, kTagBytes);
    return prepare(2, iv) &&
           (aad.empty() || EVP_DecryptUpdate(ctx_, nullptr, &len,
                                             reinterpret_cast<const unsigned char*>(aad.data()),
                                             static_cast<int>(aad.size())) == 1) &&
           (plain == 0 ||
            EVP_DecryptUpdate(ctx_, o, &len, reinterpret_cast<const unsigned char*>(data),
                              static_cast<int>(plain)) == 1) &&
           EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kTagBytes, tag) == 1 &&
           EVP_DecryptFinal_ex(ctx_, o + plain, &len) == 1;
}

std::string seal_small(std::string_view key, std::string_view aad, std::string_view secret) {
    std::string out = random_bytes(kNonceBytes);
    Gcm gcm(key);
    std::string nonce = out;
    gcm.seal(nonce, aad, secret.data(), secret.size(), out);
    return out;
}

bool open_small(std::string_view key, std::string_view aad, std::string_view sealed,
                std::string& out) {
    if (sealed.size() < kNonceBytes + kTagBytes) return false;
    Gcm gcm(key);
    return gcm.open(sealed.substr(0, kNonceBytes), aad, sealed.data() + kNonceBytes,
                    sealed.size() - kNonceBytes, out);
}

}  // namespace moat::store::internal
