#include "admin/internal/crypto.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace moat::admin::internal {
namespace {

constexpr std::size_t kKeySize = 32, kNonceSize = 12, kTagSize = 16;

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!HMAC(md, key.data(), static_cast<int>(key.size()),
              reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n)) {
        std::fprintf(stderr, "moat admin: HMAC failed\n");
        std::abort();
    }
    return std::string(reinterpret_cast<char*>(out), n);
}

struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

Error errno_error(const std::string& what) {
    return make_error(Errc::kIo, what + ": " + std::strerror(errno));
}

}  // namespace

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
        std::fprintf(stderr, "moat admin: RAND_bytes failed\n");
        std::abort();
    }
    return out;
}

std::string hex(std::string_view bytes) {
    static const char* k = "0123456789abcdef";
    std::string s;
    s.reserve(bytes.size() * 2);
    for (unsigned char c : bytes) {
        s += k[c >> 4];
        s += k[c & 15];
    }
    return s;
}

std::string sha256_hex(std::string_view data) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(data.data(), data.size(), d, &n, EVP_sha256(), nullptr);
    return hex(std::string_view(reinterpret_cast<char*>(d), n));
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
    return hmac(EVP_sha1(), key, data);
}
std::string hmac_sha256(std::string_view key, std::string_view data) {
    return hmac(EVP_sha256(), key, data);
}

std::string base64url(std::string_view bytes) {
    static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : bytes) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += k[(acc >> bits) & 63];
        }
    }
    if (bits > 0) out += k[(acc << (6 - bits)) & 63];
    return out;
}

bool equal_ct(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string seal(std::string_view key, std::string_view plain, std::string_view aad) {
    std::string nonce = random_bytes(kNonceSize);
    std::string out = nonce;
    out.resize(kNonceSize + plain.size() + kTagSize);
    auto* ct = reinterpret_cast<unsigned char*>(out.data() + kNonceSize);
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    int n = 0, m = 0;
    bool ok =
        ctx &&
        EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                           reinterpret_cast<const unsigned char*>(key.data()),
                           reinterpret_cast<const unsigned char*>(nonce.data())) == 1 &&
        EVP_EncryptUpdate(ctx.get(), nullptr, &n,
                          reinterpret_cast<const unsigned char*>(aad.data()),
                          static_cast<int>(aad.size())) == 1 &&
        EVP_EncryptUpdate(ctx.get(), ct, &n, reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size())) == 1 &&
        EVP_EncryptFinal_ex(ctx.get(), ct + n, &m) == 1 &&
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize, ct + plain.size()) == 1;
    if (!ok || key.size() != kKeySize) {
        std::fprintf(stderr, "moat admin: AES-GCM seal failed\n");
        std::abort();
    }
    return out;
}

Result<std::string> unseal(std::string_view key, std::string_view sealed, std::string_view aad) {
    if (key.size() != kKeySize || sealed.size() < kNonceSize + kTagSize)
        return make_error(Errc::kDenied, "sealed value too short");
    std::size_t len = sealed.size() - kNonceSize - kTagSize;
    const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data());
    const auto* ct = nonce + kNonceSize;
    std::string tag(sealed.substr(kNonceSize + len));
    std::string plain(len, '\0');
    auto* pt = reinterpret_cast<unsigned char*>(plain.data());
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    int n = 0, m = 0;
    bool ok = ctx &&
              EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr,
                                 reinterpret_cast<const unsigned char*>(key.data()), nonce) == 1 &&
              EVP_DecryptUpdate(ctx.get(), nullptr, &n,
                                reinterpret_cast<const unsigned char*>(aad.data()),
                                static_cast<int>(aad.size())) == 1 &&
              EVP_DecryptUpdate(ctx.get(), pt, &n, ct, static_cast<int>(len)) == 1 &&
              EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize, tag.data()) == 1 &&
              EVP_DecryptFinal_ex(ctx.get(), pt + n, &m) == 1;
    if (!ok) return make_error(Errc::kDenied, "sealed value does not verify");
    return plain;
}

Result<std::string> load_or_create_key(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            std::string key = random_bytes(kKeySize);
            bool ok = ::write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
                      ::fsync(fd) == 0;
            Error e = ok ? Error{} : errno_error("write " + path);
            ::close(fd);
            if (!ok) {
                ::unlink(path.c_str());
                return e;
            }
            return key;
        }
        // Another opener (principals and the audit log share the file) made it first.
        if (errno != EEXIST) return errno_error("create " + path);
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0) return errno_error("open " + path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        Error e = errno_error("stat " + path);
        ::close(fd);
        return e;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        ::close(fd);
        return make_error(Errc::kDenied, path +
                                             ": group or others may access the admin key "
                                             "(chmod 600 it)");
    }
    std::string key(kKeySize + 1, '\0');
    std::size_t got = 0;
    // A reader racing the creator may see a short file for a moment: wait briefly for it.
    for (int tries = 0; tries < 50; ++tries) {
        ssize_t r = ::pread(fd, key.data() + got, key.size() - got, static_cast<off_t>(got));
        if (r < 0) {
            Error e = errno_error("read " + path);
            ::close(fd);
            return e;
        }
        got += static_cast<std::size_t>(r);
        if (got >= kKeySize) break;
        ::usleep(2000);
    }
    ::close(fd);
    if (got != kKeySize) return make_error(Errc::kInvalidArgument, path + ": not a 32-byte key");
    key.resize(kKeySize);
    return key;
}

std::string derive_key(std::string_view key, std::string_view label) {
    return hmac_sha256(key, label);
}

}  // namespace moat::admin::internal
