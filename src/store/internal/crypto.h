#pragma once
// Thin wrappers over OpenSSL's EVP for the store: random bytes, SHA-256/MD5 digests and
// AES-256-GCM with caller-chosen nonces. Private to store/. Objects are not thread-safe (one
// per operation); the functions are.

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace moat::store::internal {

inline constexpr std::size_t kKeyBytes = 32;    // AES-256
inline constexpr std::size_t kNonceBytes = 12;  // GCM's 96-bit IV (NIST SP 800-38D §8.2)
inline constexpr std::size_t kTagBytes = 16;

// Cryptographically random bytes (RAND_bytes; aborts if the CSPRNG fails: nothing sane to do).
std::string random_bytes(std::size_t n);
std::string to_hex(std::string_view bytes);
// Empty on a malformed string.
std::string from_hex(std::string_view hex);

// An incremental digest (SHA-256 or MD5).
class Digest {
public:
    static Digest sha256();
    static Digest md5();
    Digest(Digest&& o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
    Digest(const Digest&) = delete;
    ~Digest();
    void update(const void* data, std::size_t n);
    std::string finish();  // binary digest; the object is spent afterwards

private:
    explicit Digest(const EVP_MD* md);
    EVP_MD_CTX* ctx_;
};

// AES-256-GCM under one key. A nonce must never repeat under a key: callers use a fresh random
// key per blob with counter nonces, or random nonces for the few master-key seals.
class Gcm {
public:
    explicit Gcm(std::string_view key);
    Gcm(const Gcm&) = delete;
    ~Gcm();
    // ciphertext || tag appended to `out`.
    void seal(std::string_view nonce, std::string_view aad, const char* data, std::size_t n,
              std::string& out);
    // Plaintext of ciphertext||tag into `out` (resized); false when authentication fails.
    bool open(std::string_view nonce, std::string_view aad, const char* data, std::size_t n,
              std::string& out);
    // The same into out[0, n - kTagBytes) (no copy through a string). On false `out` holds
    // unauthenticated bytes: the caller must discard (or wipe) them.
    bool open_into(std::string_view nonce, std::string_view aad, const char* data, std::size_t n,
                   char* out);

private:
    bool prepare(int mode, const unsigned char* iv);  // mode 1: encrypt, 2: decrypt

    std::string key_;
    EVP_CIPHER_CTX* ctx_;
    int mode_ = 0;
};

// Master-key sealing of small secrets (data keys, access-key secrets): random nonce,
// nonce || ciphertext || tag, `aad` names what is sealed so sealed values cannot be swapped.
std::string seal_small(std::string_view key, std::string_view aad, std::string_view secret);
bool open_small(std::string_view key, std::string_view aad, std::string_view sealed,
                std::string& out);

}  // namespace moat::store::internal
