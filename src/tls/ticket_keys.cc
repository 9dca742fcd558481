#include "tls/ticket_keys.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstring>

#include "core/assert.h"

namespace moat::tls {
namespace {

// Fetched once: EVP_aes_256_cbc() makes OpenSSL 3 look the implementation up again (a locked
// hash-table walk) on every ticket, which runs on every handshake (RFC 5077 §4 ticket format,
// the RFC's recommended AES-CBC + HMAC-SHA256 construction that OpenSSL's callback uses).
const EVP_CIPHER* aes_256_cbc() {
    static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
    MOAT_CHECK(cipher != nullptr, "AES-256-CBC is not available");
    return cipher;
}

}  // namespace

TicketKeys::TicketKeys(std::chrono::seconds rotation, Clock clock)
    : rotation_(rotation.count() > 0 ? rotation : std::chrono::seconds(1)),
      clock_(clock ? std::move(clock) : Clock([] { return std::chrono::system_clock::now(); })) {
    std::lock_guard lock(mu_);
    rotate_locked(clock_());
}

TicketKeys::~TicketKeys() {
    for (Key& k : ring_) OPENSSL_cleanse(&k, sizeof k);
}

void TicketKeys::rotate_locked(std::chrono::system_clock::time_point now) {
    Key k;
    // Without fresh randomness the keys would be guessable; nothing sensible to fall back to.
    MOAT_CHECK(RAND_bytes(k.name.data(), k.name.size()) == 1 &&
                   RAND_bytes(k.aes.data(), k.aes.size()) == 1 &&
                   RAND_bytes(k.hmac.data(), k.hmac.size()) == 1,
               "RAND_bytes failed for a session ticket key");
    ring_.push_front(k);
    OPENSSL_cleanse(&k, sizeof k);
    while (ring_.size() > 1 + kPrevious) {
        OPENSSL_cleanse(&ring_.back(), sizeof(Key));
        ring_.pop_back();
    }
    newest_since_ = now;
}

void TicketKeys::maybe_rotate_locked(std::chrono::system_clock::time_point now) {
    if (now < newest_since_ + rotation_) return;
    // After a long idle stretch rotate once per elapsed period (at most the whole ring), so a
    // key never decrypts for longer than (1 + kPrevious) periods after it was retired.
    auto periods = (now - newest_since_) / rotation_;
    auto n = std::min<decltype(periods)>(periods, 1 + kPrevious);
    for (decltype(n) i = 0; i < n; ++i) rotate_locked(now);
}

void TicketKeys::rotate_now() {
    std::lock_guard lock(mu_);
    rotate_locked(clock_());
}

std::size_t TicketKeys::size() const {
    std::lock_guard lock(mu_);
    return ring_.size();
}

int TicketKeys::on_ticket(unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH],
                          EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) {
    Key k;
    int ret = 1;
    auto now = clock_();
    {
        std::lock_guard lock(mu_);
        maybe_rotate_locked(now);
        if (enc == 1) {
            k = ring_.front();
        } else {
            auto it = std::find_if(ring_.begin(), ring_.end(), [&](const Key& c) {
                return std::memcmp(c.name.data(), key_name, c.name.size()) == 0;
            });
            if (it == ring_.end()) return 0;  // retired or foreign key: full handshake
            k = *it;
            ret = it == ring_.begin() ? 1 : 2;
        }
    }
    if (enc == 1) {
        std::memcpy(key_name, k.name.data(), k.name.size());
        if (RAND_bytes(iv, 16) != 1) ret = -1;
    }
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac.data(), k.hmac.size()),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_end(),
    };
    if (ret != -1 && EVP_MAC_CTX_set_params(mac, params) != 1) ret = -1;
    if (ret != -1) {
        int ok = enc == 1 ? EVP_EncryptInit_ex(cipher, aes_256_cbc(), nullptr, k.aes.data(), iv)
                          : EVP_DecryptInit_ex(cipher, aes_256_cbc(), nullptr, k.aes.data(), iv);
        if (ok != 1) ret = -1;
    }
    OPENSSL_cleanse(&k, sizeof k);
    return ret;
}

}  // namespace moat::tls
