#include "acme/sealer.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "acme/internal/crypto.h"

namespace moat::acme {
namespace {

constexpr std::string_view kMagic = "MSL1";
constexpr std::size_t kNonce = 12, kTag = 16, kKey = 32;

struct CipherFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};

}  // namespace

FileKeySealer::~FileKeySealer() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<std::unique_ptr<FileKeySealer>> FileKeySealer::open_or_create(const std::string& path) {
    auto data = internal::read_file(path);
    if (!data && data.error().code == Errc::kNotFound) {
        std::string key(kKey, '\0');
        if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), kKey) != 1)
            return make_error(Errc::kInternal, "no randomness for the seal key");
        // Two first starts on one folder race here (no lock is held yet): the first to link
        // its key wins and every other reads that one, so nothing is sealed with a key that
        // is not on disk. A rename would let a later key replace one already in use.
        auto created = internal::create_file_once(path, key, 0600);
        OPENSSL_cleanse(key.data(), key.size());
        if (!created) return created.error();
        data = internal::read_file(path);
    }
    if (!data) return data.error();
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0)
        return make_error(Errc::kDenied,
                          path + " must not be readable by group or others (chmod 600)");
    if (data->size() != kKey)
        return make_error(Errc::kInvalidArgument, path + ": a seal key is exactly 32 bytes");
    return std::unique_ptr<FileKeySealer>(new FileKeySealer(std::move(*data)));
}

Result<std::string> FileKeySealer::seal(std::string_view plain, std::string_view label) const {
    std::string out(kMagic);
    std::string nonce(kNonce, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()), kNonce) != 1)
        return make_error(Errc::kInternal, "no randomness for the seal nonce");
    out += nonce;
    std::unique_ptr<EVP_CIPHER_CTX, CipherFree> c(EVP_CIPHER_CTX_new());
    int len = 0;
    std::string ct(plain.size(), '\0');
    auto* k = reinterpret_cast<const unsigned char*>(key_.data());
    auto* iv = reinterpret_cast<const unsigned char*>(nonce.data());
    if (!c || EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, k, iv) != 1 ||
        EVP_EncryptUpdate(c.get(), nullptr, &len,
                          reinterpret_cast<const unsigned char*>(label.data()),
                          static_cast<int>(label.size())) != 1 ||
        EVP_EncryptUpdate(c.get(), reinterpret_cast<unsigned char*>(ct.data()), &len,
                          reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size())) != 1)
        return internal::ossl_error(Errc::kInternal, "sealing failed");
    int fin = 0;
    std::string tag(kTag, '\0');
    if (EVP_EncryptFinal_ex(c.get(), reinterpret_cast<unsigned char*>(ct.data()) + len, &fin) !=
            1 ||
        EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag.data()) != 1)
        return internal::ossl_error(Errc::kInternal, "sealing failed");
    out += ct;
    out += tag;
    return out;
}

Result<std::string> FileKeySealer::open(std::string_view sealed, std::string_view label) const {
    if (sealed.size() < kMagic.size() + kNonce + kTag || !sealed.starts_with(kMagic))
        return make_error(Errc::kInvalidArgument, "not a sealed blob");
    std::string_view nonce = sealed.substr(kMagic.size(), kNonce);
    std::string_view ct =
        sealed.substr(kMagic.size() + kNonce, sealed.size() - kMagic.size() - kNonce - kTag);
    std::string tag(sealed.substr(sealed.size() - kTag));
    std::unique_ptr<EVP_CIPHER_CTX, CipherFree> c(EVP_CIPHER_CTX_new());
    std::string plain(ct.size(), '\0');
    int len = 0, fin = 0;
    auto* k = reinterpret_cast<const unsigned char*>(key_.data());
    auto* iv = reinterpret_cast<const unsigned char*>(nonce.data());
    bool ok = c && EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, k, iv) == 1 &&
              EVP_DecryptUpdate(c.get(), nullptr, &len,
                                reinterpret_cast<const unsigned char*>(label.data()),
                                static_cast<int>(label.size())) == 1 &&
              EVP_DecryptUpdate(c.get(), reinterpret_cast<unsigned char*>(plain.data()), &len,
                                reinterpret_cast<const unsigned char*>(ct.data()),
                                static_cast<int>(ct.size())) == 1 &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag.data()) == 1 &&
              EVP_DecryptFinal_ex(c.get(), reinterpret_cast<unsigned char*>(plain.data()) + len,
                                  &fin) == 1;
    if (!ok) {
        OPENSSL_cleanse(plain.data(), plain.size());
        internal::ossl_error(Errc::kInvalidArgument, "");  // drain the queue
        return make_error(Errc::kInvalidArgument,
                          "sealed blob does not open with this key (altered, or another key)");
    }
    return plain;
}

}  // namespace moat::acme
